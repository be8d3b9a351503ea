// Conversions between textual IP addresses and their network-order bytes.
// Node has no public function for IPv6 text <-> bytes, and the v2 header
// carries raw bytes.

import { isIPv4, isIPv6 } from 'node:net';

export function ipv4ToBytes(address: string): Buffer {
  if (!isIPv4(address)) throw new TypeError(`not an IPv4 address: ${JSON.stringify(address)}`);
  return Buffer.from(address.split('.').map((p) => Number(p)));
}

export function bytesToIpv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

export function ipv6ToBytes(address: string): Buffer {
  if (!isIPv6(address) || address.includes('%')) throw new TypeError(`not an IPv6 address: ${JSON.stringify(address)}`);
  let text = address;
  const tail: number[] = [];
  // An embedded dotted-quad tail (e.g. ::ffff:1.2.3.4) stands for two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = ipv4ToBytes(last);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  if (rest === undefined) {
    groups = parse(head);
  } else {
    const h = parse(head);
    const r = parse(rest);
    groups = [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  }
  if (tail.length) groups.splice(6, 2, ...tail);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** RFC 5952 text: lower case, longest zero run compressed, and the
 *  IPv4-mapped range in mixed notation (as Node reports remoteAddress). */
export function bytesToIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytesToIpv4(b.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Maps an IPv4 address into ::ffff:0:0/96 so it can share a TCP6 header. */
export function toIpv6(address: string): string {
  return isIPv4(address) ? `::ffff:${address}` : address;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets
 *  report IPv4 peers) as plain IPv4; any other address unchanged. */
export function unmapIpv4(address: string): string {
  if (!isIPv6(address) || address.includes('%')) return address;
  const b = ipv6ToBytes(address);
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return address;
  return b[10] === 0xff && b[11] === 0xff ? bytesToIpv4(b.subarray(12, 16)) : address;
}
