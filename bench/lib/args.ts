// Command-line checks the benchmark scripts share: a bad flag ends the run
// with exit 2, the script's name, what is wrong and its usage.

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
