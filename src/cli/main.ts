// Entry point: builds the command tree and maps errors to exit codes.
// Each command lives in its own file and exports register(program).

import { Command, CommanderError } from 'commander';
import { CliError, EXIT_USAGE } from './errors.ts';

export interface CommandModule {
  /** Adds the command to the program. The action resolves to the exit code. */
  register(program: Command, setExitCode: (code: number) => void): void;
}

// Loaded on demand: `isobar certs list` should not pay for loading the
// proxy, the balancer and the Kubernetes client.
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  serve: () => import('./serve.ts'),
  status: () => import('./status.ts'),
  check: () => import('./check.ts'),
  config: () => import('./config.ts'),
  explain: () => import('./explain.ts'),
  certs: () => import('./certs.ts'),
  'demo-backend': () => import('./demo-backend.ts'),
};

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('isobar')
    .description('An ingress edge: certificate manager, network load balancer, Contour-compatible control plane and proxy.')
    .version(await packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });
  const named = argv.find((a) => !a.startsWith('-'));
  const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  for (const name of wanted) (await COMMANDS[name]!()).register(program, (code) => (exitCode = code));
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
