// Internal and edge requests, and X-Request-Id, as Envoy's connection
// manager decides them with use_remote_address (as Contour configures it):
// a request is internal when its client sent no X-Forwarded-For and its
// address is internal (Envoy's default set: RFC 1918, loopback and IPv6
// unique-local addresses); every other one is an edge request. An edge
// request's id is replaced by a fresh one unless external ids are
// preserved, which Contour configures (preserve_external_request_id: true)
// and serve does unless --no-preserve-external-request-id.
import { randomUUID } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const INTERNAL = new BlockList();
INTERNAL.addSubnet('10.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('172.16.0.0', 12, 'ipv4');
INTERNAL.addSubnet('192.168.0.0', 16, 'ipv4');
INTERNAL.addSubnet('127.0.0.0', 8, 'ipv4');
INTERNAL.addAddress('::1', 'ipv6');
INTERNAL.addSubnet('fd00::', 8, 'ipv6');

export function isInternalAddress(address: string): boolean {
  let a = address;
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  if (isIPv4(a)) return INTERNAL.check(a, 'ipv4');
  return isIPv6(a) && INTERNAL.check(a, 'ipv6');
}

const kInternal = Symbol('isobar.internalClient');

/** Envoy's internal request: no X-Forwarded-For from the client, and an
 *  internal client address (looked up once per connection). */
export function isInternalRequest(forwardedFor: unknown, conn: { clientAddress: string }): boolean {
  if (forwardedFor !== undefined) return false;
  const c = conn as { clientAddress: string; [kInternal]?: boolean };
  return (c[kInternal] ??= isInternalAddress(c.clientAddress));
}

/** The id a request carries upstream: the client's own `x-request-id`
 *  when the request is internal (or external ids are preserved), else a new one. */
export function requestIdFor(sent: string | string[] | undefined, edge: boolean, preserveExternal: boolean): string {
  const id = typeof sent === 'string' ? sent : undefined;
  if (id && (preserveExternal || !edge)) return id;
  return randomUUID();
}
