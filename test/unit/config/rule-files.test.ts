import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultRulesDir,
  editDistance,
  formatRuleFileError,
  loadRuleLibrary,
  loadRules,
  locateJsonError,
  nearestNames,
  RuleLoadError,
  validateRuleSources,
} from '../../../src/config/rule-files.js';
import { CATEGORIES, SCOPES } from '../../../src/domain/index.js';

function raw(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'r',
    version: 1,
    scope: 'vertex',
    category: 'backpressure',
    severity: 'medium',
    title: 'Busy',
    conditions: { all: [{ fact: 'vertex.busyRatio.max', operator: 'greaterThan', value: 0.9 }] },
    action: { kind: 'advice', text: 'Scale {{subject.name}}.' },
    ...extra,
  };
}

function leaf(fact: string, operator: string, value: unknown): Record<string, unknown> {
  return { conditions: { all: [{ fact, operator, value }] } };
}

function errorsOf(...rules: Record<string, unknown>[]): string[] {
  const sources = rules.map((r, i) => ({ file: `f${i}.json`, text: JSON.stringify(r, null, 2) }));
  return validateRuleSources(sources).errors.map(formatRuleFileError);
}

describe('the shipped rule library', () => {
  it('loads without errors: 40+ rules, every category, every scope, a two-stage rule and a block-scaling rule', async () => {
    const { rules, errors } = await loadRuleLibrary(defaultRulesDir());
    expect(errors.map(formatRuleFileError)).toEqual([]);
    expect(rules.length).toBeGreaterThanOrEqual(40);
    expect(new Set(rules.map(r => r.category))).toEqual(new Set(CATEGORIES));
    expect(new Set(rules.map(r => r.scope))).toEqual(new Set(SCOPES));
    expect(rules.some(r => r.requires.length > 0)).toBe(true);
    expect(rules.some(r => r.action.kind === 'block-scaling' && r.category === 'skew')).toBe(true);
    for (const r of rules) {
      expect(r.file).toBe(`${r.category}/${r.id}.json`);
      expect(CATEGORIES).toContain(r.category);
    }
  });

  it('compiles durations and defaults into the domain Rule', async () => {
    const rules = await loadRules();
    const loop = rules.find(r => r.id === 'job-restart-loop');
    expect(loop).toMatchObject({
      forMs: 0,
      keepFiringForMs: 600_000,
      params: { minRestarts: 3 },
      requires: [],
      optionalFacts: [],
    });
    const lag = rules.find(r => r.id === 'source-lag-growing');
    expect(lag?.forMs).toBe(600_000);
    expect(lag && 'keepFiringForMs' in lag).toBe(false);
  });
});

