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

export async function waitForPing(port: number, deadlineMs = 10_000): Promise<void> {
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

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A throw-away redis-server with the given extra arguments (e.g. without AOF), for one test. */
export async function startRedis(args: string[] = []): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'autopilot-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args],
    { stdio: 'ignore' },
  );
  await waitForPing(port);
  return {
    port,
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
    await stopProcess(redis);
    rmSync(dir, { recursive: true, force: true });
  };
}
