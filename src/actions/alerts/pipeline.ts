import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  inhibited,
  listSilences,
  silencedBy,
  type Silence,
} from '../../agents/select/policies/fleet-state.js';
import type { GROUP_BY, SecretRef } from '../../config/alerts-schema.js';
import type { CircuitOpenEvent } from '../circuit-breaker.js';
import type { Config } from '../../config/schema.js';
import { RISKS, SEVERITIES, SHARED_SCOPES, type Finding, type HealthReport } from '../../domain/index.js';
import { LockBusyError, type Store } from '../../state/store.js';
import { registerSecret, type Logger } from '../../telemetry/logger.js';
import { SinkQueue, type DeliveryEvents } from './delivery.js';
import type { AlertEvent, SinkSettings } from './sinks.js';

/**
 * The alert pipeline: after every cycle, the job's report is turned into notifications.
 *
 * - A firing finding is routed (routes in order, first match wins unless `continue`; by
 *   severity, category, owner, labels and the job's risk), sent once, and re-sent to each sink
 *   every repeat interval of that sink while it fires (dedup by fingerprint, kept in the Store so
 *   a restart neither repeats nor forgets an alert). Alertmanager sinks re-send every minute
 *   with an `endsAt` ahead, as Alertmanager expects of its clients.
 * - A finding that was alerted and now resolves (or is gone while the job is observed) sends a
 *   resolved message to the same sinks. One that became `unknown` (absent or stale data) does
 *   not: nothing is known to have resolved. A stale job sends nothing.
 * - Silenced findings (API silences) and findings inhibited by a firing cluster or availability
 *   finding of the same job are not sent; they still count in the health score.
 * - Findings on shared subjects (cluster, TaskManager, node) are alerted once for all the jobs
 *   they are attached to: a per-fingerprint lock and record decide which job's cycle sends it,
 *   also across replicas.
 * - Planned actions waiting for approval, and failed actions, are alerted like findings.
 * - Grouping per sink: one notification per job (default), per cluster or per alert; with a
 *   `groupWait`, alerts of a group arriving within it go out together (a group is per replica:
 *   in distributed mode each replica groups the cycles it runs). Delivery is asynchronous per
 *   sink (delivery.ts), so a failing sink never blocks a cycle.
 * - The job's own dedup record is read and written under a per-job lock, so two replicas
 *   processing consecutive cycles of one job cannot lose each other's writes.
 */

type Alerts = Config['alerts'];
type Route = Alerts['routes'][number];
type GroupBy = (typeof GROUP_BY)[number];

const AlertStateSchema = z
  .object({
    sinks: z.array(z.string()),
    startsAt: z.number(),
    /** When each sink last got it. */
    sentAt: z.record(z.string(), z.number()).optional(),
    /** Records written before per-sink repeat intervals: one time for every sink. */
    lastSentAt: z.number().optional(),
    event: z.custom<AlertEvent>(v => typeof v === 'object' && v !== null),
  })
  .transform(({ sinks, startsAt, sentAt, lastSentAt, event }) => ({
    sinks,
    startsAt,
    sentAt: sentAt ?? Object.fromEntries(sinks.map(k => [k, lastSentAt ?? 0])),
    event,
  }));
type AlertState = z.output<typeof AlertStateSchema>;
type SentAt = AlertState['sentAt'];
const JobAlertsSchema = z.record(z.string(), AlertStateSchema);
type JobAlerts = z.output<typeof JobAlertsSchema>;

/** Reads a secret from its inline value, file or environment variable and registers it for log redaction. */
export async function resolveSecret(ref: SecretRef, what: string, env: NodeJS.ProcessEnv): Promise<string> {
  let value: string | undefined;
  if (ref.value !== undefined) value = ref.value;
  else if (ref.file !== undefined) {
    value = await readFile(ref.file, 'utf8').then(
      t => t.trim(),
      () => undefined,
    );
    if (value === undefined) throw new Error(`${what}: cannot read ${ref.file}`);
  } else value = env[ref.env ?? '']?.trim();
  if (value === undefined || value === '') throw new Error(`${what}: the secret is empty`);
  registerSecret(value);
  return value;
}

