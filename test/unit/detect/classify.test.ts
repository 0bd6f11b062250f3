import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  compileClassifier,
  parseCausedByChain,
  UNCLASSIFIED,
  type ExceptionPatterns,
} from '../../../src/agents/detect/classify.js';
import { loadLogPatterns, logPatternClasses, validateLogPatterns } from '../../../src/config/log-patterns.js';
import { defaultRulesDir } from '../../../src/config/rule-files.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/exceptions/', import.meta.url));

function shippedPatterns(): ExceptionPatterns {
  const { patterns, errors } = validateLogPatterns(
    readFileSync(`${defaultRulesDir()}/log-patterns.json`, 'utf8'),
  );
  expect(errors).toEqual([]);
  if (patterns === undefined) throw new Error('no patterns');
  return patterns;
}

describe('parseCausedByChain', () => {
  it('splits a trace into its links, outermost first, with multi-line messages', () => {
    const chain = parseCausedByChain(
      [
        'java.io.IOException: unable to open JDBC writer',
        '\tat a.B.c(B.java:1)',
        'Caused by: com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure',
        '',
        'The last packet sent successfully to the server was 0 milliseconds ago.',
        '\tat x.Y.z(Y.java:2)',
        '\t... 12 more',
        'Caused by: java.net.ConnectException: Connection refused',
        '\tat q.R.s(R.java:3)',
      ].join('\n'),
    );
    expect(chain).toEqual([
      { className: 'java.io.IOException', message: 'unable to open JDBC writer' },
      {
        className: 'com.mysql.cj.jdbc.exceptions.CommunicationsException',
        message:
          'Communications link failure\n\nThe last packet sent successfully to the server was 0 milliseconds ago.',
      },
      { className: 'java.net.ConnectException', message: 'Connection refused' },
    ]);
  });

  it('reads a class without a message, CRLF line ends, and skips Suppressed blocks with their causes', () => {
    const chain = parseCausedByChain(
      [
        'java.lang.RuntimeException: closing',
        '\tSuppressed: java.net.ConnectException: Connection refused',
        '\t\tCaused by: java.net.UnknownHostException: db',
        'Caused by: java.lang.UnsupportedOperationException',
        '\tat a.B.c(B.java:1)',
      ].join('\r\n'),
    );
    expect(chain).toEqual([
      { className: 'java.lang.RuntimeException', message: 'closing' },
      { className: 'java.lang.UnsupportedOperationException', message: '' },
    ]);
  });

  it('returns no links for text that is not a stack trace', () => {
    expect(parseCausedByChain('')).toEqual([]);
    expect(parseCausedByChain('something went wrong')).toEqual([]);
  });
});

