import { describe, expect, it } from 'vitest';
import { patchRefusal } from '../../../src/actions/flink-deployment/backend.js';
import {
  formatOverrides,
  InvalidResourceError,
  parseOverrides,
  parseResource,
} from '../../../src/sources/kubernetes/index.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

function fd(over: { spec?: object; status?: object; annotations?: Record<string, string> } = {}) {
  return {
    metadata: {
      name: 'orders',
      namespace: 'flink',
      resourceVersion: '7',
      generation: 2,
      annotations: { 'autopilot.flink.apache.org/watch': 'true', ...over.annotations },
    },
    spec: { job: { upgradeMode: 'savepoint' }, ...over.spec },
    status: {
      lifecycleState: 'STABLE',
      observedGeneration: 2,
      jobStatus: { jobId: A, state: 'RUNNING' },
      ...over.status,
    },
  };
}

const opts = { optInAnnotation: 'autopilot.flink.apache.org/watch', allowGitOpsDrift: false };

describe('FlinkDeployment overrides', () => {
  it('round-trips an absolute target, sorted by vertex id', () => {
    expect(formatOverrides({ [B]: 8, [A]: 4 })).toBe(`${A}:4,${B}:8`);
    expect(parseOverrides(`${B}:8, ${A}:4`)).toEqual({ [A]: 4, [B]: 8 });
    expect(parseOverrides(undefined)).toEqual({});
    expect(parseOverrides(`${A}:x`)).toBeUndefined();
  });
});

describe('parseResource', () => {
  it('reads flat and nested flinkConfiguration as text', () => {
    const res = parseResource(
      'FlinkDeployment',
      fd({ spec: { flinkConfiguration: { 'a.b': 1, pipeline: { 'max-parallelism': 128, x: true } } } }),
    );
    expect(res.object.spec.flinkConfiguration).toEqual({
      'a.b': '1',
      'pipeline.max-parallelism': '128',
      'pipeline.x': 'true',
    });
  });

  it('names the resource and the field of the first problem', () => {
    expect(() =>
      parseResource('FlinkSessionJob', {
        metadata: { name: 'x', namespace: 'n', resourceVersion: '1' },
        spec: {},
      }),
    ).toThrow(
      new InvalidResourceError(
        'FlinkSessionJob n/x',
        'spec.deploymentName',
        'Invalid input: expected string, received undefined',
      ),
    );
  });
});

describe('patchRefusal', () => {
  it('allows an opted-in, stateful, settled, running resource', () => {
    expect(patchRefusal(parseResource('FlinkDeployment', fd()), opts)).toBeUndefined();
  });

  it.each([
    [{ spec: { job: {} } }, /upgradeMode is stateless/], // the CRD's default upgrade mode
    [{ spec: { job: { upgradeMode: 'last-state', state: 'suspended' } } }, /suspended/],
    [{ status: { observedGeneration: 1 } }, /not reconciled generation 2/],
    [
      { spec: { flinkConfiguration: { 'kubernetes.operator.job.autoscaler.enabled': 'TRUE' } } },
      /own autoscaler/,
    ],
    [
      { spec: { flinkConfiguration: { pipeline: { 'jobvertex-parallelism-overrides': `${A}:2` } } } },
      /nested/,
    ],
    [{ annotations: { 'autopilot.flink.apache.org/watch': 'false' } }, /not opted in/],
  ])('refuses %j', (over, reason) => {
    expect(patchRefusal(parseResource('FlinkDeployment', fd(over)), opts)).toMatch(reason);
  });
});
