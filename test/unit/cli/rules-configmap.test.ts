import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { rulesConfigMap } from '../../../src/cli/rules-configmap.js';
import { loadLogPatterns } from '../../../src/config/log-patterns.js';
import { defaultRulesDir, loadRuleLibrary } from '../../../src/config/rule-files.js';

const ConfigMap = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  data: z.record(z.string(), z.string()),
});

describe('autopilot rules configmap', () => {
  it('round-trips the shipped library through a ConfigMap volume laid out like the kubelet does', async () => {
    const shipped = await loadRuleLibrary(defaultRulesDir());
    const cm = ConfigMap.parse(
      parse(await rulesConfigMap(defaultRulesDir(), { name: 'r', namespace: 'ns' })),
    );
    expect(cm.metadata).toEqual({ name: 'r', namespace: 'ns' });
    for (const key of Object.keys(cm.data)) expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);

    const dir = await mkdtemp(join(tmpdir(), 'rules-cm-'));
    try {
      const stamp = '..2026_11_23_00_00_00.1';
      await mkdir(join(dir, stamp));
      for (const [key, text] of Object.entries(cm.data)) {
        await writeFile(join(dir, stamp, key), text);
        await symlink(`..data/${key}`, join(dir, key));
      }
      await symlink(stamp, join(dir, '..data'));
      const mounted = await loadRuleLibrary(dir);
      expect(mounted.errors).toEqual([]);
      // Same rules; only `file` differs (the ConfigMap is flat: the category folder is dropped).
      const comparable = (rules: typeof shipped.rules): unknown[] =>
        rules.map(({ file: _file, ...rule }) => rule).sort((a, b) => a.id.localeCompare(b.id));
      expect(comparable(mounted.rules)).toEqual(comparable(shipped.rules));
      expect(mounted.rules).toHaveLength(shipped.rules.length);
      const patterns = await loadLogPatterns(dir);
      expect(patterns.errors).toEqual([]);
      expect(patterns.patterns).toEqual((await loadLogPatterns(defaultRulesDir())).patterns);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an invalid library instead of shipping it', async () => {
    await expect(
      rulesConfigMap('test/fixtures/broken-rules', { name: 'r', namespace: 'ns' }),
    ).rejects.toThrow(/greaterThen/);
  });
});
