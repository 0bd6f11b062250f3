import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { ExceptionClassifier } from '../../agents/detect/classify.js';
import { withTimeout } from '../kubernetes/client.js';
import { emptyCollection, LogClassCounter, type LogCollection } from './counter.js';
import { DEFAULT_PARSER_LIMITS, Log4jParser, type LogLevel, type ParserLimits } from './log4j.js';

/**
 * Log signals from a FlinkDeployment's pods (Kubernetes API `pods/log`): the JobManager and
 * TaskManager pods (`app=<deployment>`, `component=jobmanager|taskmanager`), container
 * `flink-main-container` by default. Each read asks for what was written since the newest line
 * already read (`sinceSeconds` with `timestamps=true`; client-node 1.x offers no `sinceTime`,
 * so the overlap is dropped by timestamp), at most `limitBytes` per pod. After a container
 * restart the previous container's log is read once (`previous=true`) for what it wrote after
 * the last line read: that is where an OOM or a crash is logged. A pod far behind starts again
 * at `maxLookbackMs` (the skipped time is counted).
 */

export interface PodLogSourceOptions {
  api: CoreV1Api;
  namespace: string;
  /** The FlinkDeployment (its pods carry `app=<deployment>`). */
  deployment: string;
  container: string;
  classifier: ExceptionClassifier;
  minLevel?: LogLevel;
  /** Bytes read per collect over all pods (default 256 KiB). */
  bytesPerCycle?: number;
  maxPods?: number;
  /** Time to read back at most (default 10 minutes): a pod further behind skips ahead. */
  maxLookbackMs?: number;
  timeoutMs?: number;
  now: () => number;
  parser?: Partial<ParserLimits>;
}

export interface PodLogCollection extends LogCollection {
  pods: number;
  previousReads: number;
  /** Pods whose log could not be read this time. */
  failedPods: number;
  /** Time not read because a pod was further behind than maxLookbackMs, in ms. */
  skippedMs: number;
}

interface PodState {
  /** Timestamp (normalised RFC 3339, nanoseconds) of the newest line read, and the lines read at it. */
  lastTs?: string;
  atLast: Set<string>;
  restarts: number;
  parser: Log4jParser;
  seen: number;
}

const COMPONENTS = new Set(['jobmanager', 'taskmanager']);
const TS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z (.*)$/;

/** `2026-11-11T00:00:01.5Z` → `2026-11-11T00:00:01.500000000Z`: ordered as strings. */
function normalise(date: string, fraction: string | undefined): string {
  return `${date}.${(fraction ?? '').padEnd(9, '0')}Z`;
}

export class PodLogSource {
  private readonly pods = new Map<string, PodState>();
  private readonly counter: LogClassCounter;
  private collects = 0;

  constructor(private readonly opts: PodLogSourceOptions) {
    this.counter = new LogClassCounter(opts.classifier, opts.minLevel ?? 'INFO');
  }

  private get timeout(): number {
    return this.opts.timeoutMs ?? 10_000;
  }

