import { createHmac } from 'node:crypto';
import type { SinkKind } from '../../config/alerts-schema.js';
import type { Category, Risk, Severity } from '../../domain/index.js';

/**
 * Alert sinks: each turns one Notification (the alerts of one job for one sink, grouped) into
 * one HTTP request in its vendor's format, signed where the vendor signs. Delivery (timeouts,
 * retries, dead letters) is delivery.ts's business, not theirs.
 */

/** One alert in the generic payload v1 (documented in the README). */
export interface AlertEvent {
  status: 'firing' | 'resolved';
  fingerprint: string;
  jobKey: string;
  cluster: string;
  namespace?: string;
  job: string;
  rule: string;
  category: Category;
  severity: Severity;
  subject: { kind: string; id: string; name?: string };
  title: string;
  action: string;
  score: number | null;
  risk: Risk | null;
  labels: Record<string, string>;
  /** Epoch ms the finding started firing. */
  startsAt: number;
  /** Epoch ms it resolved (resolved alerts only). */
  endsAt?: number;
}

/** What a sink sends at once: the alerts of one job that route to it in one cycle. */
export interface Notification {
  /** Unique per notification (dead letters are keyed by it). */
  id: string;
  groupKey: string;
  alerts: AlertEvent[];
}

export const WEBHOOK_PAYLOAD_VERSION = 1;

export interface SinkSettings {
  name: string;
  kind: SinkKind;
  url: string;
  secret?: string;
  titleTemplate: string;
  textTemplate: string;
  /** A firing alert is re-sent this often; Alertmanager alerts expire 4 intervals after a send. */
  repeatIntervalMs: number;
}

export interface SinkRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A delivery failure; `retryable` for timeouts, network errors, 429 and 5xx. */
export class SinkError extends Error {
  readonly code = 'ALERT_SINK_FAILED';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SinkError';
  }
}

/** Fills `{{field}}` placeholders (validated at config load) from one alert. */
export function renderTemplate(template: string, a: AlertEvent): string {
  const fields: Record<string, string> = {
    status: a.status === 'firing' ? 'FIRING' : 'RESOLVED',
    severity: a.severity,
    category: a.category,
    job: a.jobKey,
    cluster: a.cluster,
    title: a.title,
    action: a.action,
    subject: a.subject.name ?? a.subject.id,
    rule: a.rule,
    score: a.score === null ? 'n/a' : String(a.score),
    risk: a.risk ?? 'n/a',
  };
  return template.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_, name: string) => fields[name] ?? '');
}

function hmacSha256(key: string, message: string): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

/** Generic webhook signature: hex HMAC-SHA256 over `<timestamp>.<body>` with the sink's secret. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${hmacSha256(secret, `${timestamp}.${body}`).toString('hex')}`;
}

/** DingTalk robot signing: base64 HMAC-SHA256 of `<timestamp ms>\n<secret>` keyed by the secret. */
export function dingtalkSign(secret: string, timestampMs: string): string {
  return hmacSha256(secret, `${timestampMs}\n${secret}`).toString('base64');
}

/** Feishu/Lark custom bot signing: base64 HMAC-SHA256 of an empty message keyed by `<timestamp s>\n<secret>`. */
export function feishuSign(secret: string, timestampS: string): string {
  return hmacSha256(`${timestampS}\n${secret}`, '').toString('base64');
}

function titleOf(s: SinkSettings, n: Notification): string {
  const first = n.alerts[0];
  if (first === undefined) return '';
  const title = renderTemplate(s.titleTemplate, first);
  return n.alerts.length > 1 ? `${title} (+${n.alerts.length - 1} more)` : title;
}

function linesOf(s: SinkSettings, n: Notification): string[] {
  return n.alerts.map(a => `${a.status === 'firing' ? '🔴' : '✅'} ${renderTemplate(s.textTemplate, a)}`);
}

