import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets, registerSecret } from '../../../src/telemetry/logger.js';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) }),
    text: () => chunks.join(''),
  };
}

describe('logger', () => {
  it('writes JSON with static messages and structured fields', () => {
    const out = capture();
    createLogger({ destination: out.stream }).info({ jobKey: 'rest:c/a', score: 95 }, 'cycle done');
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    expect(line).toMatchObject({
      msg: 'cycle done',
      jobKey: 'rest:c/a',
      score: 95,
      service: 'flink-autopilot',
      level: 30,
    });
    expect(typeof line.time).toBe('string');
  });

  it('redacts secrets by key and by registered value', () => {
    const out = capture();
    const hook = 'https://hooks.example.invalid/services/T000/B000/XYZSECRET';
    registerSecret(hook);
    registerSecret('tiny');
    const log = createLogger({ destination: out.stream });
    log.warn(
      { sink: { name: 'slack', webhookUrl: hook }, token: 'abc123token', auth: { password: 'p4ssw0rd!' } },
      'sink failed',
    );
    log.error({ err: `POST ${hook} failed` }, 'delivery failed');
    const text = out.text();
    expect(text).not.toContain('XYZSECRET');
    expect(text).not.toContain('abc123token');
    expect(text).not.toContain('p4ssw0rd!');
    expect(text).toContain('[redacted]');
    expect(redactSecrets('tiny is short')).toBe('tiny is short');
  });
});
