import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import {
  conditionText,
  registerRulesCommands,
  rulesDocs,
  rulesValidate,
} from '../../../src/cli/rules-command.js';
import { defaultRulesDir } from '../../../src/config/rule-files.js';
import type { CommandIo } from '../../../src/cli/rules-command.js';
import { BROKEN_RULES_DIR, EXPECTED_BROKEN_RULE_LINES } from './broken-rules-expected.js';

const SHIPPED_OK = new RegExp(`^\\d+ rules, \\d+ log patterns OK \\(${defaultRulesDir()}\\)\n$`);

function captured(): CommandIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
  };
  return io;
}

describe('rules validate', () => {
  it('exits 1 on the broken fixtures with exactly the expected lines on stderr', async () => {
    const io = captured();
    expect(await rulesValidate(BROKEN_RULES_DIR, io)).toBe(1);
    expect(io.stderr).toBe(EXPECTED_BROKEN_RULE_LINES.map(l => `${l}\n`).join(''));
    expect(io.stdout).toBe('');
  });

  it('exits 0 on the shipped library with one summary line', async () => {
    const io = captured();
    expect(await rulesValidate(defaultRulesDir(), io)).toBe(0);
    expect(io.stdout).toMatch(SHIPPED_OK);
    expect(io.stderr).toBe('');
  });

  it('exits 1 with one line when the directory cannot be read', async () => {
    const io = captured();
    expect(await rulesValidate('/nonexistent/rules', io)).toBe(1);
    expect(io.stderr).toBe('cannot read the rules directory /nonexistent/rules (ENOENT)\n');
  });

  it('finds the shipped rules/ directory relative to the package', () => {
    expect(defaultRulesDir()).toBe(fileURLToPath(new URL('../../../rules', import.meta.url)));
  });
});

describe('rules commands in a real process', () => {
  const entry = fileURLToPath(new URL('./rules-cli-entry.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
  const run = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(tsx, [entry, ...args]);
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  it('validate: exit 1 and the error lines for the broken fixtures, exit 0 for the shipped rules', async () => {
    const broken = await run('rules', 'validate', BROKEN_RULES_DIR);
    expect(broken).toEqual({
      code: 1,
      stdout: '',
      stderr: EXPECTED_BROKEN_RULE_LINES.map(l => `${l}\n`).join(''),
    });
    const shipped = await run('rules', 'validate');
    expect(shipped.code).toBe(0);
    expect(shipped.stdout).toMatch(SHIPPED_OK);
    expect(shipped.stderr).toBe('');
  }, 30_000);

  it('test: exit 0 with the summary for the shipped library', async () => {
    const shipped = await run('rules', 'test');
    expect(shipped.stdout).toMatch(/^\d+ cases, \d+ rules, all passed\n$/);
    expect(shipped.stderr).toBe('');
    expect(shipped.code).toBe(0);
  }, 30_000);
});

describe('rules docs', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('writes the rule reference and the fact dictionary', async () => {
    dir = await mkdtemp(join(tmpdir(), 'docs-'));
    const out = join(dir, 'docs', 'rules.md');
    const io = captured();
    expect(await rulesDocs(defaultRulesDir(), out, io)).toBe(0);
    expect(io.stdout).toMatch(/^wrote .*rules\.md \(\d+ rules, \d+ facts\)\n$/);
    const md = await readFile(out, 'utf8');
    expect(md).toContain('# Rule reference');
    expect(md).toContain('#### `vertex-under-provisioned` — Bottleneck vertex needs more parallelism');
    expect(md).toContain('requires: `job-sustained-backpressure`');
    expect(md).toContain(
      '**When:** `vertex.isBottleneck` = true and `vertex.busyRatio.avg.avgShort` > `params.busyThreshold` (0.8) and `vertex.busySkew` < `params.maxSkew` (0.3) and `vertex.parallelism` < `vertex.maxParallelism`',
    );
    expect(md).toContain('| `vertex.busySkew` | number | ratio | skew | latest |');
    expect(md).toContain('## Fact dictionary (version 1)');
    expect(md).toMatch(/## Exception classes \(\d+\)/);
    expect(md).toContain('| `heap-oom` | memory | `^java\\.lang\\.OutOfMemoryError$` |');
    expect(md).toContain('- `Could not forward element to next operator`');
  });

  it('prints to stdout without --out, and refuses an invalid library', async () => {
    const io = captured();
    expect(await rulesDocs(defaultRulesDir(), undefined, io)).toBe(0);
    expect(io.stdout.startsWith('# Rule reference\n')).toBe(true);
    const bad = captured();
    expect(await rulesDocs(BROKEN_RULES_DIR, undefined, bad)).toBe(1);
    expect(bad.stderr.split('\n')).toHaveLength(EXPECTED_BROKEN_RULE_LINES.length + 1);
  });

  it('renders nested conditions readably', () => {
    expect(
      conditionText(
        {
          any: [
            {
              all: [
                { fact: 'a.x', operator: 'greaterThanInclusive', value: 1 },
                { fact: 'a.y', operator: 'in', value: ['p', 'q'] },
              ],
            },
            { not: { fact: 'a.z', operator: 'doesNotContain', value: 'oom' } },
          ],
        },
        {},
      ),
    ).toBe('(`a.x` ≥ 1 and `a.y` in ["p","q"]) or not (`a.z` does not contain "oom")');
  });
});

describe('registerRulesCommands', () => {
  it('registers validate, test, docs and configmap with help texts', () => {
    const program = new Command('autopilot');
    registerRulesCommands(program);
    const rules = program.commands.find(c => c.name() === 'rules');
    expect(rules?.commands.map(c => c.name())).toEqual(['validate', 'test', 'docs', 'configmap']);
    for (const c of rules?.commands ?? []) expect(c.description().length).toBeGreaterThan(20);
    expect(rules?.commands.find(c => c.name() === 'docs')?.helpInformation()).toContain('--out <file>');
  });

  it('sets the exit code from the command', async () => {
    const program = new Command('autopilot').exitOverride();
    registerRulesCommands(program);
    const previous = process.exitCode;
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = () => true;
    try {
      await program.parseAsync(['rules', 'test', '/nonexistent/rules'], { from: 'user' });
      expect(process.exitCode).toBe(1);
    } finally {
      process.stderr.write = write;
      process.exitCode = previous;
    }
  });
});
