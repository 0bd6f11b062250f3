import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { LOG_PATTERNS_FILE } from '../config/log-patterns.js';
import { formatRuleFileError, loadRuleLibrary, readRuleSources } from '../config/rule-files.js';

/**
 * `autopilot rules configmap`: the rule library as a Kubernetes ConfigMap, one key per rule file
 * (its file name; the library is flat in a ConfigMap volume) plus log-patterns.json. The library
 * is validated first: an invalid library never reaches a cluster. Mounted at the config's
 * `rules.dir` (see docker/k8s/); the loader reads a ConfigMap volume's `..data` symlinks.
 */
export interface ConfigMapOptions {
  name: string;
  namespace: string;
}

export class RulesConfigMapError extends Error {
  readonly code = 'RULES_CONFIGMAP';
}

export async function rulesConfigMap(dir: string, opts: ConfigMapOptions): Promise<string> {
  const library = await loadRuleLibrary(dir);
  if (library.errors.length > 0)
    throw new RulesConfigMapError(library.errors.map(formatRuleFileError).join('\n'));
  const data: Record<string, string> = {};
  const origin = new Map<string, string>();
  for (const source of await readRuleSources(dir)) {
    const key = basename(source.file);
    const earlier = origin.get(key);
    if (earlier !== undefined)
      throw new RulesConfigMapError(
        `${source.file} and ${earlier} share the ConfigMap key ${key}: rename one`,
      );
    origin.set(key, source.file);
    data[key] = source.text;
  }
  const patterns = await readFile(join(dir, LOG_PATTERNS_FILE), 'utf8').catch(() => undefined);
  if (patterns !== undefined) data[LOG_PATTERNS_FILE] = patterns;
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: opts.name,
        namespace: opts.namespace,
        labels: { 'app.kubernetes.io/name': 'flink-autopilot', 'app.kubernetes.io/component': 'rules' },
      },
      data,
    },
    { blockQuote: 'literal', lineWidth: 0 },
  );
}
