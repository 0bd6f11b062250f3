import { Command } from 'commander';
import { registerRulesCommands } from '../../../src/cli/rules-command.js';

// A tiny entry for spawning the rules commands in a real process (src/cli/main.ts wires them for users).
const program = new Command('autopilot');
registerRulesCommands(program);
await program.parseAsync(process.argv);
