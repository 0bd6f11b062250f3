import { z } from 'zod';
import { tryParseDuration } from '../domain/duration.js';
import { alertsSection } from './alerts-schema.js';
import { calendarSection } from './calendar-schema.js';
import { logsSection } from './logs-schema.js';
import { freezesSection, policiesSection, policyDefaultsSection, railsSection } from './safety-schema.js';

/**
 * The whole configuration: one schema for the file (YAML or JSON), the environment and the CLI
 * flags. Every default is written here, next to its description; `autopilot config docs` and the
 * README's configuration reference are generated from it.
 *
 * Durations are `"30s"`, `"5m"`, `"1h"`, … or a number of milliseconds. A duration left at its
 * default is multiplied by `time.scale` (rehearsals and compressed tests); an explicit value is
 * taken as written.
 */

/** A parsed duration that remembers whether the user wrote it. */
export interface DurationSetting {
  ms: number;
  explicit: boolean;
}

const DurationText = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = tryParseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `not a duration: ${JSON.stringify(v)} (use e.g. "30s", "5m", "1h" or milliseconds)`,
    });
    return z.NEVER;
  }
  return ms;
});

function duration(defaultText: string, description: string) {
  const def = tryParseDuration(defaultText);
  if (def === undefined) throw new Error(`bad default duration ${defaultText}`);
  return DurationText.transform((ms): DurationSetting => ({ ms, explicit: true }))
    .default({ ms: def, explicit: false })
    .describe(`${description} Default: ${defaultText} (× time.scale).`);
}

export const MODES = ['dry-run', 'approve', 'auto'] as const;

/** API roles: viewer reads, editor approves and pauses jobs or clusters, admin also the fleet. */
export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * One configured token. The secret is never written in the config itself: give its SHA-256
 * (`sha256`, hex), a file holding it (`file`) or an environment variable (`env`).
 */
export const TokenSpecSchema = z
  .strictObject({
    name: z.string().min(1).describe('Who holds the token (shown in logs and the journal, never the token).'),
    role: z
      .enum(ROLES)
      .describe(
        'viewer reads; editor approves/rejects actions and pauses jobs or clusters; admin also pauses the fleet.',
      ),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a SHA-256 hex digest (64 hex characters)')
      .optional()
      .describe('SHA-256 of the token, hex: `printf %s "$TOKEN" | sha256sum`.'),
    file: z.string().min(1).optional().describe('A file holding the token (a mounted secret).'),
    env: z.string().min(1).optional().describe('An environment variable holding the token.'),
  })
  .refine(s => [s.sha256, s.file, s.env].filter(v => v !== undefined).length === 1, {
    message: 'give exactly one of sha256, file, env',
  });
export type TokenSpec = z.infer<typeof TokenSpecSchema>;

const LabelMap = z.record(z.string(), z.string());

const FlinkCluster = z.strictObject({
  label: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
    .describe('Cluster label: part of every jobKey (rest:<label>/<job name>).'),
  url: z.url().describe('JobManager REST base URL, e.g. http://flink-jm:8081.'),
  labels: LabelMap.default({}).describe(
    'Labels added to every job of this cluster (policy selectors, routing).',
  ),
  timeout: duration('5s', 'Per-request timeout.'),
  retries: z
    .int()
    .min(0)
    .max(5)
    .default(2)
    .describe('Retries of a failed GET (with exponential backoff). Writes are never retried blindly.'),
  maxConcurrentRequests: z
    .int()
    .min(1)
    .max(256)
    .default(8)
    .describe(
      'Most REST requests in flight at once against this JobManager (its REST threads also serve the UI).',
    ),
});

/** Annotation a FlinkDeployment / FlinkSessionJob carries to be watched (and rescaled) by the daemon. */
export const DEFAULT_OPT_IN_ANNOTATION = 'autopilot.flink.apache.org/watch';

