// A listener's allow-list of client ranges (the load balancer's source
// ranges), checked on the client's address the moment a connection is
// accepted. An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
// and matches the IPv4 ranges (node's BlockList compares mapped addresses
// as IPv4).

import { BlockList, isIPv4 } from 'node:net';
import { parseCidr } from './cidr.ts';

export class SourceFilter {
  /** undefined: every address is allowed. */
  readonly #allowed: BlockList | undefined;

  constructor(ranges: readonly string[]) {
    const all4 = ranges.includes('0.0.0.0/0');
    const all6 = ranges.includes('::/0');
    if (all4 && all6) {
      this.#allowed = undefined;
      return;
    }
    const list = new BlockList();
    for (const r of ranges) {
      const c = parseCidr(r);
      // The model only sends valid ranges; one that is not is left out,
      // which lets fewer clients in, never more.
      if (c.ok) list.addSubnet(c.value.address, c.value.prefix, c.value.family);
    }
    this.#allowed = list;
  }

  /** Whether a client at `address` may connect (unknown address: no). */
  allows(address: string | undefined): boolean {
    if (this.#allowed === undefined) return true;
    if (address === undefined || address === '') return false;
    return this.#allowed.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