  async collect(): Promise<PodLogCollection> {
    const n = ++this.collects;
    const { api, namespace, deployment } = this.opts;
    const out: PodLogCollection = {
      ...emptyCollection(),
      pods: 0,
      previousReads: 0,
      failedPods: 0,
      skippedMs: 0,
    };
    const list = await withTimeout(this.timeout, 'list pods', () =>
      api.listNamespacedPod({ namespace, labelSelector: `app=${deployment}` }),
    );
    const pods = list.items
      .filter(p => COMPONENTS.has(p.metadata?.labels?.component ?? '') && p.metadata?.name !== undefined)
      .sort((a, b) => rank(a) - rank(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .slice(0, this.opts.maxPods ?? 64);
    out.pods = out.files = pods.length;
    const budget = this.opts.bytesPerCycle ?? 256 * 1024;
    const share = Math.max(4096, Math.floor(budget / Math.max(1, pods.length)));
    for (const pod of pods) {
      try {
        await this.readPod(pod, share, n, out);
      } catch {
        out.failedPods++;
        const st = this.pods.get(pod.metadata?.name ?? '');
        if (st !== undefined) st.seen = n;
      }
    }
    for (const [name, st] of this.pods) {
      if (st.seen === n) continue;
      st.parser.flush();
      this.pods.delete(name);
    }
    out.counts = this.counter.take();
    return out;
  }

  private async readPod(pod: V1Pod, share: number, n: number, out: PodLogCollection): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const status = pod.status?.containerStatuses?.find(c => c.name === this.opts.container);
    const restarts = status?.restartCount ?? 0;
    const now = this.opts.now();
    let st = this.pods.get(name);
    if (st === undefined) {
      st = {
        atLast: new Set(),
        restarts,
        seen: n,
        // Pod names are not the TaskManager ids the job's vertices name: the origin stays unknown.
        parser: new Log4jParser(this.counter.emitFor(rank(pod) === 0 ? 'jm' : 'any'), {
          ...DEFAULT_PARSER_LIMITS,
          ...this.opts.parser,
        }),
      };
      // Pods there at the first collect start now; pods that appear later, at their start.
      if (this.collects === 1) st.lastTs = normalise(new Date(now).toISOString().slice(0, 19), '999999999');
      this.pods.set(name, st);
    }
    st.seen = n;
    const lookback = this.opts.maxLookbackMs ?? 600_000;
    if (st.lastTs !== undefined) {
      const behind = now - Date.parse(st.lastTs);
      if (behind > lookback) {
        out.skippedMs += behind - lookback;
        st.lastTs = normalise(new Date(now - lookback).toISOString().slice(0, 19), undefined);
        st.atLast.clear();
        st.parser.flush();
      }
    }
    // Whole seconds back to the last line read: the overlap (under a second) is dropped by timestamp.
    const since =
      st.lastTs === undefined ? undefined : Math.max(1, Math.ceil((now - Date.parse(st.lastTs)) / 1000));
    let left = share;
    if (restarts > st.restarts) {
      // The container restarted: what the previous one wrote after our last line comes first.
      const text = await this.read(name, true, since, left);
      out.previousReads++;
      left -= this.consume(st, text, out);
      st.parser.flush();
      st.restarts = restarts;
    } else if (restarts < st.restarts) st.restarts = restarts;
    if (left <= 0) return;
    const text = await this.read(name, false, since, left);
    const lastBefore = st.lastTs;
    this.consume(st, text, out);
    st.parser.endOfRead();
    if (Buffer.byteLength(text) >= left && st.lastTs === lastBefore && st.lastTs !== undefined) {
      // The overlap alone fills the limit (more than limitBytes logged within a second): skip to
      // the next whole second rather than read the same bytes forever.
      const next = Math.floor(Date.parse(st.lastTs) / 1000) * 1000 + 1000;
      out.skippedMs += next - Date.parse(st.lastTs);
      st.lastTs = normalise(new Date(next).toISOString().slice(0, 19), undefined);
      st.atLast.clear();
    }
  }

  private read(
    pod: string,
    previous: boolean,
    sinceSeconds: number | undefined,
    limitBytes: number,
  ): Promise<string> {
    const { api, namespace, container } = this.opts;
    return withTimeout(this.timeout, 'read pod log', () =>
      api.readNamespacedPodLog({
        name: pod,
        namespace,
        container,
        timestamps: true,
        limitBytes,
        ...(previous ? { previous: true } : {}),
        ...(sinceSeconds === undefined ? {} : { sinceSeconds }),
      }),
    );
  }

  /** Feeds the lines newer than the last one read to the parser; returns the bytes received. */
  private consume(st: PodState, text: string, out: PodLogCollection): number {
    const bytes = Buffer.byteLength(text);
    out.bytes += bytes;
    const before = st.parser.stats.events;
    const binary = st.parser.stats.binaryChunks;
    const lines = text.split('\n');
    // A read cut by limitBytes may end mid-line: that line is read again next time.
    if (!text.endsWith('\n')) lines.pop();
    for (const raw of lines) {
      const m = TS.exec(raw);
      if (m === null) continue;
      const ts = normalise(m[1] ?? '', m[2]);
      const line = m[3] ?? '';
      if (st.lastTs !== undefined && ts < st.lastTs) continue;
      if (ts === st.lastTs && st.atLast.has(line)) continue;
      if (ts !== st.lastTs) {
        st.lastTs = ts;
        st.atLast.clear();
      }
      if (st.atLast.size < 1000) st.atLast.add(line);
      st.parser.push(`${line}\n`);
    }
    out.events += st.parser.stats.events - before;
    out.binaryChunks += st.parser.stats.binaryChunks - binary;
    return bytes;
  }
}

function rank(p: V1Pod): number {
  return p.metadata?.labels?.component === 'jobmanager' ? 0 : 1;
}
