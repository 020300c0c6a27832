import { Command, CommanderError } from 'commander';
import { TabbyError } from '../errors.js';
import { VERSION } from '../version.js';

/** A command module adds itself (and its subcommands) to the root program. */
export type CommandModule = (program: Command) => void;

/**
 * Builds the `tabby` program. Each command lives in its own module under commands/;
 * commands still to come are listed so that `tabby --help` shows the whole shape.
 */
export function buildProgram(modules: CommandModule[]): Command {
  const program = new Command('tabby')
    .description('tabby: node networking agent (IPAM, BGP, eBPF dataplane, policy) in the Calico family')
    .version(VERSION, '-V, --version', 'print the tabby version')
    .showHelpAfterError('(run with --help for usage and examples)')
    .addHelpText('after', '\nExamples:\n  tabby apply -f pool.yaml\n  tabby get ippool -o wide\n  tabby lab up --nodes 3\n');
  for (const add of modules) add(program);
  return program;
}

/** Runs the program and turns every error into one line on stderr and a non-zero exit. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    // A command may report failure without throwing (e.g. `ipam check` found problems).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit with code 0 and have already printed.
      return err.exitCode;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    return err instanceof TabbyError && err.code === 'USAGE' ? 2 : 1;
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