describe('compileClassifier on the shipped rules/log-patterns.json', () => {
  const classifier = compileClassifier(shippedPatterns());
  const expected = JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8')) as Record<string, string>;
  const fixtures = readdirSync(FIXTURES).filter(f => f.endsWith('.txt'));

  it('has an expectation for every fixture', () => {
    expect(fixtures.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s → %s', (file, cls) => {
    const stacktrace = readFileSync(`${FIXTURES}${file}`, 'utf8');
    expect(classifier.classify({ stacktrace })).toBe(cls);
  });

  it('covers every class of the catalog named in issue 5', () => {
    const classes = new Set(Object.values(expected));
    for (const c of [
      'connector-unreachable',
      'kafka-timeout',
      'checkpoint-timeout',
      'checkpoint-declined',
      'heap-oom',
      'metaspace-oom',
      'direct-oom',
      'container-killed',
      'tm-heartbeat-timeout',
      'ask-timeout',
      'no-resources',
      'serialization',
      'kryo-fallback',
      'user-code',
      'jm-lost-leadership',
    ])
      expect(classes).toContain(c);
  });

  it('says which link decided: the root cause, not the wrapper', () => {
    const trace = readFileSync(`${FIXTURES}forward-npe.txt`, 'utf8');
    expect(classifier.explain({ stacktrace: trace })).toEqual({
      class: 'user-code',
      category: 'availability',
      link: 2,
    });
  });

  it('falls back to the exception name when there is no stack trace', () => {
    expect(
      classifier.classify({
        exceptionName: 'org.apache.kafka.common.errors.TimeoutException: Failed to update metadata',
        stacktrace: '',
      }),
    ).toBe('kafka-timeout');
    expect(classifier.classify({ stacktrace: '' })).toBe(UNCLASSIFIED);
  });
});

describe('compileClassifier semantics', () => {
  const patterns: ExceptionPatterns = {
    wrappers: ['^com\\.acme\\.Wrapper'],
    patterns: [
      { class: 'generic-timeout', category: 'availability', exception: 'TimeoutException$', priority: 10 },
      {
        class: 'heartbeat',
        category: 'availability',
        exception: 'TimeoutException$',
        message: 'heartbeat',
        priority: 50,
      },
      { class: 'boom', category: 'config', message: 'boom', ignoreCase: true, priority: 5 },
      {
        class: 'net',
        category: 'connector',
        exception: 'ConnectException$',
        unlessChain: 'netty',
        priority: 5,
      },
    ],
  };
  const c = compileClassifier(patterns);

  it('prefers the deepest matching link over a higher-priority outer one', () => {
    const trace = 'a.TimeoutException: heartbeat lost\nCaused by: a.B: BOOM here';
    expect(c.explain({ stacktrace: trace })).toEqual({ class: 'boom', category: 'config', link: 1 });
  });

  it('breaks ties on one link by priority, needing both regexes when a pattern has both', () => {
    expect(c.classify({ stacktrace: 'java.util.concurrent.TimeoutException: heartbeat of x' })).toBe(
      'heartbeat',
    );
    expect(c.classify({ stacktrace: 'java.util.concurrent.TimeoutException: rpc' })).toBe('generic-timeout');
  });

  it('never classifies a wrapper link, even when its message would match', () => {
    expect(c.classify({ stacktrace: 'com.acme.Wrapper: boom\nCaused by: a.Unknown: x' })).toBe(UNCLASSIFIED);
  });

  it('skips a pattern whose unlessChain matches any link', () => {
    expect(c.classify({ stacktrace: 'java.net.ConnectException: refused' })).toBe('net');
    expect(
      c.classify({ stacktrace: 'a.Netty: netty client\nCaused by: java.net.ConnectException: refused' }),
    ).toBe(UNCLASSIFIED);
  });
});

describe('validateLogPatterns', () => {
  const file = (patterns: unknown[], wrappers: unknown[] = []): string =>
    JSON.stringify({ version: 1, wrappers, patterns });
  const ok = { class: 'x', category: 'memory', message: 'x', priority: 1, description: 'd' };

  it('reports every problem with its JSON path', () => {
    const { patterns, errors } = validateLogPatterns(
      file(
        [
          ok,
          { ...ok, message: '(' },
          { ...ok, class: 'y', message: undefined },
          { ...ok, category: 'gc' },
          { ...ok, class: 'Bad_Class' },
        ],
        ['['],
      ),
    );
    expect(patterns).toBeUndefined();
    expect(errors.map(e => `${e.path}: ${e.message}`)).toEqual([
      '$.patterns[2]: a pattern needs "exception", "message" or both',
      '$.patterns[4].class: a class is kebab-case: lower-case letters, digits, dashes',
    ]);
    const semantic = validateLogPatterns(
      file([ok, { ...ok, message: '(' }, { ...ok, category: 'gc' }], ['[']),
    );
    expect(semantic.errors.map(e => `${e.file} ${e.path}: ${e.message}`)).toEqual([
      'log-patterns.json $.wrappers[0]: not a valid regular expression',
      'log-patterns.json $.patterns[1].message: not a valid regular expression',
      'log-patterns.json $.patterns[2].category: class "x" is in category memory in an earlier pattern',
    ]);
  });

  it('reports JSON syntax errors with line and column, and unknown properties', () => {
    expect(validateLogPatterns('{\n  "version": 1,,\n}').errors).toEqual([
      {
        file: 'log-patterns.json',
        path: '$',
        line: 2,
        column: 16,
        message: 'JSON syntax error: expected a double-quoted property name',
      },
    ]);
    expect(validateLogPatterns(file([{ ...ok, regex: 'x' }])).errors.map(e => e.path)).toEqual([
      '$.patterns[0].regex',
    ]);
  });

  it('lists the classes once each, and a directory without the file has none', async () => {
    const { patterns } = validateLogPatterns(file([ok, { ...ok, exception: 'E' }, { ...ok, class: 'z' }]));
    expect(patterns && logPatternClasses(patterns)).toEqual([
      { class: 'x', category: 'memory' },
      { class: 'z', category: 'memory' },
    ]);
    expect(await loadLogPatterns('/nonexistent')).toEqual({ errors: [] });
  });
});