/** The sinks of the config with their secrets read (URLs and keys registered for redaction). */
export async function resolveSinks(
  alerts: Alerts,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SinkSettings[]> {
  return Promise.all(
    alerts.sinks.map(async s => {
      const url = await resolveSecret(s.url, `alerts.sinks.${s.name}.url`, env);
      if (!/^https?:\/\//.test(url)) throw new Error(`alerts.sinks.${s.name}.url: not an http(s) URL`);
      const secret =
        s.secret === undefined
          ? undefined
          : await resolveSecret(s.secret, `alerts.sinks.${s.name}.secret`, env);
      return {
        name: s.name,
        kind: s.kind,
        url,
        ...(secret === undefined ? {} : { secret }),
        titleTemplate: s.titleTemplate,
        textTemplate: s.textTemplate,
        repeatIntervalMs:
          s.repeatInterval ??
          (s.kind === 'alertmanager' ? alerts.alertmanagerResendInterval : alerts.repeatInterval),
      };
    }),
  );
}

const severityRank = (s: Finding['severity']): number => SEVERITIES.indexOf(s);
const riskRank = (r: NonNullable<HealthReport['risk']>): number => RISKS.indexOf(r);

/** The sink names a finding of this job goes to. No routes: every sink. */
export function routeFinding(
  routes: readonly Route[],
  allSinks: readonly string[],
  f: Finding,
  report: HealthReport,
): string[] {
  if (routes.length === 0) return [...allSinks];
  const out = new Set<string>();
  for (const r of routes) {
    const matches =
      severityRank(f.severity) <= severityRank(r.minSeverity) &&
      (r.minRisk === undefined || (report.risk !== null && riskRank(report.risk) <= riskRank(r.minRisk))) &&
      (r.categories === undefined || r.categories.includes(f.category)) &&
      (r.owners === undefined || r.owners.includes(report.labels.owner ?? '')) &&
      Object.entries(r.labels).every(([k, v]) => report.labels[k] === v);
    if (!matches) continue;
    for (const s of r.sinks) out.add(s);
    if (!r.continue) break;
  }
  return [...out];
}

/** Planned actions that need a person (approval) or went wrong (failed), as findings to alert on. */
export function actionFindings(report: HealthReport): Finding[] {
  const out: Finding[] = [];
  for (const a of report.actions) {
    const waiting = a.status === 'planned' && a.mode === 'approve';
    if (!waiting && a.status !== 'failed') continue;
    const rule = waiting ? 'action-approval-needed' : 'action-failed';
    const target = Object.entries(a.target)
      .map(([v, p]) => `${v}=${p}`)
      .join(', ');
    out.push({
      fingerprint: `${report.id}|${rule}|action|${a.id}`,
      rule,
      ruleVersion: 1,
      category: 'scaling',
      severity: waiting ? 'medium' : 'high',
      diagnosis: false,
      subject: { kind: 'job', id: report.id, name: report.name },
      title: waiting ? `Rescale waiting for approval: ${a.reason}` : `Rescale failed: ${a.reason}`,
      evidence: {},
      action: {
        kind: 'advice',
        text: waiting
          ? `Approve or reject action ${a.id} (target ${target}) in the dashboard or with POST /api/v1/actions/${a.id}/approve.`
          : `Look at the journal of ${report.id} for action ${a.id}; the job was not rescaled.`,
      },
      state: 'firing',
      firstSeen: a.createdAt,
      lastSeen: report.updatedAt,
    });
  }
  return out;
}

function eventOf(f: Finding, report: HealthReport, status: AlertEvent['status'], now: number): AlertEvent {
  return {
    status,
    fingerprint: f.fingerprint,
    jobKey: report.id,
    cluster: report.cluster,
    ...(report.namespace === undefined ? {} : { namespace: report.namespace }),
    job: report.name,
    rule: f.rule,
    category: f.category,
    severity: f.severity,
    subject: {
      kind: f.subject.kind,
      id: f.subject.id,
      ...(f.subject.name === undefined ? {} : { name: f.subject.name }),
    },
    title: f.title,
    action: f.action.text,
    score: report.score,
    risk: report.risk,
    labels: report.labels,
    startsAt: f.firstSeen,
    ...(status === 'resolved' ? { endsAt: now } : {}),
  };
}

/** The dedup record after `event` was sent to the `due` sinks of the `sinks` it routes to. */
function sentRecord(
  prev: AlertState | undefined,
  sinks: readonly string[],
  due: readonly string[],
  f: Finding,
  event: AlertEvent,
  now: number,
): AlertState {
  return {
    sinks: [...new Set([...(prev?.sinks ?? []), ...sinks])],
    startsAt: prev?.startsAt ?? f.firstSeen,
    sentAt: { ...prev?.sentAt, ...Object.fromEntries(due.map(s => [s, now])) },
    event,
  };
}

export interface AlertPipelineOptions {
  alerts: Alerts;
  sinks: readonly SinkSettings[];
  store: Store;
  log: Logger;
  now: () => number;
  events?: DeliveryEvents;
}

/** Alerts waiting for their group's `groupWait` to pass; the latest status of a fingerprint wins. */
interface PendingGroup {
  sink: string;
  alerts: Map<string, AlertEvent>;
  timer: NodeJS.Timeout;
}

/** How often a job cycle whose dedup record another replica holds is retried before giving up. */
const JOB_LOCK_ATTEMPTS = 5;
const JOB_LOCK_RETRY_MS = 200;

export class AlertPipeline {
  private readonly queues = new Map<string, SinkQueue>();
  private readonly settings = new Map<string, { repeatMs: number; groupBy: GroupBy; groupWaitMs: number }>();
  private readonly groups = new Map<string, PendingGroup>();
  /** Latest report per job not yet processed: a newer report replaces an older one. */
  private readonly pending = new Map<string, HealthReport>();
  private processing: Promise<void> | undefined;
  private silences: { at: number; list: Silence[] } | undefined;

  constructor(private readonly opts: AlertPipelineOptions) {
    for (const s of opts.sinks) {
      const config = opts.alerts.sinks.find(c => c.name === s.name);
      this.settings.set(s.name, {
        repeatMs: s.repeatIntervalMs,
        groupBy: config?.groupBy ?? 'job',
        groupWaitMs: config?.groupWait ?? 0,
      });
      this.queues.set(
        s.name,
        new SinkQueue(
          s,
          {
            timeoutMs: config?.timeout ?? 10_000,
            retries: opts.alerts.retries,
            backoffMs: opts.alerts.retryBackoff,
            capacity: opts.alerts.queueCapacity,
            deadLetterTtlMs: opts.alerts.deadLetterTtl,
          },
          opts.store,
          opts.log,
          opts.now,
          opts.events,
        ),
      );
    }
  }

  /** Takes a cycle's report; returns at once (processing and delivery are asynchronous). */
  onReport(report: HealthReport): void {
    if (this.queues.size === 0) return;
    this.pending.set(report.id, report);
    this.processing ??= this.drain().finally(() => (this.processing = undefined));
  }

  /**
   * Resolves once every report taken so far was processed, its groups sent (after their
   * `groupWait`) and its notifications delivered or dead-lettered.
   */
  async idle(): Promise<void> {
    while (this.processing !== undefined || this.groups.size > 0)
      await (this.processing ?? sleep(JOB_LOCK_RETRY_MS / 4));
    await Promise.all([...this.queues.values()].map(q => q.idle()));
  }

  /**
   * A cluster's circuit breaker opened (too many failed or harmful rescales): an event, sent at
   * once to the sinks a high scaling finding of that cluster routes to, not deduplicated (the
   * breaker opens once per period).
   */
  circuitOpen(e: CircuitOpenEvent): void {
    const fingerprint = `*|circuit-breaker-open|cluster|${e.cluster}`;
    const finding: Finding = {
      fingerprint,
      rule: 'circuit-breaker-open',
      ruleVersion: 1,
      category: 'scaling',
      severity: 'high',
      diagnosis: false,
      subject: { kind: 'cluster', id: e.cluster, name: e.cluster },
      title: `Rescaling stopped on cluster ${e.cluster}: ${e.reason}`,
      evidence: {},
      action: {
        kind: 'advice',
        text: `Every job of ${e.cluster} is in approve mode until ${new Date(e.until).toISOString()}; read the journal of its last actions before approving more.`,
      },
      state: 'firing',
      firstSeen: e.since,
      lastSeen: e.since,
    };
    const scope: HealthReport = {
      schemaVersion: 1,
      id: `cluster:${e.cluster}`,
      cluster: e.cluster,
      name: e.cluster,
      flinkJobId: '',
      state: 'RUNNING',
      dataState: 'ok',
      observedAt: e.since,
      score: null,
      risk: null,
      scoreBreakdown: [],
      firstAction: null,
      findings: [finding],
      actions: [],
      mode: 'approve',
      labels: {},
      rulesVersion: '',
      updatedAt: e.since,
    };
    const event = eventOf(finding, scope, 'firing', this.opts.now());
    for (const sink of routeFinding(this.opts.alerts.routes, [...this.queues.keys()], finding, scope))
      this.emit(sink, [event]);
  }

  queueDepth(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.depth;
    for (const g of this.groups.values()) n += g.alerts.size;
    return n;
  }

  /** Stops: processes what was taken, sends waiting groups now, and drains the sink queues. */
  async close(graceMs = 5000): Promise<void> {
    while (this.processing) await this.processing;
    for (const key of [...this.groups.keys()]) this.flush(key);
    await Promise.all([...this.queues.values()].map(q => q.close(graceMs)));
  }

  /** Hands a job's or a cluster's alerts for one sink to its group (or straight to the sink). */
  private emit(sink: string, events: readonly AlertEvent[]): void {
    const settings = this.settings.get(sink);
    if (settings === undefined) return;
    const byGroup = new Map<string, AlertEvent[]>();
    for (const e of events) {
      const key =
        settings.groupBy === 'alert'
          ? `${sink}|${e.fingerprint}`
          : settings.groupBy === 'cluster'
            ? `${sink}|cluster:${e.cluster}`
            : `${sink}|${e.jobKey}`;
      byGroup.set(key, [...(byGroup.get(key) ?? []), e]);
    }
    for (const [key, list] of byGroup) {
      if (settings.groupWaitMs <= 0) {
        this.queues.get(sink)?.enqueue({ id: randomUUID(), groupKey: key, alerts: list });
        continue;
      }
      let group = this.groups.get(key);
      if (group === undefined) {
        const timer = setTimeout(() => this.flush(key), settings.groupWaitMs);
        timer.unref();
        group = { sink, alerts: new Map(), timer };
        this.groups.set(key, group);
      }
      for (const e of list) group.alerts.set(e.fingerprint, e);
    }
  }

  private flush(key: string): void {
    const group = this.groups.get(key);
    if (group === undefined) return;
    this.groups.delete(key);
    clearTimeout(group.timer);
    this.queues
      .get(group.sink)
      ?.enqueue({ id: randomUUID(), groupKey: key, alerts: [...group.alerts.values()] });
  }

  private async drain(): Promise<void> {
    for (const [jobKey, report] of this.pending) {
      this.pending.delete(jobKey);
      try {
        await this.processWithRetry(report);
      } catch (err) {
        this.opts.log.error({ jobKey, err }, 'alert processing failed');
      }
    }
  }

  /**
   * Another replica may be processing an earlier cycle of the same job: its lock is waited for
   * a little; a newer report of the job taken meanwhile supersedes this one. Beyond the attempts
   * the report is dropped (the next cycle compares against the stored record, so nothing stays
   * unsent or unresolved for longer than a tick).
   */
  private async processWithRetry(report: HealthReport): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.process(report);
        return;
      } catch (err) {
        if (!(err instanceof LockBusyError)) throw err;
        if (this.pending.has(report.id)) return;
        if (attempt >= JOB_LOCK_ATTEMPTS) {
          this.opts.log.warn({ jobKey: report.id, lock: err.lock }, 'alert record busy; report skipped');
          return;
        }
        await sleep(JOB_LOCK_RETRY_MS * attempt);
      }
    }
  }

  private async activeSilences(now: number): Promise<Silence[]> {
    if (this.silences === undefined || now - this.silences.at > 5000 || now < this.silences.at)
      this.silences = { at: now, list: await listSilences(this.opts.store, now) };
    return this.silences.list;
  }

  /** Of the sinks a firing alert routes to, those due to get it now (never sent, or a repeat interval ago). */
  private due(sinks: readonly string[], sentAt: SentAt | undefined, now: number): string[] {
    return sinks.filter(s => {
      const last = sentAt?.[s];
      return (
        last === undefined ||
        now - last >= (this.settings.get(s)?.repeatMs ?? this.opts.alerts.repeatInterval)
      );
    });
  }

  private async process(report: HealthReport): Promise<void> {
    if (report.dataState === 'stale') return;
    const now = this.opts.now();
    const { store, alerts } = this.opts;
    const findings = [...report.findings, ...actionFindings(report)];
    const muted = inhibited(findings);
    const silences = await this.activeSilences(now);
    const job = {
      jobKey: report.id,
      cluster: report.cluster,
      labels: report.labels,
      ...(report.namespace === undefined ? {} : { namespace: report.namespace }),
    };
    const allSinks = [...this.queues.keys()];
    const outgoing = new Map<string, AlertEvent[]>();
    const send = (sinks: readonly string[], e: AlertEvent): void => {
      for (const s of sinks) outgoing.set(s, [...(outgoing.get(s) ?? []), e]);
    };
    const quiet = (f: Finding): boolean =>
      muted.has(f.fingerprint) || silencedBy(f, job, silences, now) !== undefined;

    // Job-owned fingerprints: one record per job, read and written once per cycle under its lock.
    const key = `job:${report.id}`;
    await store.withLock(`alert:${key}`, 30_000, async () => {
      const parsed = JobAlertsSchema.safeParse(await store.getRecord('alert', key, now));
      const before: JobAlerts = parsed.success ? parsed.data : {};
      const after: JobAlerts = { ...before };
      const byFp = new Map(findings.map(f => [f.fingerprint, f]));
      for (const f of findings) {
        if (SHARED_SCOPES.has(f.subject.kind) || f.state !== 'firing' || quiet(f)) continue;
        const sinks = routeFinding(alerts.routes, allSinks, f, report);
        const prev = before[f.fingerprint];
        const due = this.due(sinks, prev?.sentAt, now);
        if (due.length === 0) continue;
        const event = eventOf(f, report, 'firing', now);
        send(due, event);
        after[f.fingerprint] = sentRecord(prev, sinks, due, f, event, now);
      }
      for (const [fp, state] of Object.entries(before)) {
        const f = byFp.get(fp);
        if (f?.state === 'firing' || f?.state === 'unknown') continue;
        // Resolved, or gone while the job is observed (the vertex left, the action was decided).
        send(state.sinks, { ...state.event, status: 'resolved', endsAt: now });
        delete after[fp];
      }
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        if (Object.keys(after).length === 0) await store.deleteRecord('alert', key);
        else await store.putRecord('alert', key, after);
      }
    });

    // Shared fingerprints: alerted once across every job (and replica) they are attached to.
    for (const f of findings) {
      if (!SHARED_SCOPES.has(f.subject.kind) || f.state === 'unknown') continue;
      if (f.state === 'firing' && quiet(f)) continue;
      await this.shared(f, report, now, send);
    }

    for (const [sink, events] of outgoing) this.emit(sink, events);
  }

  private async shared(
    f: Finding,
    report: HealthReport,
    now: number,
    send: (sinks: readonly string[], e: AlertEvent) => void,
  ): Promise<void> {
    const { store, alerts } = this.opts;
    const key = `shared:${f.fingerprint}`;
    try {
      await store.withLock(`alert:${f.fingerprint}`, 30_000, async () => {
        const parsed = AlertStateSchema.safeParse(await store.getRecord('alert', key, now));
        const prev: AlertState | undefined = parsed.success ? parsed.data : undefined;
        if (f.state === 'resolved') {
          if (prev === undefined) return;
          send(prev.sinks, { ...prev.event, status: 'resolved', endsAt: now });
          await store.deleteRecord('alert', key);
          return;
        }
        const sinks = routeFinding(alerts.routes, [...this.queues.keys()], f, report);
        const due = this.due(sinks, prev?.sentAt, now);
        if (due.length === 0) return;
        const event = eventOf(f, report, 'firing', now);
        send(due, event);
        await store.putRecord('alert', key, sentRecord(prev, sinks, due, f, event, now));
      });
    } catch (err) {
      // Another job's cycle (maybe on another replica) is deciding this fingerprint right now.
      if (!(err instanceof LockBusyError)) throw err;
    }
  }
}
