/**
 * Exception classification: a Java stack trace → one class of `rules/log-patterns.json`.
 *
 * The trace is split into its `Caused by` chain (outermost first). Classification is **root
 * cause first**: the deepest link that a pattern matches wins; among the patterns matching that
 * link, the highest priority wins (file order breaks ties). Wrapper links ("Could not forward
 * element to next operator", "Recovery is suppressed by ...", CompletionException, ...) are
 * never classified themselves, so they cannot hide the real cause. A trace that no pattern
 * matches is `unclassified`.
 */

/** One pattern as validated by src/config/log-patterns.ts. */
export interface ExceptionPattern {
  class: string;
  category: string;
  exception?: string;
  message?: string;
  unlessChain?: string;
  ignoreCase?: boolean;
  priority: number;
}

export interface ExceptionPatterns {
  wrappers: readonly string[];
  patterns: readonly ExceptionPattern[];
}

/** One link of a `Caused by` chain. */
export interface ChainLink {
  /** Fully qualified exception class, e.g. `java.lang.OutOfMemoryError`. */
  className: string;
  /** The message, all of its lines (may be empty). */
  message: string;
}

export interface Classification {
  class: string;
  category?: string;
  /** Index in the chain (0 = outermost) of the link that decided, when a pattern matched. */
  link?: number;
}

export interface ClassifiableException {
  exceptionName?: string;
  stacktrace: string;
}

export interface ExceptionClassifier {
  explain(entry: ClassifiableException): Classification;
  /** The class only; a bound function, ready for `DetectOptions.classify`. */
  readonly classify: (entry: ClassifiableException) => string;
}

export const UNCLASSIFIED = 'unclassified';

const HEADER = /^(?:Caused by:\s*)?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)(?::\s?(.*))?$/;
const FRAME = /^\s+(?:at |\.\.\. \d+ (?:more|common frames omitted))/;
const NESTED = /^\s+(?:Caused by|Suppressed):/;

/**
 * The `Caused by` chain of a stack trace, outermost first. Frames (`\tat ...`, `... 3 more`) end
 * a message; indented `Suppressed:` blocks and their own causes are skipped; a message may span
 * several lines.
 */
export function parseCausedByChain(text: string): ChainLink[] {
  const links: ChainLink[] = [];
  let current: { className: string; lines: string[] } | undefined;
  let inMessage = false;
  let skipping = false;
  const flush = (): void => {
    if (current) links.push({ className: current.className, message: current.lines.join('\n').trimEnd() });
    current = undefined;
  };
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trimEnd();
    const startsChain = current === undefined && !skipping && line.trim() !== '';
    if (line.startsWith('Caused by:') || startsChain) {
      const m = HEADER.exec(line.trim());
      if (m?.[1] !== undefined) {
        flush();
        current = { className: m[1], lines: m[2] === undefined ? [] : [m[2]] };
        inMessage = true;
        skipping = false;
        continue;
      }
    }
    if (NESTED.test(line)) {
      skipping = true;
      inMessage = false;
      continue;
    }
    if (FRAME.test(line)) {
      inMessage = false;
      continue;
    }
    if (inMessage && current && !skipping) current.lines.push(line);
  }
  flush();
  return links;
}

interface CompiledPattern {
  pattern: ExceptionPattern;
  order: number;
  exception?: RegExp;
  message?: RegExp;
  unlessChain?: RegExp;
}

const linkText = (l: ChainLink): string => (l.message === '' ? l.className : `${l.className}: ${l.message}`);

/** Compiles validated patterns once; the classifier is pure and reusable. */
export function compileClassifier(source: ExceptionPatterns): ExceptionClassifier {
  const wrappers = source.wrappers.map(w => new RegExp(w));
  const patterns: CompiledPattern[] = source.patterns.map((p, order) => {
    const flags = p.ignoreCase === true ? 'i' : '';
    return {
      pattern: p,
      order,
      ...(p.exception === undefined ? {} : { exception: new RegExp(p.exception, flags) }),
      ...(p.message === undefined ? {} : { message: new RegExp(p.message, flags) }),
      ...(p.unlessChain === undefined ? {} : { unlessChain: new RegExp(p.unlessChain, flags) }),
    };
  });

  const explain = (entry: ClassifiableException): Classification => {
    let chain = parseCausedByChain(entry.stacktrace);
    if (chain.length === 0 && entry.exceptionName !== undefined)
      chain = parseCausedByChain(entry.exceptionName);
    const texts = chain.map(linkText);
    const applicable = patterns.filter(p => !p.unlessChain || !texts.some(t => p.unlessChain?.test(t)));
    for (let i = chain.length - 1; i >= 0; i--) {
      const link = chain[i] as ChainLink;
      const text = texts[i] as string;
      if (wrappers.some(w => w.test(text))) continue;
      let best: CompiledPattern | undefined;
      for (const p of applicable) {
        if (p.exception && !p.exception.test(link.className)) continue;
        if (p.message && !p.message.test(link.message)) continue;
        if (!best || p.pattern.priority > best.pattern.priority) best = p;
      }
      if (best) return { class: best.pattern.class, category: best.pattern.category, link: i };
    }
    return { class: UNCLASSIFIED };
  };
  return { explain, classify: entry => explain(entry).class };
}
