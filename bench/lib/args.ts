// Command-line checks the benchmark scripts share: a bad flag ends the run
// with exit 2, the script's name, what is wrong and its usage.

import { parseArgs, type ParseArgsOptionDescriptor } from 'node:util';

/** A function that prints `program: msg` and the usage, then exits 2. */
export function usageFailure(program: string, usage: string): (msg: string) => never {
  return (msg) => {
    process.stderr.write(`${program}: ${msg}\n${usage}\n`);
    process.exit(2);
  };
}

/** Reads --NAME as a positive integer (the default when absent), failing through `fail`. */
export function positiveIntReader(fail: (msg: string) => never): (name: string, v: string | undefined, dflt: number) => number {
  return (name, v, dflt) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

type Flags<T extends Record<string, ParseArgsOptionDescriptor>> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>['values'];

/** Parses `argv` strictly by `options`, plus --help (prints `usage`, exits 0);
 *  a bad flag ends the run through `fail`. */
export function parseFlags<const T extends Record<string, ParseArgsOptionDescriptor>>(argv: string[], options: T, usage: string, fail: (msg: string) => never): Flags<T> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usage + '\n');
    process.exit(0);
  }
  return parsed.values as Flags<T>;
}
