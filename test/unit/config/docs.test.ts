import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReferenceMarkdown, replaceGenerated } from '../../../src/config/docs.js';

describe('configuration reference', () => {
  it('documents every key with its default', () => {
    const md = configReferenceMarkdown();
    for (const key of [
      'time.scale',
      'agent.interval',
      'windows.short',
      'flink.clusters[].url',
      'redis.url',
      'state.dir',
      'api.host',
      'autoscaler.catchUp',
    ]) {
      expect(md).toContain(`| \`${key}\` |`);
    }
    expect(md).toMatch(/\| `agent\.interval` \| duration \| `10s` \|/);
    expect(md).not.toMatch(/\| `the` \|/);
  });

  it('the README carries the current reference (run `npm run docs` after changing the schema)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = /<!-- config:start[^>]*-->\n([\s\S]*?)<!-- config:end -->/.exec(readme)?.[1] ?? '';
    const normalize = (t: string): string =>
      t
        .replace(/\s+/g, ' ')
        .replace(/ ?\| ?/g, '|')
        .replace(/\|-+/g, '|-')
        .trim();
    expect(normalize(section)).toBe(normalize(configReferenceMarkdown()));
  });

  it('replaces only the marked part and refuses a document without markers', () => {
    expect(replaceGenerated('a\n<!-- x:start -->\nold\n<!-- x:end -->\nb', 'x', 'new\n')).toBe(
      'a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb',
    );
    expect(() => replaceGenerated('nothing', 'x', '')).toThrow(/markers/);
  });
});
