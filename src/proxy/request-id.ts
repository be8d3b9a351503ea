// X-Request-Id as Envoy's connection manager sets it with use_remote_address
// (as Contour configures it): an internal client's id is kept, an external
// client's is replaced by a fresh one (preserve_external_request_id: false),
// so an outside client cannot choose the id the edge and its backends log
// and trace by. Internal is Envoy's default internal address set: RFC 1918,
// loopback and IPv6 unique-local addresses.
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

/** The id a request carries upstream: the client's own `x-request-id`
 *  when it is internal (or external ids are preserved), else a new one. */
export function requestIdFor(sent: string | string[] | undefined, clientAddress: string, preserveExternal: boolean): string {
  const id = typeof sent === 'string' ? sent : undefined;
  if (id && (preserveExternal || isInternalAddress(clientAddress))) return id;
  return randomUUID();
}