const KubernetesSection = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe('Discover FlinkDeployments and FlinkSessionJobs (list + watch) and rescale them by patch.'),
    kubeconfig: z
      .string()
      .min(1)
      .optional()
      .describe('Kubeconfig file; unset = $KUBECONFIG, ~/.kube/config, then in-cluster (see inCluster).'),
    inCluster: z
      .boolean()
      .default(false)
      .describe("Use the pod's service account (token and CA under /var/run/secrets/kubernetes.io)."),
    context: z.string().min(1).optional().describe('Kubeconfig context to use; unset = the current one.'),
    cluster: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
      .default('kubernetes')
      .describe('Cluster label of every job found here (policies, rails and circuit breaker group by it).'),
    namespaces: z
      .array(z.string().min(1))
      .default([])
      .describe('Namespaces watched; empty = every namespace (needs cluster-wide list/watch).'),
    labelSelector: z
      .string()
      .optional()
      .describe('Kubernetes label selector the resources must match, e.g. "team=payments,tier!=dev".'),
    requireOptIn: z
      .boolean()
      .default(true)
      .describe('Only resources annotated `<optInAnnotation>: "true"` are watched.'),
    optInAnnotation: z
      .string()
      .min(1)
      .default(DEFAULT_OPT_IN_ANNOTATION)
      .describe('The opt-in annotation; the patch backend also refuses to write resources without it.'),
    sessionJobs: z.boolean().default(true).describe('Also watch FlinkSessionJobs.'),
    restUrlTemplate: z
      .string()
      .min(1)
      .default('http://{name}-rest.{namespace}:8081')
      .describe(
        "JobManager REST URL of a job: {name} = the FlinkDeployment (for a session job, its spec.deploymentName), {namespace}. The default is the operator's REST service. The annotation autopilot.flink.apache.org/rest-url overrides it per resource.",
      ),
    allowGitOpsDrift: z
      .boolean()
      .default(false)
      .describe(
        'Patch resources managed by Argo CD / Flux / Helm too (configure ignoreDifferences for the overrides key).',
      ),
    timeout: duration('10s', 'Per-request timeout of list, get and patch (watches are long-lived).'),
    watchTimeout: duration(
      '5m',
      'Server-side timeout of one watch; a watch silent for this plus 30 s is restarted (watchdog).',
    ),
    backoff: duration('1s', 'First retry delay after a failed list/watch; doubles per failure.'),
    maxBackoff: duration('2m', 'Longest retry delay after repeated list/watch failures.'),
    restTimeout: duration('5s', "Per-request timeout against the jobs' JobManager REST endpoints."),
    maxConcurrentRequests: z
      .int()
      .min(1)
      .max(256)
      .default(8)
      .describe('Most REST requests in flight at once against one JobManager.'),
  })
  .prefault({});

