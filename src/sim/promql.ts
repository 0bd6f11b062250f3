/**
 * A minimal Prometheus HTTP query API (`/api/v1/query`) for the simulator: instant vectors and
 * exactly the PromQL subset the bulk collector sends, evaluated over the simulator's metric
 * store (never by re-parsing exposition text):
 *
 *   <metric>{<matchers>}
 *   {__name__=~"a|b", <matchers>}
 *   <agg> by (<labels>) (<selector>)        agg ∈ sum, max, min, avg, count
 *   <agg> (<selector>) by (<labels>)
 *
 * Matchers: `=`, `!=`, `=~`, `!~` (regexes fully anchored, as in Prometheus). Anything else is a
 * parse error answered the way Prometheus answers it (HTTP 400, `errorType: bad_data`).
 */

export type Labels = Readonly<Record<string, string>>;

export interface Series {
  labels: Labels;
  value: number;
}

export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
  /** Compiled, anchored regex for `=~` / `!~`. */
  re?: RegExp;
  /** The literal alternatives of a `=~` / `!~` regex without metacharacters (set lookup). */
  values?: Set<string>;
}

export const AGGREGATORS = ['sum', 'max', 'min', 'avg', 'count'] as const;
export type Aggregator = (typeof AGGREGATORS)[number];

export interface SelectorQuery {
  /** Metric names the selector can match (from the name or an `__name__` = / =~ matcher of literals). */
  names: string[];
  matchers: Matcher[];
}

export interface InstantQuery {
  selector: SelectorQuery;
  agg?: { op: Aggregator; by: string[] };
}

/** Where series come from. `values` of a label matcher narrow the search (an index hint). */
export interface SeriesSource {
  /**
   * Every series of metric `name` at time `at` (epoch ms). `hint` lists the literal values a
   * label must have (from `=` and literal `=~` matchers), so a source can look them up instead of
   * scanning; the evaluator still applies every matcher.
   */
  series(name: string, at: number, hint: ReadonlyMap<string, ReadonlySet<string>>): Iterable<Series>;
}

export class PromQLParseError extends Error {
  constructor(
    readonly pos: number,
    message: string,
  ) {
    super(`1:${pos + 1}: parse error: ${message}`);
    this.name = 'PromQLParseError';
  }
}

const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL = /[a-zA-Z_][a-zA-Z0-9_]*/y;

class Lexer {
  pos = 0;
  constructor(readonly text: string) {}

  skip(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  peek(s: string): boolean {
    this.skip();
    return this.text.startsWith(s, this.pos);
  }

  eat(s: string): boolean {
    if (!this.peek(s)) return false;
    this.pos += s.length;
    return true;
  }

  expect(s: string): void {
    if (!this.eat(s)) throw new PromQLParseError(this.pos, `expected "${s}"${this.found()}`);
  }

  found(): string {
    return this.pos >= this.text.length
      ? ', found end of input'
      : `, found "${this.text.slice(this.pos, this.pos + 10)}"`;
  }

  word(re: RegExp, what: string): string {
    this.skip();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m === null) throw new PromQLParseError(this.pos, `expected ${what}${this.found()}`);
    this.pos += m[0].length;
    return m[0];
  }

  tryWord(re: RegExp): string | undefined {
    this.skip();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m === null) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  string(): string {
    this.skip();
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'")
      throw new PromQLParseError(this.pos, `expected a quoted label value${this.found()}`);
    let out = '';
    let i = this.pos + 1;
    for (; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === quote) break;
      if (c === '\\') {
        const n = this.text[++i];
        out += n === 'n' ? '\n' : n === 't' ? '\t' : (n ?? '');
      } else out += c;
    }
    if (i >= this.text.length) throw new PromQLParseError(this.pos, 'unterminated quoted string');
    this.pos = i + 1;
    return out;
  }

  end(): void {
    this.skip();
    if (this.pos < this.text.length)
      throw new PromQLParseError(this.pos, `unexpected "${this.text.slice(this.pos, this.pos + 10)}"`);
  }
}

