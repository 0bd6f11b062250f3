import { Writable } from 'node:stream';
import type {
  Category,
  Finding,
  HealthReport,
  JournalEntry,
  PlannedAction,
  PlannedActionStatus,
  Risk,
  Severity,
} from '../../../src/domain/index.js';
import { VirtualClock } from '../../../src/domain/index.js';
import {
  ControlError,
  type ActionControl,
  type PauseControl,
  type PauseScope,
} from '../../../src/api/controls.js';
import type { ReportProvider, RuleInfo } from '../../../src/api/provider.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { createLogger, type Logger } from '../../../src/telemetry/logger.js';

export const T0 = Date.UTC(2026, 10, 11, 12, 0, 0);

export function finding(
  jobKey: string,
  rule: string,
  category: Category,
  severity: Severity,
  state: Finding['state'] = 'firing',
): Finding {
  const subject = { kind: 'vertex' as const, id: `v-${rule}`, name: `Vertex ${rule}` };
  return {
    fingerprint: `${jobKey}|${rule}|vertex|${subject.id}`,
    rule,
    ruleVersion: 1,
    category,
    severity,
    diagnosis: false,
    subject,
    title: `${rule} on ${subject.name}`,
    evidence: { 'vertex.busyRatio.max': 0.97, 'vertex.isBottleneck': true },
    action: { kind: 'advice', text: `Do something about ${rule}.` },
    state,
    firstSeen: T0 - 60_000,
    lastSeen: T0,
  };
}

export function plannedRescale(jobKey: string): PlannedAction {
  return {
    id: 'act-0001',
    kind: 'rescale',
    jobKey,
    incarnation: 'f-payments',
    basis: { parallelism: { source: 2, sink: 2 }, observedAt: T0 },
    target: { source: 4, sink: 2 },
    reason: 'source is the bottleneck: busy 97%',
    findings: [],
    mode: 'approve',
    createdAt: T0,
    expiresAt: T0 + 900_000,
    status: 'planned',
  };
}

export interface JobSpec {
  name: string;
  cluster?: string;
  namespace?: string;
  score: number | null;
  risk: Risk | null;
  labels?: Record<string, string>;
  findings?: Finding[];
  mode?: HealthReport['mode'];
  actions?: HealthReport['actions'];
}

export function report(spec: JobSpec): HealthReport {
  const cluster = spec.cluster ?? 'prod';
  const id = `rest:${cluster}/${spec.name}`;
  const findings = spec.findings ?? [];
  const firing = findings.find(f => f.state === 'firing');
  return {
    schemaVersion: 1,
    id,
    cluster,
    ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
    name: spec.name,
    flinkJobId: `f-${spec.name}`,
    state: 'RUNNING',
    dataState: spec.risk === null ? 'stale' : 'ok',
    observedAt: spec.risk === null ? T0 - 3_600_000 : T0,
    score: spec.score,
    risk: spec.risk,
    scoreBreakdown: [],
    firstAction: firing
      ? {
          ...firing.action,
          fingerprint: firing.fingerprint,
          rule: firing.rule,
          severity: firing.severity,
          subject: firing.subject,
        }
      : null,
    findings,
    actions: spec.actions ?? [],
    mode: spec.mode ?? 'dry-run',
    labels: spec.labels ?? {},
    rulesVersion: 'abc123',
    updatedAt: T0,
  };
}

/** Seven jobs covering every risk, two clusters, namespaces, labels and categories. */
export function fleet(): HealthReport[] {
  const k = (c: string, n: string): string => `rest:${c}/${n}`;
  return [
    report({ name: 'orders', score: 95, risk: 'low', labels: { team: 'shop' } }),
    report({
      name: 'payments',
      score: 46,
      risk: 'high',
      namespace: 'pay',
      labels: { team: 'pay' },
      mode: 'approve',
      actions: [plannedRescale('rest:prod/payments')],
      findings: [
        finding(k('prod', 'payments'), 'checkpoint-failing', 'checkpoint', 'high'),
        finding(k('prod', 'payments'), 'backpressure', 'backpressure', 'medium'),
      ],
    }),
    report({
      name: 'clicks',
      cluster: 'edge',
      score: 72,
      risk: 'medium',
      labels: { team: 'shop' },
      findings: [finding(k('edge', 'clicks'), 'consumer-lag', 'lag', 'medium')],
    }),
    report({ name: 'ghost', score: null, risk: null, mode: 'paused' }),
    report({
      name: 'fraud',
      score: 58,
      risk: 'high',
      namespace: 'pay',
      findings: [finding(k('prod', 'fraud'), 'gc-pressure', 'gc', 'high', 'resolved')],
    }),
    report({ name: 'search', cluster: 'edge', score: 100, risk: 'low' }),
    report({ name: 'stock', score: 80, risk: 'medium' }),
  ];
}

