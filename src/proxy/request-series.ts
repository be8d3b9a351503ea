// Which virtual hosts and routes get series of their own (isobar_vhost_*,
// isobar_route_*), bound to the config objects so a request finds its
// counters with one WeakMap read. The bound is what keeps a scrape small
// with thousands of HTTPProxies: the first VHOST_SERIES_LIMIT host names
// in name order, and the first ROUTE_SERIES_LIMIT routes of those hosts in
// route order, have their own; every other request counts in one "(other)"
// series. Every worker applies the same configs, so all pick the same ones.

import type { ProxyConfig, Route, VirtualHost } from '../dag/index.ts';
import { BoundedSeries, OTHER, RequestCounters, type RouteSeriesKey } from '../metrics/index.ts';

export const VHOST_SERIES_LIMIT = 100;
export const ROUTE_SERIES_LIMIT = 500;

interface RouteEntry {
  key: RouteSeriesKey;
  counters: RequestCounters;
}

export class RequestSeries {
  readonly vhosts = new BoundedSeries<RequestCounters>(VHOST_SERIES_LIMIT, () => new RequestCounters());
  readonly routes = new BoundedSeries<RouteEntry>(ROUTE_SERIES_LIMIT, () => ({ key: { vhost: OTHER, route: OTHER, httpproxy: OTHER }, counters: new RequestCounters() }));
  #vhostOf = new WeakMap<VirtualHost, RequestCounters>();
  #routeOf = new WeakMap<Route, RequestCounters>();

  /** Binds the config's objects; costs the admitted hosts and routes only. */
  apply(config: ProxyConfig): void {
    const hosts = firstHosts(config.httpVirtualHosts, config.httpsVirtualHosts, VHOST_SERIES_LIMIT);
    this.vhosts.admit(hosts.map((h) => h.fqdn));
    const routeKeys: string[] = [];
    const keyOf = new Map<string, RouteSeriesKey>();
    const vhostOf = new WeakMap<VirtualHost, RequestCounters>();
    const routesOf: [Route, string][] = [];
    for (const h of hosts) {
      for (const v of h.objects) {
        vhostOf.set(v, this.vhosts.get(h.fqdn));
        for (const r of v.routes) {
          const route = `${r.path.kind}:${r.path.value}`;
          const httpproxy = `${r.origin.namespace}/${r.origin.name}`;
          const k = `${h.fqdn} ${route} ${httpproxy}`;
          if (!keyOf.has(k)) {
            if (keyOf.size >= ROUTE_SERIES_LIMIT) continue;
            keyOf.set(k, { vhost: h.fqdn, route, httpproxy });
            routeKeys.push(k);
          }
          routesOf.push([r, k]);
        }
      }
    }
    const previous = new Map([...this.routes.entries()]);
    this.routes.admit(routeKeys);
    const routeOf = new WeakMap<Route, RequestCounters>();
    for (const [k, entry] of this.routes.entries()) {
      if (!previous.has(k)) entry.key = keyOf.get(k)!;
    }
    for (const [r, k] of routesOf) routeOf.set(r, this.routes.get(k).counters);
    this.#vhostOf = vhostOf;
    this.#routeOf = routeOf;
  }

  vhost(v: VirtualHost): RequestCounters {
    return this.#vhostOf.get(v) ?? this.vhosts.other;
  }

  route(r: Route): RequestCounters {
    return this.#routeOf.get(r) ?? this.routes.other.counters;
  }
}

/** The first `limit` host names of two lists sorted by fqdn, with the
 *  virtual host objects (plain and TLS) of each. */
function firstHosts(a: readonly VirtualHost[], b: readonly VirtualHost[], limit: number): { fqdn: string; objects: VirtualHost[] }[] {
  const out: { fqdn: string; objects: VirtualHost[] }[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    const fqdn = x && (!y || x.fqdn <= y.fqdn) ? x.fqdn : y!.fqdn;
    const objects: VirtualHost[] = [];
    while (i < a.length && a[i]!.fqdn === fqdn) objects.push(a[i++]!);
    while (j < b.length && b[j]!.fqdn === fqdn) objects.push(b[j++]!);
    out.push({ fqdn, objects });
  }
  return out;
}
