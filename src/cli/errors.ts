// Exit codes shared by every command (DESIGN.md, "Contracts"):
// 0 ok, 1 invalid objects or failed check, 2 bad usage or unreadable input.

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

/** Thrown by commands for an error the user can fix: printed as one line
 *  (no stack) and mapped to its exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
