import { describe, expect, it } from 'vitest';
import { referenceSpec } from '../../support/sim-openapi.js';

/** The contract tests are only as good as their checker: it must flag what the spec forbids. */
const spec = referenceSpec('flink-2.3');
const suite = spec === undefined ? describe.skip : describe;
if (spec === undefined)
  console.warn('openapi checker tests skipped: shared/reference is not present (it is in CI)');

suite('OpenAPI response checker', () => {
  const overview = { $ref: '#/components/schemas/ClusterOverviewWithVersion' };
  it('accepts a conforming body and flags wrong types, unknown properties and enums', () => {
    expect(spec!.check({ taskmanagers: 2, 'slots-total': 8, 'flink-version': '2.3.0' }, overview)).toEqual(
      [],
    );
    expect(spec!.check({ taskmanagers: '2' }, overview)).toEqual([
      '$.taskmanagers: expected integer, got "2"',
    ]);
    expect(spec!.check({ taskManagers: 2 }, overview)).toEqual(['$: unknown property taskManagers']);
    expect(
      spec!.check(
        { jobs: [{ id: 'x'.repeat(32), status: 'RUNNING' }] },
        { $ref: '#/components/schemas/JobIdsWithStatusOverview' },
      ),
    ).toEqual([`$.jobs[0].id: ${'x'.repeat(32)} does not match [0-9a-f]{32}`]);
    expect(spec!.check({ status: 'RUNNNG' }, { $ref: '#/components/schemas/JobStatusInfo' })).toEqual([
      '$.status: RUNNNG not in enum',
    ]);
  });

  it('follows discriminators and requires className on checkpoints', () => {
    const cp = { $ref: '#/components/schemas/CheckpointStatistics' };
    expect(spec!.check({ className: 'failed', id: 1, failure_message: 'x' }, cp)).toEqual([]);
    expect(spec!.check({ className: 'completed', failure_message: 'x' }, cp)).toEqual([
      '$: unknown property failure_message',
    ]);
    expect(spec!.check({ id: 1 }, cp)).toEqual(['$: missing className']);
  });

  it('applies the known wire differences: bare metric arrays and the JobConfigInfo names', () => {
    const metrics = { $ref: '#/components/schemas/MetricCollectionResponseBody' };
    expect(spec!.check([{ id: 'a', value: '1' }], metrics)).toEqual([]);
    expect(spec!.check({ metrics: [] }, metrics)).toEqual(['$: expected array']);
    const config = { $ref: '#/components/schemas/JobConfigInfo' };
    expect(
      spec!.check({ jid: 'a'.repeat(32), name: 'x', 'execution-config': { 'job-parallelism': 2 } }, config),
    ).toEqual([]);
    expect(spec!.check({ jobId: 'a'.repeat(32) }, config)).toEqual(['$: unknown property jobId']);
  });
});
