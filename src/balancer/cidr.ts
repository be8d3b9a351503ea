// IP ranges in CIDR notation, as a security group rule takes them: an IPv4
// or IPv6 address, a slash and a prefix length. Strict on purpose: a range
// that restricts who may connect must mean exactly one thing, so leading
// zeros (octal in some parsers), zone ids and a missing prefix length are
// refused rather than guessed at. Host bits may be set (Kubernetes accepts
// "1.2.3.4/24"); the range is the network they belong to.

import { isIPv6 } from 'node:net';
import type { Parsed } from './annotations.ts';

export interface Cidr {
  family: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

const EXAMPLES = '(e.g. 203.0.113.0/24 or 2001:db8::/32)';

export function parseCidr(text: string): Parsed<Cidr> {
  const bad = (why: string): Parsed<Cidr> => ({ ok: false, message: `"${text}" is not an IP range in CIDR notation: ${why} ${EXAMPLES}` });
  const slash = text.indexOf('/');
  if (slash < 0) {
    const one = isIPv4(text) ? '/32' : isIPv6(text) ? '/128' : undefined;
    return one ? bad(`it has no prefix length (write ${text}${one} for this one address)`) : bad('it has no prefix length');
  }
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  let family: Cidr['family'];
  if (isIPv4(address)) family = 'ipv4';
  else if (!address.includes('%') && isIPv6(address)) family = 'ipv6';
  else return bad(`"${address}" is not an IPv4 or IPv6 address`);
  const max = family === 'ipv4' ? 32 : 128;
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > max) return bad(`the prefix length must be 0-${max}`);
  return { ok: true, value: { family, address, prefix: Number(prefixText) } };
}

/** Dotted quad, each part 0-255 without leading zeros. */
function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}
