// Name resolution with Envoy's dns_lookup_family meanings, for a JWKS host and
// for an ExternalName endpoint (cluster.dns-lookup-family):
// v4 and v6 ask for one family only, auto asks for IPv6 and falls back to
// IPv4, all takes the first address of either family (a LOGICAL_DNS
// cluster uses the first address it gets).
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { DnsLookupFamily } from '../dag/index.ts';

type Resolved = { address: string; family: number };

function lookupOne(host: string, family: 0 | 4 | 6): Promise<Resolved> {
  return new Promise((resolve, reject) => {
    dns.lookup(host, { family }, (err, address, fam) => (err ? reject(err) : resolve({ address, family: fam })));
  });
}

export function resolveFor(family: DnsLookupFamily): (host: string) => Promise<Resolved> {
  switch (family) {
    case 'v4':
      return (h) => lookupOne(h, 4);
    case 'v6':
      return (h) => lookupOne(h, 6);
    case 'all':
      return (h) => lookupOne(h, 0);
    case 'auto':
      return (h) => lookupOne(h, 6).catch(() => lookupOne(h, 4));
  }
}

/** A `lookup` for node:net / node:tls that resolves with `family`'s rule. */
export function lookupFor(family: DnsLookupFamily): LookupFunction {
  const resolve = resolveFor(family);
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (r) => {
        if (options.all) (callback as unknown as (e: null, a: Resolved[]) => void)(null, [r]);
        else callback(null, r.address, r.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
