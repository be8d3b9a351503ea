// IP filters of an HTTPProxy (Contour's toIPFilterRules): ipAllowPolicy /
// ipDenyPolicy on the virtual host and on routes, a route's replacing the
// virtual host's. CIDRs are parsed as Go's net.ParseCIDR does, because
// Contour's status messages quote its errors. Unlike Contour, a virtual
// host with any unparsable CIDR serves nothing: Contour keeps the entries
// that parse when the last one does, which can drop a deny rule.
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import type { IpFilterConfig, IpFilterRule } from './ip-filter-config.ts';
import type { NIpFilterPolicy, NRoute, NVirtualHost } from './model.ts';
import type { Condition } from './status.ts';
import { arr, rec, str } from './safe.ts';

const NONE: never[] = [];

export function readIpFilterPolicy(raw: unknown): NIpFilterPolicy[] {
  const list = arr(raw);
  if (list.length === 0) return NONE;
  return list.map((x) => {
    const r = rec(x) ?? {};
    return { source: str(r.source), cidr: str(r.cidr) };
  });
}

export type CidrResult = { ok: true; cidr: string } | { ok: false; error: string };

/** net.ParseCIDR, after Contour turns a bare address into a /32 or /128;
 *  the result is the network (host bits cleared) in canonical text. */
export function parseCidr(written: string): CidrResult {
  let s = written;
  if (!s.includes('/')) s += s.includes(':') ? '/128' : '/32';
  const bad: CidrResult = { ok: false, error: `invalid CIDR address: ${s}` };
  const slash = s.indexOf('/');
  const addr = s.slice(0, slash);
  const mask = s.slice(slash + 1);
  // Go's dtoi: decimal digits only, at most 0xFFFFFF.
  if (!/^[0-9]{1,8}$/.test(mask)) return bad;
  const bits = Number(mask);
  if (isIPv4(addr)) {
    if (bits > 32) return bad;
    const octets = addr.split('.').map(Number);
    const masked = maskBytes(octets, 8, bits);
    return { ok: true, cidr: `${masked.join('.')}/${bits}` };
  }
  // Go rejects zones in a CIDR.
  if (addr.includes('%') || !isIPv6(addr)) return bad;
  if (bits > 128) return bad;
  const groups = ipv6Groups(addr);
  if (groups === null) return bad;
  const masked = maskBytes(groups, 16, bits);
  const text = new SocketAddress({ address: masked.map((g) => g.toString(16)).join(':'), family: 'ipv6' }).address;
  return { ok: true, cidr: `${text}/${bits}` };
}

function maskBytes(parts: number[], width: number, bits: number): number[] {
  return parts.map((p, i) => {
    const keep = Math.max(0, Math.min(width, bits - i * width));
    return keep === 0 ? 0 : p & (((1 << width) - 1) ^ ((1 << (width - keep)) - 1));
  });
}

/** The eight 16-bit groups of an address that isIPv6 accepted. */
function ipv6Groups(addr: string): number[] | null {
  let s = addr;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const rest = halves.length > 1 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length > 2 || fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  return [...head, ...Array<string>(fill).fill('0'), ...rest].map((g) => parseInt(g, 16));
}

type Rules = { ok: true; value: IpFilterConfig | undefined } | { ok: false; error: string };

/** toIPFilterRules: one InvalidCIDR error per entry that does not parse. */
function toIpFilter(cond: Condition, allow: NIpFilterPolicy[], deny: NIpFilterPolicy[]): Rules {
  if (allow.length > 0 && deny.length > 0) {
    cond.addError('IPFilterError', 'IncompatibleIPAddressFilters', 'cannot specify both `ipAllowPolicy` and `ipDenyPolicy`');
    return { ok: false, error: 'invalid ip filter' };
  }
  const policies = allow.length > 0 ? allow : deny;
  if (policies.length === 0) return { ok: true, value: undefined };
  const rules: IpFilterRule[] = [];
  let error: string | null = null;
  for (const p of policies) {
    const c = parseCidr(p.cidr);
    if (!c.ok) {
      cond.addError('IPFilterError', 'InvalidCIDR', `${p.cidr} failed to parse: ${c.error}`);
      error = c.error;
      continue;
    }
    rules.push({ cidr: c.cidr, source: p.source === 'Remote' ? 'Remote' : 'Peer' });
  }
  if (error !== null) return { ok: false, error };
  return { ok: true, value: { action: allow.length > 0 ? 'allow' : 'deny', rules } };
}

/** The virtual host's filters; null after recording a fatal error (allow
 *  and deny together were rejected earlier, in Contour's order). */
export function vhostIpFilter(cond: Condition, vh: NVirtualHost): IpFilterConfig | undefined | null {
  const r = toIpFilter(cond, vh.ipAllowPolicy, vh.ipDenyPolicy);
  if (r.ok) return r.value;
  cond.addError(
    'IPFilterError',
    'IPFilterPolicyNotValid',
    `Spec.VirtualHost.IPAllowFilterPolicy or Spec.VirtualHost.IPDenyFilterPolicy is invalid: ${r.error}`,
  );
  return null;
}

/** A route's own filters (they replace the virtual host's); null after
 *  recording a fatal error. */
export function routeIpFilter(cond: Condition, route: NRoute): IpFilterConfig | undefined | null {
  const r = toIpFilter(cond, route.ipAllowPolicy, route.ipDenyPolicy);
  return r.ok ? r.value : null;
}

/** Filters on a virtual host that forwards TCP: Contour programs them for
 *  HTTP only, so they would never apply; isobar refuses rather than serve
 *  the TCP stream unfiltered. Returns whether an error was recorded. */
export function tcpProxyIpFilterError(cond: Condition, vh: NVirtualHost): boolean {
  const field = vh.ipAllowPolicy.length > 0 ? 'IPAllowFilterPolicy' : vh.ipDenyPolicy.length > 0 ? 'IPDenyFilterPolicy' : null;
  if (field === null) return false;
  cond.addError(
    'IPFilterError',
    'IPFilterNotSupported',
    `Spec.VirtualHost.${field} is not supported by isobar on a virtual host with Spec.TCPProxy: the filters apply to HTTP requests only`,
  );
  return true;
}