/** Worst first: high (46, 58), medium (72, 80), low (95, 100), unobservable. */
export const WORST_FIRST = [
  'rest:prod/payments',
  'rest:prod/fraud',
  'rest:edge/clicks',
  'rest:prod/stock',
  'rest:prod/orders',
  'rest:edge/search',
  'rest:prod/ghost',
];

export class FakeProvider implements ReportProvider {
  ready = true;
  constructor(public items: HealthReport[] = fleet()) {}
  reports(): readonly HealthReport[] {
    return this.items;
  }
  report(jobKey: string): HealthReport | undefined {
    return this.items.find(r => r.id === jobKey);
  }
  clusterFindings(): readonly Finding[] {
    return [];
  }
  isReady(): boolean {
    return this.ready;
  }
}

export const RULES: RuleInfo[] = [
  {
    id: 'checkpoint-failing',
    version: 2,
    title: 'Checkpoints fail',
    severity: 'high',
    category: 'checkpoint',
    scope: 'job',
  },
  {
    id: 'consumer-lag',
    version: 1,
    title: 'Consumer lag grows',
    severity: 'medium',
    category: 'lag',
    scope: 'source',
  },
];

export async function seededStore(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.putJob({
    jobKey: 'rest:prod/payments',
    incarnation: 'f-payments',
    findings: {},
    scoreHistory: [
      { at: T0 - 40_000, score: 90 },
      { at: T0 - 30_000, score: 85 },
      { at: T0 - 20_000, score: null },
      { at: T0 - 10_000, score: 60 },
      { at: T0, score: 46 },
    ],
  });
  const entries: JournalEntry[] = [
    { actionId: 'a1', jobKey: 'rest:prod/payments', at: T0 - 5_000, status: 'planned' },
    { actionId: 'a1', jobKey: 'rest:prod/payments', at: T0 - 4_000, status: 'executed', detail: 'p 2→4' },
    { actionId: 'b1', jobKey: 'rest:edge/clicks', at: T0 - 3_000, status: 'planned' },
  ];
  for (const e of entries) await store.appendJournal(e);
  return store;
}

export function clock(): VirtualClock {
  return new VirtualClock(T0);
}

/** A logger writing into a string, to check what reaches the logs. */
export function capturedLogger(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write: (c: Buffer, _e, cb) => {
      chunks.push(c.toString());
      cb();
    },
  });
  return { log: createLogger({ destination: stream, level: 'debug' }), text: () => chunks.join('') };
}

/** Records every call; action `missing` is unknown, `done` is no longer waiting. */
export class FakeControls implements ActionControl, PauseControl {
  calls: string[] = [];
  approve(actionId: string, by: string): Promise<{ status: PlannedActionStatus }> {
    return this.decide('approve', actionId, by, 'approved');
  }
  reject(actionId: string, by: string): Promise<{ status: PlannedActionStatus }> {
    return this.decide('reject', actionId, by, 'skipped');
  }
  pause(scope: PauseScope, by: string): Promise<void> {
    this.calls.push(`pause ${JSON.stringify(scope)} by ${by}`);
    return Promise.resolve();
  }
  resume(scope: PauseScope, by: string): Promise<void> {
    this.calls.push(`resume ${JSON.stringify(scope)} by ${by}`);
    return Promise.resolve();
  }
  private decide(
    verdict: string,
    id: string,
    by: string,
    status: PlannedActionStatus,
  ): Promise<{ status: PlannedActionStatus }> {
    if (id === 'missing') return Promise.reject(new ControlError('not_found', `no action ${id}`));
    if (id === 'done')
      return Promise.reject(new ControlError('conflict', `action ${id} is not waiting for approval`));
    this.calls.push(`${verdict} ${id} by ${by}`);
    return Promise.resolve({ status });
  }
}
