// The `flowlab` command. Each command is thin: parse, call the core, print. The commands live in
// server/cli/commands/ by group; command names, flags and JSON shapes are a contract that
// scripts depend on.
import { Command, CommanderError } from 'commander';
import { actingCommands } from './commands/acting.ts';
import { gradingCommands } from './commands/grading.ts';
import { enginesCommands } from './commands/engines.ts';
import { labsCommands } from './commands/labs.ts';
import { sessionsCommands } from './commands/sessions.ts';
import { setupCommands } from './commands/setup.ts';
import { keepsRunning } from './context.ts';
import { CliError, reportError } from './output.ts';

const program = new Command('flowlab')
  .description('Container networking labs on your own Docker daemon: real faults, live flows, graded diagnoses.')
  .showSuggestionAfterError(true)
  .exitOverride();

setupCommands(program);
labsCommands(program);
sessionsCommands(program);
actingCommands(program);
gradingCommands(program);
enginesCommands(program);

/** `flowlab --help` lists the commands in the order a trainer meets them, whatever group holds them. */
const HELP_ORDER = ['serve', 'doctor', 'images', 'validate', 'list', 'up', 'down', 'console', 'check', 'status', 'actions', 'probe', 'flows', 'fault', 'grade', 'hint', 'results', 'sweep', 'engines'];
const rank = (c: Command) => (HELP_ORDER.includes(c.name()) ? HELP_ORDER.indexOf(c.name()) : HELP_ORDER.length);
(program.commands as Command[]).sort((a, b) => rank(a) - rank(b));

/** Runs a command; resolves to its exit code, or undefined when it keeps serving. */
export async function main(argv: string[]): Promise<number | undefined> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (keepsRunning()) return undefined;
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (process.env.FLOWLAB_DEBUG === '1') console.error(e);
    reportError((e as Error).message);
    return e instanceof CliError ? e.exitCode : 1;
  }
}
