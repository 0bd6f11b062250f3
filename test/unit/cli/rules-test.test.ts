import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rulesTest, rulesValidate } from '../../../src/cli/rules-command.js';
import type { CommandIo } from '../../../src/cli/rules-command.js';

function captured(): CommandIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
  };
  return io;
}

const RULE = {
  id: 'many-restarts',
  version: 1,
  scope: 'job',
  category: 'availability',
  severity: 'high',
  title: 'Many restarts',
  conditions: {
    all: [{ fact: 'job.restarts.countMedium', operator: 'greaterThan', value: { param: 'max' } }],
  },
  for: '1m',
  params: { max: 2 },
  action: { kind: 'advice', text: 'Restarted {{job.restarts.countMedium}} times.', params: {} },
};

const sample = (at: string, restarts: number | null, until?: string): object => ({
  at,
  ...(until === undefined ? {} : { until }),
  job: { 'job.restarts.countMedium': restarts },
});
const expectState = (state: string): object[] => [{ rule: 'many-restarts', state }];

const GOOD_CASES = [
  { name: 'at', kind: 'at', series: [sample('0s', 2, '2m')], expect: expectState('none') },
  { name: 'below', kind: 'below', series: [sample('0s', 1, '2m')], expect: expectState('none') },
  { name: 'above', kind: 'above', series: [sample('0s', 3, '1m')], expect: expectState('firing') },
  { name: 'absent', kind: 'absent', series: [sample('0s', null, '2m')], expect: expectState('none') },
];

