#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerConfigCommands } from './config-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerHealthcheckCommand } from './healthcheck-command.js';
import { registerPauseCommands } from './pause-command.js';
import { registerRulesCommands } from './rules-command.js';
import { registerRunCommands } from './run-command.js';
import { registerSimulateCommand } from './simulate-command.js';

/**
 * `autopilot`: one binary for the daemon, the demo, one-shot diagnosis, rule tooling and the
 * simulator. Flags override the config file; each flag of `run` also has an AUTOPILOT_*
 * environment variable.
 */
export function buildProgram(): Command {
  const program = new Command('autopilot')
    .description(
      'Keeps Apache Flink jobs healthy: continuous diagnosis, health scores, first actions, guarded rescaling.',
    )
    .version('0.1.0')
    .showHelpAfterError();
  registerRunCommands(program);
  registerDemoCommand(program);
  registerRulesCommands(program);
  registerConfigCommands(program);
  registerSimulateCommand(program);
  registerPauseCommands(program);
  registerHealthcheckCommand(program);
  return program;
}

/** True when this file is the process entry point (also through the npm bin symlink). */
function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

const isMain = isEntryPoint();
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    });
}