/** The literal alternatives of a regex made only of `a|b|c` with no metacharacters, else undefined. */
export function literalAlternatives(re: string): string[] | undefined {
  if (/[\\^$.*+?()[\]{}]/.test(re)) return undefined;
  return re.split('|');
}

function parseSelector(lx: Lexer): SelectorQuery {
  const name = lx.tryWord(IDENT);
  if (name !== undefined && (AGGREGATORS as readonly string[]).includes(name) && lx.peek('('))
    throw new PromQLParseError(lx.pos, 'nested aggregations are not supported by this simulator');
  if (name !== undefined && ['rate', 'irate', 'increase'].includes(name) && lx.peek('('))
    throw new PromQLParseError(lx.pos, `function "${name}" is not supported by this simulator`);
  const matchers: Matcher[] = [];
  if (lx.eat('{')) {
    while (!lx.eat('}')) {
      const label = lx.word(LABEL, 'a label name');
      lx.skip();
      const op = (['=~', '!~', '!=', '='] as const).find(o => lx.eat(o));
      if (op === undefined)
        throw new PromQLParseError(lx.pos, `expected a label matching operator${lx.found()}`);
      const value = lx.string();
      const m: Matcher = { name: label, op, value };
      if (op === '=~' || op === '!~') {
        try {
          m.re = new RegExp(`^(?:${value})$`);
          const literals = literalAlternatives(value);
          if (literals !== undefined) m.values = new Set(literals);
        } catch {
          throw new PromQLParseError(lx.pos, `invalid regular expression in label matcher: ${value}`);
        }
      }
      matchers.push(m);
      if (!lx.eat(',')) {
        lx.expect('}');
        break;
      }
    }
  }
  if (lx.peek('[')) throw new PromQLParseError(lx.pos, 'range vectors are not supported by this simulator');
  if (lx.peek('offset')) throw new PromQLParseError(lx.pos, 'offset is not supported by this simulator');
  let names: string[] | undefined;
  if (name !== undefined) names = [name];
  for (const m of matchers) {
    if (m.name !== '__name__') continue;
    if (name !== undefined) throw new PromQLParseError(lx.pos, 'metric name must not be set twice');
    if (m.op === '=') names = [m.value];
    else if (m.op === '=~') names = literalAlternatives(m.value);
    if (names === undefined)
      throw new PromQLParseError(lx.pos, '__name__ must be matched by = or a =~ of literal alternatives');
  }
  if (names === undefined || names.length === 0)
    throw new PromQLParseError(lx.pos, 'vector selector must contain at least one non-empty matcher');
  return { names, matchers: matchers.filter(m => m.name !== '__name__') };
}

function parseBy(lx: Lexer): string[] {
  lx.expect('(');
  const labels: string[] = [];
  while (!lx.eat(')')) {
    labels.push(lx.word(LABEL, 'a label name'));
    if (!lx.eat(',')) {
      lx.expect(')');
      break;
    }
  }
  return labels;
}

export function parsePromQL(text: string): InstantQuery {
  const lx = new Lexer(text);
  lx.skip();
  const start = lx.pos;
  const head = lx.tryWord(IDENT);
  if (head !== undefined && (AGGREGATORS as readonly string[]).includes(head)) {
    let by: string[] | undefined;
    if (lx.eat('by')) by = parseBy(lx);
    else if (lx.peek('without'))
      throw new PromQLParseError(lx.pos, '"without" is not supported by this simulator');
    lx.expect('(');
    const selector = parseSelector(lx);
    lx.expect(')');
    if (by === undefined && lx.eat('by')) by = parseBy(lx);
    lx.end();
    return { selector, agg: { op: head as Aggregator, by: by ?? [] } };
  }
  lx.pos = start;
  const selector = parseSelector(lx);
  lx.end();
  return { selector };
}

function matches(labels: Labels, m: Matcher): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.values?.has(v) ?? m.re?.test(v) ?? false;
    case '!~':
      return !(m.values?.has(v) ?? m.re?.test(v) ?? false);
  }
}

