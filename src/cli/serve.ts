// `isobar serve`: being built; see the README for what exists.
import type { Command } from 'commander';
import { CliError } from './errors.ts';

export function register(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command('serve')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('serve is not available in this build');
    });
}
