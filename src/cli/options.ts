// Option parsers shared by commands: each rejects bad values with a message
// that names the value and the accepted range.

import { InvalidArgumentError } from 'commander';
import { isIP } from 'node:net';

/** An IPv4 or IPv6 address (a bind address). */
export function parseIpAddress(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`"${value}" is not an IP address`);
  return value;
}

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a port number (1-65535)`);
  const n = Number(value);
  if (n < 1 || n > 65535) throw new InvalidArgumentError(`${n} is out of range (1-65535)`);
  return n;
}

export function parsePortOrZero(value: string): number {
  if (value === '0') return 0;
  return parsePort(value);
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a whole number >= 0`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${value} is too large`);
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

/** Go-style durations as Contour and Envoy flags take them: "30s", "1m30s", "500ms". */
export function parseDurationMs(value: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    const n = Number(m[1]);
    total += n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched = re.lastIndex;
  }
  if (value === '' || matched !== value.length) {
    throw new InvalidArgumentError(`"${value}" is not a duration (examples: 500ms, 30s, 1m30s)`);
  }
  return Math.round(total);
}
