// `isobar check`: being built; see the README for what exists.
import type { Command } from 'commander';
import { CliError } from './errors.ts';

export function register(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command('check')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new CliError('check is not available in this build');
    });
}
