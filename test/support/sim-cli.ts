import { Command } from 'commander';
import { registerSimulateCommand } from '../../src/cli/simulate-command.js';

/** `autopilot simulate` as a separate process for tests and the fleet benchmark (main.ts wires it for users). */
const program = new Command('autopilot');
registerSimulateCommand(program);
await program.parseAsync(process.argv);
