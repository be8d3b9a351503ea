// Merges what two processors produced into one ProxyConfig. A host both
// name keeps the first's virtual host settings (TLS, policies) and serves
// the first's routes before the second's, as Contour's one DAG holds the
// routes of every input API under one virtual host.
import type { ProxyConfig, SecureVirtualHost, VirtualHost } from './proxy-config.ts';

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A TLS host's routes join another's only under the same client
 *  validation: routes that asked for it are never served without it, and
 *  routes that did not never turn away clients that have no certificate. */
function sameClientValidation(a: VirtualHost, b: VirtualHost): boolean {
  return JSON.stringify((a as SecureVirtualHost).clientValidation ?? null) === JSON.stringify((b as SecureVirtualHost).clientValidation ?? null);
}

/** A host is one per listener: the proxy's own ("" first) or a port listener's. */
const hostKey = (v: VirtualHost): string => (v.listener === undefined ? v.fqdn : `${v.fqdn}\u0000${v.listener}`);

function mergeHosts<V extends VirtualHost>(a: V[], b: V[]): V[] {
  if (b.length === 0) return a;
  const out = new Map<string, V>();
  for (const v of a) out.set(hostKey(v), v);
  for (const v of b) {
    const first = out.get(hostKey(v));
    if (first && !sameClientValidation(first, v)) continue;
    out.set(hostKey(v), first ? { ...first, routes: [...first.routes, ...v.routes] } : v);
  }
  return [...out.keys()].sort(byString).map((k) => out.get(k)!);
}

function union<T>(a: T[], b: T[], key: (x: T) => string): T[] {
  if (b.length === 0) return a;
  const out = new Map<string, T>();
  for (const x of a) out.set(key(x), x);
  for (const x of b) if (!out.has(key(x))) out.set(key(x), x);
  return [...out.keys()].sort(byString).map((k) => out.get(k)!);
}

export function mergeProxyConfigs(a: ProxyConfig, b: ProxyConfig): ProxyConfig {
  const out: ProxyConfig = {
    ...a,
    httpVirtualHosts: mergeHosts(a.httpVirtualHosts, b.httpVirtualHosts),
    httpsVirtualHosts: mergeHosts(a.httpsVirtualHosts, b.httpsVirtualHosts),
    clusters: union(a.clusters, b.clusters, (c) => c.name),
    secrets: union(a.secrets, b.secrets, (s) => s.id),
    caBundles: union(a.caBundles, b.caBundles, (c) => c.id),
  };
  const listeners = union(a.listeners ?? [], b.listeners ?? [], (l) => l.name);
  if (listeners.length > 0) out.listeners = listeners;
  return out;
}
