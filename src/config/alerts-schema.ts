import { z } from 'zod';
import { CATEGORIES, RISKS, SEVERITIES } from '../domain/index.js';
import { explicitDuration } from './safety-schema.js';

/**
 * The `alerts` config section: sinks (where alerts go), routes (which findings go where) and
 * the dedup / retry settings. Built by a function receiving schema.ts's `duration()` helper so
 * that defaults scale with `time.scale` (see safety-schema.ts for the pattern).
 */

type DurationHelper<D extends z.ZodDefault> = (defaultText: string, description: string) => D;

export const SINK_KINDS = ['webhook', 'slack', 'dingtalk', 'feishu', 'alertmanager'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

/** What one notification of a sink bundles: one job's alerts, one cluster's, or each alert alone. */
export const GROUP_BY = ['job', 'cluster', 'alert'] as const;

/** Placeholders a message template may use. */
export const TEMPLATE_FIELDS = [
  'status',
  'severity',
  'category',
  'job',
  'cluster',
  'title',
  'action',
  'subject',
  'rule',
  'score',
  'risk',
] as const;

const template = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    for (const m of text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)) {
      const name = m[1] ?? '';
      if (!(TEMPLATE_FIELDS as readonly string[]).includes(name))
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder {{${name}}}; use one of ${TEMPLATE_FIELDS.join(', ')}`,
        });
    }
  });

/** A secret value: written inline (`value`), read from a file (`file`) or an environment variable (`env`). */
export const SecretRefSchema = z
  .strictObject({
    value: z.string().min(1).optional().describe('The value itself (avoid: prefer file or env).'),
    file: z.string().min(1).optional().describe('A file holding it (a mounted secret).'),
    env: z.string().min(1).optional().describe('An environment variable holding it.'),
  })
  .refine(s => [s.value, s.file, s.env].filter(v => v !== undefined).length === 1, {
    message: 'give exactly one of value, file, env',
  });
export type SecretRef = z.output<typeof SecretRefSchema>;

export function alertsSection<D extends z.ZodDefault>(duration: DurationHelper<D>) {
  const sink = z
    .strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
        .describe('Sink name, used by routes.'),
      kind: z.enum(SINK_KINDS).describe('webhook (generic JSON) | slack | dingtalk | feishu | alertmanager.'),
      url: SecretRefSchema.describe(
        'Endpoint (a secret: chat webhook URLs carry tokens). Alertmanager: its base URL.',
      ),
      secret: SecretRefSchema.optional().describe(
        'Signing key: HMAC-SHA256 of the generic webhook, DingTalk and Feishu signatures.',
      ),
      timeout: duration('10s', 'Per-request timeout.'),
      repeatInterval: explicitDuration(
        'A still-firing alert is re-sent to this sink this often. Unset: `alerts.repeatInterval`, and `alerts.alertmanagerResendInterval` for Alertmanager sinks.',
      ),
      groupBy: z
        .enum(GROUP_BY)
        .default('job')
        .describe('One notification per job (default), per cluster, or per alert.'),
      groupWait: duration(
        '0s',
        'Alerts of a group arriving within this time of its first one go out in one notification (0 = at the end of each job cycle; per-cluster grouping wants the tick or more).',
      ),
      titleTemplate: template
        .default('[{{status}}] {{severity}} {{job}}: {{title}}')
        .describe('Message title; placeholders {{status}}, {{severity}}, {{job}}, {{title}}, {{action}}…'),
      textTemplate: template
        .default('{{title}} ({{subject}}). First action: {{action}}')
        .describe('One line per alert in chat messages.'),
    })
    .describe('One place alerts are delivered to.');
  const route = z
    .strictObject({
      sinks: z.array(z.string().min(1)).min(1).describe('Sink names.'),
      minSeverity: z.enum(SEVERITIES).default('low').describe('Lowest finding severity routed here.'),
      minRisk: z
        .enum(RISKS)
        .optional()
        .describe(
          'Only jobs whose risk level is at least this (default any; a job of unknown risk never matches).',
        ),
      categories: z.array(z.enum(CATEGORIES)).optional().describe('Only these categories (default all).'),
      owners: z
        .array(z.string().min(1))
        .optional()
        .describe('Only jobs whose `owner` label is one of these (default all).'),
      labels: z
        .record(z.string(), z.string())
        .default({})
        .describe('Only jobs carrying every one of these labels.'),
      continue: z.boolean().default(false).describe('Also try the next routes after this one matched.'),
    })
    .describe('First matching route wins unless it says continue.');
  const section = z
    .strictObject({
      sinks: z.array(sink).default([]).describe('Alert sinks. None = no alerts.'),
      routes: z
        .array(route)
        .default([])
        .describe('Routing of findings to sinks, in order. No routes = every finding to every sink.'),
      repeatInterval: duration('4h', 'A still-firing finding is re-sent this often.'),
      alertmanagerResendInterval: duration(
        '1m',
        'Alertmanager sinks get every firing alert again this often, with `endsAt` 4 intervals ahead, so Alertmanager neither resolves it on its own (resolve_timeout) nor keeps it after the daemon stops sending.',
      ),
      retries: z.int().min(0).max(10).default(3).describe('Retries after a timeout, 429 or 5xx.'),
      retryBackoff: duration('2s', 'First retry delay; doubles with every retry.'),
      queueCapacity: z
        .int()
        .min(1)
        .default(1000)
        .describe('Notifications waiting per sink; beyond it they go to the dead letters.'),
      deadLetterTtl: duration('7d', 'How long undeliverable notifications are kept.'),
    })
    .superRefine((s, ctx) => {
      const names = new Set<string>();
      s.sinks.forEach((k, i) => {
        if (names.has(k.name))
          ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `duplicate sink ${k.name}` });
        names.add(k.name);
      });
      s.routes.forEach((r, i) =>
        r.sinks.forEach((name, j) => {
          if (!names.has(name))
            ctx.addIssue({
              code: 'custom',
              path: ['routes', i, 'sinks', j],
              message: `no sink named ${name}`,
            });
        }),
      );
    })
    .describe('Alerts: sinks, routes, dedup and retries.');
  return section.prefault(() => ({}) as z.input<typeof section>);
}
