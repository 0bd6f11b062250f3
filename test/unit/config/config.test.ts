import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileConfig, ConfigError, loadConfig } from '../../../src/config/load.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'autopilot-cfg-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('config', () => {
  it('has documented defaults', () => {
    const c = compileConfig({});
    expect(c.agent.interval).toBe(10_000);
    expect(c.windows).toEqual({ short: 300_000, medium: 900_000, long: 3_600_000, day: 86_400_000 });
    expect(c.scoring.window).toBe(1_800_000);
    expect(c.mode).toBe('dry-run');
    expect(c.api).toEqual({ host: '127.0.0.1', port: 8080, tokens: [] });
    expect(c.actions.approvalTtl).toBe(900_000);
  });

  it('time.scale multiplies every default duration, explicit values stay as written', () => {
    const c = compileConfig({ time: { scale: 0.01 }, agent: { interval: '2s' } });
    expect(c.agent.interval).toBe(2000);
    expect(c.windows.short).toBe(3000);
    expect(c.actions.cooldown).toBe(3000);
    expect(c.scoring.window).toBe(18_000);
  });

  it('accepts durations as text or milliseconds', () => {
    expect(compileConfig({ agent: { interval: 1500 } }).agent.interval).toBe(1500);
    expect(compileConfig({ agent: { interval: '1m30s' } }).agent.interval).toBe(90_000);
  });

  it('names every bad field with its path and reason', () => {
    let err: unknown;
    try {
      compileConfig(
        {
          agent: { interval: 'soon' },
          mode: 'yolo',
          flink: { clusters: [{ label: 'a b', url: 'nope' }] },
          extra: 1,
        },
        'autopilot.yaml',
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/agent\.interval: not a duration: "soon"/);
    expect(problems).toMatch(/^mode: /m);
    expect(problems).toMatch(/flink\.clusters\.0\.label: letters, digits/);
    expect(problems).toMatch(/flink\.clusters\.0\.url: /);
    expect(problems).toMatch(/extra/);
    expect((err as ConfigError).message).toMatch(/autopilot\.yaml/);
  });

  it('merges file < environment < flags', () => {
    const dir = tempDir();
    const file = join(dir, 'autopilot.yaml');
    writeFileSync(file, 'mode: approve\nagent:\n  interval: 30s\napi:\n  port: 9000\n');
    const c = loadConfig({
      file,
      env: {
        AUTOPILOT_MODE: 'auto',
        AUTOPILOT_API_PORT: '9100',
        AUTOPILOT_FLINK_URL: 'http://127.0.0.1:8081',
      },
      flags: { apiPort: 9200 },
    });
    expect(c.mode).toBe('auto');
    expect(c.api.port).toBe(9200);
    expect(c.agent.interval).toBe(30_000);
    expect(c.flink.clusters).toEqual([
      expect.objectContaining({ label: 'default', url: 'http://127.0.0.1:8081', timeout: 5000 }),
    ]);
  });

  it('reports unreadable and malformed files by name', () => {
    const dir = tempDir();
    expect(() => loadConfig({ file: join(dir, 'missing.yaml') })).toThrow(
      /missing\.yaml[\s\S]*cannot read file/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"mode": ');
    expect(() => loadConfig({ file: bad })).toThrow(/bad\.json[\s\S]*not valid JSON/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(() => loadConfig({ file: list })).toThrow(/expected a mapping/);
  });
});
