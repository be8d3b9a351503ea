// IP filters (Envoy's RBAC filter as Contour configures it for
// ipAllowPolicy / ipDenyPolicy): the rules of a virtual host or route,
// compiled once per config into CIDR sets, one per address source.
// Peer is the connection's own address (direct_remote_ip); Remote is the
// client address the proxy derives from the PROXY header (remote_ip).
// IPv4-mapped IPv6 addresses match IPv4 rules, so a dual-stack socket
// cannot slip past a rule written for IPv4.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IpFilterConfig } from '../dag/index.ts';

/** Envoy's RBAC denial: 403 with this body. */
export const RBAC_DENIED_BODY = 'RBAC: access denied';

export interface CompiledIpFilter {
  allow: boolean;
  peer: BlockList | null;
  remote: BlockList | null;
}

export function compileIpFilter(c: IpFilterConfig): CompiledIpFilter {
  let peer: BlockList | null = null;
  let remote: BlockList | null = null;
  for (const r of c.rules) {
    const slash = r.cidr.lastIndexOf('/');
    const address = r.cidr.slice(0, slash);
    const prefix = Number(r.cidr.slice(slash + 1));
    const family = address.includes(':') ? 'ipv6' : 'ipv4';
    const list = r.source === 'Remote' ? (remote ??= new BlockList()) : (peer ??= new BlockList());
    list.addSubnet(address, prefix, family);
  }
  return { allow: c.action === 'allow', peer, remote };
}

function inList(list: BlockList | null, address: string): boolean {
  if (list === null) return false;
  if (isIPv4(address)) return list.check(address, 'ipv4');
  // An address that is no IP literal (a Unix socket, say) matches nothing.
  return isIPv6(address) && list.check(address, 'ipv6');
}

/** RBAC: an allow policy passes a request matching any rule; a deny
 *  policy refuses it. */
export function ipFilterAllows(f: CompiledIpFilter, peer: string, remote: string): boolean {
  const matched = inList(f.peer, peer) || inList(f.remote, remote);
  return f.allow ? matched : !matched;
}
