// Entry point: builds the command tree and maps errors to exit codes.
// Each command lives in its own file and exports register(program).

import { Command, CommanderError } from 'commander';
import { CliError, EXIT_USAGE } from './errors.ts';
import * as serve from './serve.ts';
import * as status from './status.ts';
import * as check from './check.ts';
import * as config from './config.ts';
import * as certs from './certs.ts';
import * as demoBackend from './demo-backend.ts';

export interface CommandModule {
  /** Adds the command to the program. The action resolves to the exit code. */
  register(program: Command, setExitCode: (code: number) => void): void;
}

const COMMANDS: CommandModule[] = [serve, status, check, config, certs, demoBackend];

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('isobar')
    .description('An ingress edge: certificate manager, network load balancer, Contour-compatible control plane and proxy.')
    .version(await packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const cmd of COMMANDS) cmd.register(program, (code) => (exitCode = code));
  // Subcommands inherit exitOverride() only if set before they are added.
  for (const sub of program.commands) sub.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0.
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      return EXIT_USAGE;
    }
    if (err instanceof CliError) {
      process.stderr.write(`isobar: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`isobar: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 70;
  }
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
