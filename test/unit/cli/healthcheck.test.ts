import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthcheck, healthcheckUrl } from '../../../src/cli/healthcheck-command.js';
import { freePort } from '../../setup/redis.global.js';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/healthz') res.writeHead(200).end('{"status":"ok"}');
    else if (req.url === '/readyz') res.writeHead(503).end('{"status":"starting"}');
    // '/hang' never answers
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise(r => server.close(r));
});

describe('autopilot healthcheck', () => {
  it('is ok on 200 and not ok on any other status', async () => {
    expect(await healthcheck(`${base}/healthz`, 2000)).toEqual({
      ok: true,
      line: `${base}/healthz: HTTP 200`,
    });
    expect(await healthcheck(`${base}/readyz`, 2000)).toEqual({
      ok: false,
      line: `${base}/readyz: HTTP 503`,
    });
  });

  it('is not ok when nothing listens or the daemon hangs past the timeout', async () => {
    const closed = await healthcheck(`http://127.0.0.1:${await freePort()}/healthz`, 2000);
    expect(closed.ok).toBe(false);
    const hung = await healthcheck(`${base}/hang`, 200);
    expect(hung.ok).toBe(false);
    expect(hung.line).toMatch(/\/hang: .*(timeout|aborted)/i);
  });

  it('probes 127.0.0.1 on the port from the flag, else AUTOPILOT_API_PORT, else 8080', () => {
    const flags = { ready: false, timeout: 3000 };
    expect(healthcheckUrl(flags, {})).toBe('http://127.0.0.1:8080/healthz');
    expect(healthcheckUrl(flags, { AUTOPILOT_API_PORT: '9090' })).toBe('http://127.0.0.1:9090/healthz');
    expect(healthcheckUrl({ ...flags, port: 7000, ready: true }, {})).toBe('http://127.0.0.1:7000/readyz');
    expect(healthcheckUrl({ ...flags, url: 'http://x:1/healthz' }, {})).toBe('http://x:1/healthz');
  });
});