describe('autopilot rules test', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rules-test-'));
    await mkdir(join(dir, 'tests'));
    await writeFile(join(dir, 'many-restarts.json'), JSON.stringify(RULE));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const writeTest = (body: unknown, name = 'many-restarts'): Promise<void> =>
    writeFile(join(dir, 'tests', `${name}.test.json`), JSON.stringify(body, null, 2));

  it('passes with boundary and absent cases', async () => {
    await writeTest({ tick: '30s', cases: GOOD_CASES });
    const io = captured();
    expect(await rulesTest(dir, io)).toBe(0);
    expect(io.stdout).toBe('4 cases, 1 rules, all passed\n');
    expect(io.stderr).toBe('');
  });

  it('prints one line per failing case with the file and case name, and exits 1', async () => {
    await writeTest({
      cases: [
        ...GOOD_CASES,
        { name: 'too early', series: [sample('0s', 3, '30s')], expect: expectState('firing') },
      ],
    });
    const io = captured();
    expect(await rulesTest(dir, io)).toBe(1);
    expect(io.stderr).toBe(
      'tests/many-restarts.test.json: case "too early": expected many-restarts on job to be firing, got none\n' +
        '5 cases, 1 rules, 1 failed\n',
    );
  });

  it('names rules without a test file and test files missing boundary or absent cases', async () => {
    await writeFile(join(dir, 'other.json'), JSON.stringify({ ...RULE, id: 'other' }));
    await writeTest({
      cases: [GOOD_CASES[2], { ...GOOD_CASES[3], expect: expectState('firing') }],
    });
    const io = captured();
    expect(await rulesTest(dir, io)).toBe(1);
    expect(io.stderr.split('\n')).toEqual([
      'tests/many-restarts.test.json: case "absent": expected many-restarts on job to be firing, got none',
      'tests/many-restarts.test.json: many-restarts: no "at" case',
      'tests/many-restarts.test.json: many-restarts: no "below" case',
      'tests/many-restarts.test.json: many-restarts: "absent" case "absent" must expect none or unknown',
      'tests/many-restarts.test.json: many-restarts: no non-firing case',
      'other: no test file (tests/other.test.json)',
      '2 cases, 1 rules, 6 failed',
      '',
    ]);
  });

  it('reports malformed test files with JSON paths, like rules validate', async () => {
    await writeTest({
      tick: 'soon',
      cases: [
        {
          name: 'x',
          series: [{ at: '0s', job: { 'job.restartz.countMedium': 1, 'vertex.parallelism': 2 } }],
          expect: [{ rule: 'nope', state: 'firing' }],
        },
      ],
    });
    await writeTest({ cases: [{ name: 'y', series: [], expect: [], extra: 1 }] }, 'no-such-rule');
    await writeFile(join(dir, 'tests', 'broken.test.json'), '{ "cases": [ }');
    const io = captured();
    expect(await rulesTest(dir, io)).toBe(1);
    expect(io.stderr.split('\n')).toEqual([
      'tests/broken.test.json:1:14: JSON syntax error: unexpected character',
      'tests/many-restarts.test.json $.tick: not a duration (use e.g. "0s", "30s", "5m")',
      'tests/no-such-rule.test.json $.cases[0].series: Too small: expected array to have >=1 items',
      'tests/no-such-rule.test.json $.cases[0].expect: Too small: expected array to have >=1 items',
      'tests/no-such-rule.test.json $.cases[0].extra: unknown property',
      '0 cases, 0 rules, 3 failed',
      '',
    ]);
    await writeTest({
      cases: [
        {
          name: 'x',
          series: [
            { at: '1m', job: { 'job.restartz.countMedium': 1, 'vertex.parallelism': 2, 'job.state': 3 } },
            { at: '30s' },
          ],
          expect: [{ rule: 'nope', state: 'firing' }],
        },
      ],
    });
    const io2 = captured();
    expect(await rulesTest(dir, io2)).toBe(1);
    expect(io2.stderr.split('\n').slice(0, 5)).toEqual([
      'tests/broken.test.json:1:14: JSON syntax error: unexpected character',
      'tests/many-restarts.test.json $.cases[0].series: sample times must increase',
      'tests/many-restarts.test.json $.cases[0].series[0].job["job.restartz.countMedium"]: unknown fact "job.restartz.countMedium"',
      'tests/many-restarts.test.json $.cases[0].series[0].job["vertex.parallelism"]: fact "vertex.parallelism" belongs to scope vertex, not job',
      'tests/many-restarts.test.json $.cases[0].series[0].job["job.state"]: fact "job.state" is a string, got a number',
    ]);
    expect(io2.stderr).toContain('tests/many-restarts.test.json $.cases[0].expect[0].rule: no rule "nope"');
  });

  it('refuses an invalid rule library, and a library with no tests fails', async () => {
    const io = captured();
    expect(await rulesTest(dir, io)).toBe(1);
    expect(io.stderr).toBe(
      'many-restarts: no test file (tests/many-restarts.test.json)\n0 cases, 0 rules, 1 failed\n',
    );
    await writeFile(join(dir, 'bad.json'), '{');
    const bad = captured();
    expect(await rulesTest(dir, bad)).toBe(1);
    expect(bad.stderr).toBe('bad.json:1:2: JSON syntax error: expected a double-quoted property name\n');
  });
});

describe('autopilot rules validate: log-patterns.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rules-validate-'));
    await writeFile(join(dir, 'many-restarts.json'), JSON.stringify(RULE));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validates it with the rules: counts its patterns, or prints its errors with JSON paths', async () => {
    const pattern = { class: 'x', category: 'memory', message: 'x', priority: 1, description: 'd' };
    await writeFile(join(dir, 'log-patterns.json'), JSON.stringify({ version: 1, patterns: [pattern] }));
    const io = captured();
    expect(await rulesValidate(dir, io)).toBe(0);
    expect(io.stdout).toBe(`1 rules, 1 log patterns OK (${dir})\n`);
    await writeFile(
      join(dir, 'log-patterns.json'),
      JSON.stringify({ version: 1, patterns: [{ ...pattern, category: 'perf', exception: '(' }] }),
    );
    const bad = captured();
    expect(await rulesValidate(dir, bad)).toBe(1);
    expect(bad.stderr).toMatch(/^log-patterns\.json \$\.patterns\[0\]\.category: one of: availability, /);
  });
});