/** Alertmanager label values: strings; names: [a-zA-Z_][a-zA-Z0-9_]*. */
function alertmanagerAlert(a: AlertEvent, now: number, repeatIntervalMs: number): unknown {
  const labels: Record<string, string> = {
    alertname: a.rule,
    severity: a.severity,
    category: a.category,
    job_key: a.jobKey,
    cluster: a.cluster,
    subject_kind: a.subject.kind,
    subject: a.subject.id,
  };
  if (a.namespace !== undefined) labels.namespace = a.namespace;
  for (const [k, v] of Object.entries(a.labels)) {
    const name = `label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    labels[name] ??= v;
  }
  return {
    labels,
    annotations: { summary: a.title, description: a.action, fingerprint: a.fingerprint },
    startsAt: new Date(a.startsAt).toISOString(),
    // Firing: re-sent every repeat interval and valid for 4 of them (as Prometheus does), so it
    // stays active between sends whatever Alertmanager's resolve_timeout, and expires by itself
    // if the daemon goes away. Resolved: when it resolved.
    endsAt: new Date(a.status === 'resolved' ? (a.endsAt ?? now) : now + 4 * repeatIntervalMs).toISOString(),
  };
}

/** The HTTP request a sink sends for a notification at `now` (epoch ms). */
export function buildRequest(s: SinkSettings, n: Notification, now: number): SinkRequest {
  const json = { 'content-type': 'application/json' };
  switch (s.kind) {
    case 'webhook': {
      const status = n.alerts.some(a => a.status === 'firing') ? 'firing' : 'resolved';
      const body = JSON.stringify({
        version: WEBHOOK_PAYLOAD_VERSION,
        source: 'flink-autopilot',
        id: n.id,
        groupKey: n.groupKey,
        status,
        alerts: n.alerts,
      });
      const ts = String(Math.floor(now / 1000));
      const headers: Record<string, string> = { ...json, 'x-autopilot-timestamp': ts };
      if (s.secret !== undefined) headers['x-autopilot-signature'] = webhookSignature(s.secret, ts, body);
      return { url: s.url, headers, body };
    }
    case 'slack': {
      const text = `*${titleOf(s, n)}*\n${linesOf(s, n).join('\n')}`;
      return {
        url: s.url,
        headers: json,
        body: JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }),
      };
    }
    case 'dingtalk': {
      const title = titleOf(s, n);
      const body = JSON.stringify({
        msgtype: 'markdown',
        markdown: {
          title,
          text: `### ${title}\n\n${linesOf(s, n)
            .map(l => `- ${l}`)
            .join('\n')}`,
        },
      });
      if (s.secret === undefined) return { url: s.url, headers: json, body };
      const ts = String(now);
      const url = new URL(s.url);
      url.searchParams.set('timestamp', ts);
      url.searchParams.set('sign', dingtalkSign(s.secret, ts));
      return { url: url.toString(), headers: json, body };
    }
    case 'feishu': {
      const ts = String(Math.floor(now / 1000));
      const signature = s.secret === undefined ? {} : { timestamp: ts, sign: feishuSign(s.secret, ts) };
      const body = JSON.stringify({
        ...signature,
        msg_type: 'text',
        content: { text: `${titleOf(s, n)}\n${linesOf(s, n).join('\n')}` },
      });
      return { url: s.url, headers: json, body };
    }
    case 'alertmanager':
      return {
        url: `${s.url.replace(/\/+$/, '')}/api/v2/alerts`,
        headers: json,
        body: JSON.stringify(n.alerts.map(a => alertmanagerAlert(a, now, s.repeatIntervalMs))),
      };
  }
}

/**
 * Reads a vendor's answer: non-2xx is a failure (retryable for 429 and 5xx); DingTalk and
 * Feishu answer 200 with an error code in the body, which is a non-retryable failure.
 */
export function checkResponse(kind: SinkKind, status: number, body: string): void {
  if (status === 429 || status >= 500) throw new SinkError(`HTTP ${status}`, true);
  if (status < 200 || status >= 300) throw new SinkError(`HTTP ${status}`, false);
  if (kind !== 'dingtalk' && kind !== 'feishu') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return;
  }
  if (typeof parsed !== 'object' || parsed === null) return;
  const p = parsed as Record<string, unknown>;
  const code = kind === 'dingtalk' ? p.errcode : (p.code ?? p.StatusCode);
  if (typeof code === 'number' && code !== 0) {
    const msg = kind === 'dingtalk' ? p.errmsg : (p.msg ?? p.StatusMessage);
    throw new SinkError(`${kind} error ${code}: ${typeof msg === 'string' ? msg : 'unknown'}`, false);
  }
}