describe('rule files on disk', () => {
  it('reads rules/**/*.json except tests/, log-patterns.json and *.schema.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rules-'));
    try {
      await mkdir(join(dir, 'lag', 'deep'), { recursive: true });
      await mkdir(join(dir, 'tests'), { recursive: true });
      await writeFile(join(dir, 'lag', 'deep', 'a.json'), JSON.stringify(raw({ id: 'a' })));
      await writeFile(join(dir, 'b.json'), JSON.stringify(raw({ id: 'b' })));
      await writeFile(join(dir, 'tests', 'a.json'), '{ not json');
      await writeFile(join(dir, 'log-patterns.json'), '[]');
      await writeFile(join(dir, 'rule.schema.json'), '{}');
      await writeFile(join(dir, 'notes.md'), '# notes');
      const { rules, errors } = await loadRuleLibrary(dir);
      expect(errors).toEqual([]);
      expect(rules.map(r => [r.id, r.file])).toEqual([
        ['b', 'b.json'],
        ['a', 'lag/deep/a.json'],
      ]);
      await writeFile(join(dir, 'c.json'), JSON.stringify(raw({ id: 'c', severity: 'urgent' })));
      await expect(loadRules(dir)).rejects.toThrow(RuleLoadError);
      await expect(loadRules(dir)).rejects.toMatchObject({
        code: 'RULES_INVALID',
        errors: [{ file: 'c.json', ruleId: 'c', path: '$.severity' }],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('validation', () => {
  it('accepts a minimal rule and fills defaults', () => {
    const { rules, errors } = validateRuleSources([
      { file: 'x/r.json', text: JSON.stringify(raw({ for: '1m30s' })) },
    ]);
    expect(errors).toEqual([]);
    expect(rules[0]).toEqual({
      id: 'r',
      version: 1,
      scope: 'vertex',
      category: 'backpressure',
      severity: 'medium',
      title: 'Busy',
      conditions: { all: [{ fact: 'vertex.busyRatio.max', operator: 'greaterThan', value: 0.9 }] },
      forMs: 90_000,
      params: {},
      action: { kind: 'advice', text: 'Scale {{subject.name}}.', params: {} },
      requires: [],
      optionalFacts: [],
      file: 'x/r.json',
    });
  });

  it.each([
    [
      'shape: missing title',
      raw({ title: undefined }),
      'f0.json [r] $.title: Invalid input: expected string, received undefined',
    ],
    ['shape: unknown property', raw({ owner: 'me' }), 'f0.json [r] $.owner: unknown property'],
    [
      'shape: bad id',
      raw({ id: 'Bad_Id' }),
      'f0.json [Bad_Id] $.id: a rule id is kebab-case: lower-case letters, digits, dashes',
    ],
    [
      'shape: action kind',
      raw({ action: { kind: 'scale', text: 'x' } }),
      'f0.json [r] $.action.kind: Invalid option: expected one of "advice"|"block-scaling"|"allow-scaling"',
    ],
    [
      'scope',
      raw({ scope: 'operator' }),
      'f0.json [r] $.scope: unknown scope "operator"; one of: cluster, job, source, vertex, taskmanager, node',
    ],
    [
      'scope typo',
      raw({ scope: 'vertx' }),
      'f0.json [r] $.scope: unknown scope "vertx" (did you mean "vertex"?); one of: cluster, job, source, vertex, taskmanager, node',
    ],
    [
      'duration',
      raw({ for: 'five minutes' }),
      'f0.json [r] $.for: not a duration: "five minutes" (use e.g. "30s", "5m", "1h")',
    ],
    [
      'keepFiringFor',
      raw({ keepFiringFor: -1 }),
      'f0.json [r] $.keepFiringFor: not a duration: -1 (use e.g. "30s", "5m", "1h")',
    ],
    [
      'top-level leaf',
      raw({ conditions: { fact: 'vertex.busyRatio.max', operator: 'equal', value: 1 } }),
      'f0.json [r] $.conditions: conditions must be an object with "all", "any" or "not" at the top',
    ],
    [
      'empty all',
      raw({ conditions: { all: [] } }),
      'f0.json [r] $.conditions.all: Too small: expected array to have >=1 items',
    ],
    [
      'not with an array',
      raw({ conditions: { not: [] } }),
      'f0.json [r] $.conditions.not: Invalid input: expected record, received array',
    ],
    [
      'named condition',
      raw({ conditions: { all: [{ condition: 'shared' }] } }),
      'f0.json [r] $.conditions.all[0].condition: named condition references are not supported; write the condition inline',
    ],
    [
      'path',
      raw(leafWith({ path: '$.x' })),
      'f0.json [r] $.conditions.all[0].path: "path" is not supported; facts are flat values, name the fact itself',
    ],
    [
      'leaf extra key',
      raw(leafWith({ priority: 2 })),
      'f0.json [r] $.conditions.all[0].priority: unknown property',
    ],
    [
      'value shape',
      raw(leaf('vertex.busyRatio.max', 'greaterThan', null)),
      'f0.json [r] $.conditions.all[0].value: value must be a number, string, boolean, an array of those, {"fact": "<name>"} or {"param": "<name>"}',
    ],
    [
      'non-number fact with a numeric operator',
      raw(leaf('vertex.isSource', 'lessThan', 1)),
      'f0.json [r] $.conditions.all[0].value: operator "lessThan" compares numbers, but fact "vertex.isSource" is a boolean',
    ],
    [
      'equal number to string',
      raw(leaf('vertex.parallelism', 'equal', '4')),
      'f0.json [r] $.conditions.all[0].value: fact "vertex.parallelism" is a number but is compared with equal to a string',
    ],
    [
      'equal on a list fact',
      raw({ scope: 'job', ...leaf('job.exceptions.classesMedium', 'equal', 'oom') }),
      'f0.json [r] $.conditions.all[0].value: operator "equal" cannot compare the list fact "job.exceptions.classesMedium"; use contains or doesNotContain',
    ],
    [
      'contains on a non-list fact',
      raw({ scope: 'job', ...leaf('job.state', 'contains', 'RUN') }),
      'f0.json [r] $.conditions.all[0].value: operator "contains" needs a list fact, but fact "job.state" is a string',
    ],
    [
      'contains a number',
      raw({ scope: 'job', ...leaf('job.exceptions.classesLong', 'doesNotContain', 3) }),
      'f0.json [r] $.conditions.all[0].value: operator "doesNotContain" looks for one string in the list, got a number',
    ],
    [
      'in without an array',
      raw({ scope: 'job', ...leaf('job.state', 'in', 'RUNNING') }),
      'f0.json [r] $.conditions.all[0].value: operator "in" needs an array value, got a string',
    ],
    [
      'in with the wrong element type',
      raw({ scope: 'job', ...leaf('job.state', 'notIn', [1, 2]) }),
      'f0.json [r] $.conditions.all[0].value: fact "job.state" is a string, but the "notIn" list holds numbers',
    ],
    [
      'in with a mixed list',
      raw({ scope: 'job', ...leaf('job.state', 'in', [1, 'a']) }),
      'f0.json [r] $.conditions.all[0].value: all values of a list must have the same type',
    ],
    [
      'param not in params',
      raw({
        params: { busyThreshold: 0.9 },
        ...leaf('vertex.busyRatio.max', 'greaterThan', { param: 'busyTreshold' }),
      }),
      'f0.json [r] $.conditions.all[0].value.param: param "busyTreshold" is not defined in params (did you mean "busyThreshold"?)',
    ],
    [
      'param of the wrong type',
      raw({ params: { t: 'high' }, ...leaf('vertex.busyRatio.max', 'greaterThan', { param: 't' }) }),
      'f0.json [r] $.conditions.all[0].value: operator "greaterThan" needs a number value, got a string',
    ],
    [
      'fact ref unknown',
      raw(leaf('vertex.parallelism', 'lessThan', { fact: 'vertex.maxParalelism' })),
      'f0.json [r] $.conditions.all[0].value.fact: unknown fact "vertex.maxParalelism" (nearest: vertex.maxParallelism)',
    ],
    [
      'fact ref of the wrong type',
      raw(leaf('vertex.parallelism', 'lessThan', { fact: 'vertex.isSink' })),
      'f0.json [r] $.conditions.all[0].value: operator "lessThan" needs a number value, got a boolean',
    ],
    [
      'fact ref from an unreadable scope',
      raw(leaf('vertex.parallelism', 'lessThan', { fact: 'taskmanager.freeSlots' })),
      'f0.json [r] $.conditions.all[0].value.fact: fact "taskmanager.freeSlots" belongs to scope taskmanager; a vertex rule reads only vertex, job, cluster facts',
    ],
    [
      'a node rule reads no cluster fact',
      raw({ scope: 'node', ...leaf('cluster.taskManagers', 'equal', 0) }),
      'f0.json [r] $.conditions.all[0].fact: fact "cluster.taskManagers" belongs to scope cluster; a node rule reads only node facts',
    ],
    [
      'unknown fact without near names',
      raw(leaf('zzz', 'equal', 1)),
      'f0.json [r] $.conditions.all[0].fact: unknown fact "zzz"',
    ],
    [
      'optional fact not read',
      raw({ optionalFacts: ['vertex.busySkew'] }),
      'f0.json [r] $.optionalFacts[0]: optional fact "vertex.busySkew" is not read by the conditions',
    ],
    [
      'placeholder typo',
      raw({ action: { kind: 'advice', text: 'Now {{vertex.paralelism}}.' } }),
      'f0.json [r] $.action.text: placeholder {{vertex.paralelism}} does not resolve (nearest: vertex.parallelism); use subject.name, subject.id, params.<name> or a fact name',
    ],
    [
      'placeholder param',
      raw({ action: { kind: 'advice', text: 'Over {{params.busy}}.' } }),
      'f0.json [r] $.action.text: placeholder {{params.busy}} names no param of this rule',
    ],
    [
      'placeholder fact from another scope',
      raw({ action: { kind: 'advice', text: 'Heap {{taskmanager.heapUsedRatio}}.' } }),
      'f0.json [r] $.action.text: fact "taskmanager.heapUsedRatio" belongs to scope taskmanager; a vertex rule reads only vertex, job, cluster facts',
    ],
    ['self-require', raw({ requires: ['r'] }), 'f0.json [r] $.requires[0]: requires cycle: r → r'],
  ])('%s', (_name, rule, expected) => {
    expect(errorsOf(rule)).toEqual([expected]);
  });

  it('accepts well-typed comparisons of every kind', () => {
    const ok = [
      raw({ scope: 'job', ...leaf('job.state', 'in', ['RUNNING', 'FAILING']) }),
      raw({ scope: 'job', ...leaf('job.state', 'notIn', []) }),
      raw({ scope: 'job', ...leaf('job.exceptions.classesMedium', 'contains', 'oom') }),
      raw({ scope: 'job', ...leaf('job.state', 'in', { fact: 'job.exceptions.classesMedium' }) }),
      raw({ scope: 'job', ...leaf('job.isRunning', 'notEqual', { fact: 'job.schedulerAdaptive' }) }),
      raw({ params: { p: [1, 2] }, ...leaf('vertex.parallelism', 'in', { param: 'p' }) }),
      raw({
        optionalFacts: ['vertex.maxParallelism'],
        ...leaf('vertex.parallelism', 'lessThan', { fact: 'vertex.maxParallelism' }),
      }),
      raw({
        params: { x: 1 },
        action: {
          kind: 'advice',
          text: '{{subject.id}} {{params.x}} {{params.y}} {{cluster.flinkVersion}}',
          params: { y: 'z' },
        },
      }),
      raw({
        conditions: { any: [{ not: { all: [{ fact: 'job.uptime', operator: 'lessThan', value: 60 }] } }] },
      }),
    ];
    expect(ok.flatMap(r => errorsOf({ ...r, id: 'ok' }))).toEqual([]);
  });

  it('reports every error of a file, in order', () => {
    const rule = raw({
      category: 'perf',
      conditions: {
        all: [
          { fact: 'vertex.busyRatoi', operator: 'greaterThen', value: 1 },
          { any: [{ fact: 'vertex.parallelism', operator: 'equal', value: 'x' }] },
        ],
      },
      action: { kind: 'advice', text: '{{nope}}' },
    });
    expect(errorsOf(rule)).toEqual([
      'f0.json [r] $.category: unknown category "perf"; one of: availability, connector, checkpoint, state, memory, gc, backpressure, lag, skew, watermark, resources, node, scaling, config',
      'f0.json [r] $.conditions.all[0].operator: unknown operator "greaterThen" (did you mean "greaterThan"?)',
      'f0.json [r] $.conditions.all[0].fact: unknown fact "vertex.busyRatoi" (nearest: vertex.busyRatio.avg, vertex.busyRatio.max, vertex.busyRatio.avg.avgLong)',
      'f0.json [r] $.conditions.all[1].any[0].value: fact "vertex.parallelism" is a number but is compared with equal to a string',
      'f0.json [r] $.action.text: placeholder {{nope}} does not resolve; use subject.name, subject.id, params.<name> or a fact name',
    ]);
  });

  it('reports every shape error of a file', () => {
    expect(errorsOf({ id: 'r', version: 0, title: '' })).toEqual([
      'f0.json [r] $.version: Too small: expected number to be >0',
      'f0.json [r] $.scope: Invalid input: expected string, received undefined',
      'f0.json [r] $.category: Invalid input: expected string, received undefined',
      'f0.json [r] $.severity: Invalid input: expected string, received undefined',
      'f0.json [r] $.title: Too small: expected string to have >=1 characters',
      'f0.json [r] $.conditions: Invalid input: expected record, received undefined',
      'f0.json [r] $.action: Invalid input: expected object, received undefined',
    ]);
    expect(errorsOf([1] as unknown as Record<string, unknown>)).toEqual([
      'f0.json $: Invalid input: expected object, received array',
    ]);
  });

  it('checks requires across files and names both files of a duplicate', () => {
    const a = raw({ id: 'a', requires: ['b', 'gone'] });
    const b = raw({ id: 'b', requires: ['c'] });
    const c = raw({ id: 'c', requires: ['b'] });
    const dup = raw({ id: 'a' });
    expect(errorsOf(a, b, c, dup)).toEqual([
      'f0.json [a] $.requires[1]: requires unknown rule "gone"',
      'f1.json [b] $.requires[0]: requires cycle: b → c → b',
      'f3.json [a] $.id: duplicate rule id "a", also defined in f0.json',
    ]);
  });

  it('names a longer cycle once, from its smallest rule id', () => {
    const x = raw({ id: 'x', requires: ['y'] });
    const y = raw({ id: 'y', requires: ['z'] });
    const z = raw({ id: 'z', requires: ['w', 'x'] });
    const w = raw({ id: 'w' });
    expect(errorsOf(x, y, z, w)).toEqual(['f0.json [x] $.requires[0]: requires cycle: x → y → z → x']);
  });

  it('a rule whose shape is broken still counts as existing for requires', () => {
    expect(errorsOf(raw({ id: 'a', title: 3 }), raw({ id: 'b', requires: ['a'] }))).toEqual([
      'f0.json [a] $.title: Invalid input: expected string, received number',
    ]);
  });

  it('suggests a near rule id for a missing one', () => {
    expect(errorsOf(raw({ id: 'vertex-skew' }), raw({ id: 'b', requires: ['vertex-skwe'] }))).toEqual([
      'f1.json [b] $.requires[0]: requires unknown rule "vertex-skwe" (did you mean "vertex-skew"?)',
    ]);
  });
});

describe('JSON syntax errors', () => {
  const texts = [
    '{"a": 1,}',
    '{"a" 1}',
    '{"a": tru}',
    '{"a": 1',
    '',
    '   ',
    '{"a": "x\n"}',
    '{a:1}',
    '{"a": 1} x',
    '[1,2,,3]',
    '{"a": 01}',
    '{"a": [1, 2}',
    '{"a": "\\q"}',
    '{"a": "\\u12"}',
    '{"a": -}',
    '{"a": 1.}',
    '{"a": "open',
    '{"a": nul}',
    '{"a": falsy}',
  ];

  it.each(texts)('locates the error in %j', text => {
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
    const located = locateJsonError(text);
    expect(located).toBeDefined();
    // Where JSON.parse names a position, it is the same one.
    const position = /at position (\d+)/.exec(
      (() => {
        try {
          JSON.parse(text);
          return '';
        } catch (e) {
          return (e as Error).message;
        }
      })(),
    );
    if (position !== null) expect(located?.offset).toBe(Number(position[1]));
  });

  it.each([
    '{}',
    '[]',
    '{"a": [1, -2.5e3, true, false, null, "x\\"y\\u00e9"], "b": {"c": {}}}',
    ' 3 ',
    '"s"',
  ])('finds nothing wrong in %j', text => {
    expect(locateJsonError(text)).toBeUndefined();
  });

  it('reports line and column (1-based) of the error', () => {
    const text = '{\n  "id": "x",\n  "version": 1,,\n}';
    expect(validateRuleSources([{ file: 'a.json', text }]).errors).toEqual([
      {
        file: 'a.json',
        path: '$',
        line: 3,
        column: 16,
        message: 'JSON syntax error: expected a double-quoted property name',
      },
    ]);
    expect(
      validateRuleSources([{ file: 'b.json', text: '{"id": "x"' }]).errors.map(formatRuleFileError),
    ).toEqual(['b.json:1:11: JSON syntax error: unexpected end of input']);
  });
});

describe('names', () => {
  it('edit distance counts insertions, deletions, substitutions and transpositions as 1', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('', 'ab')).toBe(2);
    expect(editDistance('greaterThen', 'greaterThan')).toBe(1);
    expect(editDistance('ratoi', 'ratio')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('nearest names compare by prefix too, at most 3, within distance 3', () => {
    expect(
      nearestNames('vertex.busyRatoi', ['vertex.busyRatio.max', 'vertex.busySkew', 'job.state']),
    ).toEqual(['vertex.busyRatio.max']);
    expect(
      nearestNames('abcdefghi', ['abcdefghX', 'abcdefgXY', 'abcdefXYZ', 'abcdeXYZW', 'abcdefghiX']),
    ).toEqual(['abcdefghX', 'abcdefghiX', 'abcdefgXY']);
    // A third of the name's length at most: short names get no far-fetched suggestions.
    expect(nearestNames('abc', ['abd', 'xbd'])).toEqual(['abd']);
    expect(nearestNames('nope', ['node.nicDropsRate'])).toEqual([]);
  });
});

function leafWith(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    conditions: { all: [{ fact: 'vertex.busyRatio.max', operator: 'greaterThan', value: 0.9, ...extra }] },
  };
}

describe('a rule library mounted from a Kubernetes ConfigMap', () => {
  it('loads each rule once through the ..data symlinks and skips the hidden timestamped copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rules-configmap-'));
    try {
      // The kubelet's atomic writer: real files in ..<timestamp>/, ..data -> it, name -> ..data/name.
      const stamp = '..2026_11_23_23_50_00.123456789';
      await mkdir(join(dir, stamp));
      await writeFile(join(dir, stamp, 'a.json'), JSON.stringify(raw({ id: 'a' })));
      await writeFile(join(dir, stamp, 'b.json'), JSON.stringify(raw({ id: 'b' })));
      await symlink(stamp, join(dir, '..data'));
      await symlink('..data/a.json', join(dir, 'a.json'));
      await symlink('..data/b.json', join(dir, 'b.json'));
      await symlink('..data/missing.json', join(dir, 'dangling.json'));
      const library = await loadRuleLibrary(dir);
      expect(library.errors).toEqual([]);
      expect(library.rules.map(r => r.id).sort()).toEqual(['a', 'b']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