function hintOf(matchers: readonly Matcher[]): Map<string, Set<string>> {
  const hint = new Map<string, Set<string>>();
  for (const m of matchers) {
    const values = m.op === '=' ? [m.value] : m.op === '=~' ? literalAlternatives(m.value) : undefined;
    if (values !== undefined) hint.set(m.name, new Set(values));
  }
  return hint;
}

/** Evaluates a parsed query at `at` (epoch ms) over `source`: the instant vector. */
export function evaluate(q: InstantQuery, source: SeriesSource, at: number): Series[] {
  const hint = hintOf(q.selector.matchers);
  const selected: Series[] = [];
  for (const name of q.selector.names)
    for (const s of source.series(name, at, hint))
      if (q.selector.matchers.every(m => matches(s.labels, m)))
        selected.push({ labels: { __name__: name, ...s.labels }, value: s.value });
  if (q.agg === undefined) return selected;
  const { op, by } = q.agg;
  const groups = new Map<string, { labels: Record<string, string>; n: number; acc: number }>();
  for (const s of selected) {
    const labels: Record<string, string> = {};
    for (const l of by) if (s.labels[l] !== undefined && s.labels[l] !== '') labels[l] = s.labels[l];
    const key = by.map(l => labels[l] ?? '').join('\u0000');
    const g = groups.get(key);
    if (g === undefined) {
      groups.set(key, { labels, n: 1, acc: op === 'count' ? 1 : s.value });
      continue;
    }
    g.n += 1;
    if (op === 'sum' || op === 'avg') g.acc += s.value;
    else if (op === 'count') g.acc += 1;
    // Prometheus: max/min ignore NaN unless every value is NaN.
    else if (op === 'max') g.acc = Number.isNaN(g.acc) || s.value > g.acc ? s.value : g.acc;
    else g.acc = Number.isNaN(g.acc) || s.value < g.acc ? s.value : g.acc;
  }
  return [...groups.values()].map(g => ({ labels: g.labels, value: op === 'avg' ? g.acc / g.n : g.acc }));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

function badData(message: string): ApiResponse {
  return { status: 400, body: { status: 'error', errorType: 'bad_data', error: message } };
}

/** Parses Prometheus's `time` parameter: RFC 3339 or Unix seconds (float). */
function parseTime(text: string | null, now: number): number | undefined {
  if (text === null || text === '') return now;
  const n = Number(text);
  if (Number.isFinite(n)) return n * 1000;
  const d = Date.parse(text);
  return Number.isFinite(d) ? d : undefined;
}

/**
 * `GET|POST /api/v1/query` (`query`, `time`) as Prometheus answers it. For POST the parameters
 * are in an `application/x-www-form-urlencoded` body.
 */
export function queryApi(
  method: string,
  path: string,
  params: URLSearchParams,
  body: string,
  source: SeriesSource,
  now: number,
): ApiResponse | undefined {
  if (path !== '/api/v1/query') return undefined;
  if (method !== 'GET' && method !== 'POST')
    return { status: 405, body: { status: 'error', errorType: 'bad_data', error: 'method not allowed' } };
  const all = new URLSearchParams(params);
  if (method === 'POST') for (const [k, v] of new URLSearchParams(body)) all.set(k, v);
  const text = all.get('query');
  if (text === null || text.trim() === '')
    return badData('invalid parameter "query": 1:1: parse error: no expression found in input');
  const at = parseTime(all.get('time'), now);
  if (at === undefined)
    return badData(`invalid parameter "time": cannot parse "${all.get('time') ?? ''}" to a valid timestamp`);
  let q: InstantQuery;
  try {
    q = parsePromQL(text);
  } catch (err) {
    if (err instanceof PromQLParseError) return badData(`invalid parameter "query": ${err.message}`);
    throw err;
  }
  const ts = at / 1000;
  return {
    status: 200,
    body: {
      status: 'success',
      data: {
        resultType: 'vector',
        result: evaluate(q, source, at).map(s => ({ metric: s.labels, value: [ts, formatValue(s.value)] })),
      },
    },
  };
}
