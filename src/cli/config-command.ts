import type { Command } from 'commander';
import { configReferenceMarkdown } from '../config/docs.js';
import { ConfigError, loadConfig } from '../config/load.js';

/** `autopilot config docs` and `autopilot config validate FILE`. */
export function registerConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description('show the configuration reference, validate a config file');
  config
    .command('docs')
    .description('print the configuration reference (Markdown), generated from the config schema')
    .action(() => {
      process.stdout.write(configReferenceMarkdown());
    });
  config
    .command('validate')
    .description('validate a config file (YAML or JSON) with the environment applied; prints every bad field')
    .argument('<file>', 'config file')
    .action((file: string) => {
      try {
        const c = loadConfig({ file, env: process.env });
        process.stdout.write(
          `${file}: OK (${c.flink.clusters.length} Flink clusters, mode ${c.mode}, ${c.redis.url === undefined ? 'standalone' : 'distributed'})\n`,
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