export const ConfigSchema = z.strictObject({
  time: z
    .strictObject({
      scale: z
        .number()
        .positive()
        .max(1000)
        .default(1)
        .describe('Multiplies every default duration at once (0.01 = 100× faster rehearsal).'),
    })
    .prefault({}),
  mode: z
    .enum(MODES)
    .default('dry-run')
    .describe('Default mode of every watched job; per-job policy and annotations override it.'),
  agent: z
    .strictObject({
      interval: duration('10s', 'Tick: how often each job is diagnosed.'),
      jitter: z
        .number()
        .min(0)
        .max(0.5)
        .default(0.1)
        .describe('Random spread of each tick, as a share of the interval.'),
      staleAfterTicks: z
        .int()
        .min(1)
        .default(3)
        .describe('Data older than this many ticks makes a job unobservable (score null).'),
      concurrency: z
        .int()
        .min(1)
        .max(10_000)
        .default(32)
        .describe('Cycles run at the same time in this process.'),
      discoveryInterval: duration('30s', 'How often the job inventory is refreshed from every source.'),
    })
    .prefault({}),
  windows: z
    .strictObject({
      short: duration('5m', 'The short fact window (facts ending in …Short).'),
      medium: duration('15m', 'The medium fact window (…Medium).'),
      long: duration('1h', 'The long fact window (…Long).'),
      day: duration('24h', 'The day fact window (…Day).'),
    })
    .prefault({}),
  scoring: z
    .strictObject({
      window: duration('30m', 'Health score window: findings that fired in it count once.'),
      historyPoints: z.int().min(1).max(10_000).default(288).describe('Score history points kept per job.'),
    })
    .prefault({}),
  rules: z
    .strictObject({
      dir: z
        .string()
        .optional()
        .describe('Rule library directory; unset = the rules/ shipped with the package.'),
      disabled: z.array(z.string()).default([]).describe('Rule ids not evaluated for any job.'),
      params: z
        .record(z.string(), z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])))
        .default({})
        .describe('Rule param overrides for every job: { ruleId: { param: value } }.'),
    })
    .prefault({}),
  flink: z
    .strictObject({
      clusters: z
        .array(FlinkCluster)
        .default([])
        .describe('Flink REST clusters whose jobs are discovered and watched.'),
    })
    .prefault({}),
  kubernetes: KubernetesSection,
  prometheus: z
    .strictObject({
      url: z
        .url()
        .optional()
        .describe(
          'Prometheus HTTP API base URL. When set, job metrics are collected in bulk: one PromQL query per metric family per cluster and tick, and Flink REST per job only for what Prometheus lacks.',
        ),
      timeout: duration('10s', 'Per-query timeout of Prometheus queries.'),
      restInterval: duration(
        '5m',
        'With Prometheus: how often each job re-reads what only REST has (job graph, checkpoint details, exceptions), unless a symptom (more restarts or failed checkpoints, a state or graph change) asks for it sooner.',
      ),
      nodeExporterUrl: z
        .url()
        .optional()
        .describe('Where node-exporter metrics are read (a Prometheus or a node-exporter /metrics).'),
    })
    .prefault({}),
  redis: z
    .strictObject({
      url: z
        .string()
        .optional()
        .describe('Redis URL. Set it to run distributed (BullMQ, state in Redis); unset = standalone.'),
      prefix: z.string().default('autopilot').describe('Key prefix for queues and state.'),
    })
    .prefault({}),
  state: z
    .strictObject({
      dir: z
        .string()
        .default('.autopilot-state')
        .describe('Standalone durable state directory (journal, pauses, cooldowns, findings).'),
    })
    .prefault({}),
  actions: z
    .strictObject({
      cooldown: duration('5m', 'No second rescale of a job within this time after one.'),
      stabilization: duration('1m', 'Time after a restart before metrics are trusted again.'),
      scaleDownDelay: duration('1h', 'Scale-down needs the lower target to hold this long.'),
      approvalTtl: duration('15m', 'A planned action waiting for approval expires after this.'),
      ineffectiveBlock: duration(
        '6h',
        'A vertex whose scale-up did not raise its processing rate (verified after the restart) is not scaled up past that parallelism for this long.',
      ),
    })
    .prefault({}),
  autoscaler: z
    .strictObject({
      targetUtilization: z.number().gt(0).lt(1).default(0.7).describe('Busy ratio each vertex is sized for.'),
      catchUp: duration(
        '5m',
        'A backlog should be worked off within this time (target rate = input + backlog / catchUp).',
      ),
      restartTime: duration(
        '1m',
        'Restart downtime of a rescale assumed until one was measured for the job (sizing and calendar lead).',
      ),
      calendarMargin: duration(
        '5m',
        'Calendar `lead: auto` = the job’s measured restart time + this (TaskManager provisioning).',
      ),
      calendarStagger: duration(
        '10m',
        'Pre-scales of different jobs for one window spread over this much time before their lead.',
      ),
      calendarRelease: duration('30m', 'How long a calendar floor holds after its window ends, by default.'),
      forecast: z
        .strictObject({
          enabled: z
            .boolean()
            .default(true)
            .describe(
              'Size scale-ups for the input rate forecast at now + restart time + margin (trend, same time yesterday / last week); never scales down on a forecast alone.',
            ),
          resolution: duration(
            '1m',
            'One slot of the per-job input-rate history (ring buffer in the state store).',
          ),
          retention: duration(
            '8d',
            'How far back the input-rate history reaches (longer than the longest season).',
          ),
          trendWindow: duration(
            '15m',
            'Recent window of the trend fit and of the check that a season still explains the load.',
          ),
          margin: duration(
            '5m',
            'Forecast lookahead beyond the job’s restart time: the capacity must last until the next rescale may run.',
          ),
          horizon: duration('15m', 'Longest forecast lookahead.'),
          daily: duration('24h', 'The daily season ("same time yesterday").'),
          weekly: duration('7d', 'The weekly season ("same time last week").'),
          minTrendConsistency: z
            .number()
            .min(0)
            .max(1)
            .default(0.6)
            .describe(
              'Kendall’s τ the recent slots need for a rising trend to count (1 = every pair rises): one spike is not a trend.',
            ),
          maxSeasonalError: z
            .number()
            .min(0)
            .max(1)
            .default(0.1)
            .describe(
              'Median relative error the seasonal profile may have over the trend window to be used; calendar windows are left out of it.',
            ),
        })
        .prefault({})
        .describe('Short-horizon forecast of each job’s input rate.'),
    })
    .prefault({}),
  calendar: calendarSection(),
  policies: policiesSection(),
  policyDefaults: policyDefaultsSection(duration),
  freezes: freezesSection(),
  rails: railsSection(duration),
  alerts: alertsSection(duration),
  logs: logsSection(),
  api: z
    .strictObject({
      host: z
        .string()
        .default('127.0.0.1')
        .describe('API listen address. Off loopback, tokens are required.'),
      port: z.int().min(0).max(65_535).default(8080).describe('API port (0 = any free port).'),
      tokens: z
        .array(TokenSpecSchema)
        .default([])
        .describe(
          'Bearer tokens with roles. None = anonymous reads, allowed on loopback only; writes always need a token.',
        ),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z
        .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info')
        .describe('pino log level.'),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type ParsedConfig = z.output<typeof ConfigSchema>;

/** ParsedConfig with every DurationSetting resolved to milliseconds. */
export type Compiled<T> = T extends DurationSetting
  ? number
  : T extends readonly (infer U)[]
    ? Compiled<U>[]
    : T extends object
      ? { [K in keyof T]: Compiled<T[K]> }
      : T;

export type Config = Compiled<ParsedConfig>;
