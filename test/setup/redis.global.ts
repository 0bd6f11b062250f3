import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Starts a real redis-server on a free loopback port for the whole test run (BullMQ and the Redis
 * store need real Lua scripts; mocks cannot run them). Tests read the port with inject('redisPort').
 */
declare module 'vitest' {
  export interface ProvidedContext {
    redisPort: number;
    redisDir: string;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPing(port: number, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>(resolve => {
      const sock = createConnection({ port, host: '127.0.0.1' }, () => sock.write('PING\r\n'));
      sock.once('data', d => {
        sock.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'autopilot-redis-'));
  let redis: ChildProcess;
  try {
    redis = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
  } catch (err) {
    throw new Error('redis-server is needed for the tests: apt-get install redis-server', { cause: err });
  }
  redis.once('error', err => {
    console.error('redis-server failed to start (is it on PATH? apt-get install redis-server):', err.message);
  });
  await waitForPing(port);
  project.provide('redisPort', port);
  project.provide('redisDir', dir);
  return async () => {
    redis.kill('SIGTERM');
    await new Promise(r => setTimeout(r, 100));
    rmSync(dir, { recursive: true, force: true });
  };
}
