// One DAG from two processors, as Contour builds it: the Ingress processor
// runs first, then the HTTPProxy one writes into the same virtual hosts.
// So a host that an Ingress and a root HTTPProxy both name is one virtual
// host: the routes of both, an HTTPProxy route replacing an Ingress route
// with identical match conditions (AddRoute), and the virtual host's own
// settings (TLS secret and versions, CORS, filters, authorization) from
// the HTTPProxy, which sets them last. An Ingress's routes are on the
// secure listener only for hosts some Ingress's tls section names with a
// usable Secret (computeSecureVirtualhosts runs over every Ingress first).
import type { Cluster, Route, SecureVirtualHost, TlsSecret, VirtualHost } from './proxy-config.ts';
import type { IngressResult, IngressTlsHost } from './ingress-processor.ts';
import { routeKey } from './output.ts';
import { sortRoutes } from './route-order.ts';

export interface MergedHosts {
  httpVirtualHosts: VirtualHost[];
  httpsVirtualHosts: SecureVirtualHost[];
  /** What the Ingress routes that survived need. */
  clusters: Cluster[];
  secrets: TlsSecret[];
  /** Per Ingress (same order as the input), hosts it shares with a root HTTPProxy. */
  shared: Map<IngressResult, { host: string; proxy: string }[]>;
}

/** Routes in AddRoute order: a later route with an identical match replaces an earlier one. */
class RouteSet {
  readonly #m = new Map<string, Route>();
  add(r: Route): void {
    const k = routeKey(r);
    this.#m.delete(k);
    this.#m.set(k, r);
  }
  routes(): Route[] {
    return sortRoutes([...this.#m.values()]);
  }
}

/** The HTTPProxies' virtual hosts with the Ingress routes of their host
 *  underneath (taken out of `own`, which keeps the hosts no root has). */
function overlay<V extends VirtualHost>(proxy: V[], own: Map<string, RouteSet>): V[] {
  const out: V[] = [];
  for (const v of proxy) {
    const set = own.get(v.fqdn);
    if (!set) {
      out.push(v);
      continue;
    }
    own.delete(v.fqdn);
    for (const r of v.routes) set.add(r);
    out.push({ ...v, routes: set.routes() });
  }
  return out;
}

/** The HTTPProxies' virtual hosts (keyed by lower-case fqdn, with the
 *  root that made each) merged with every Ingress's. */
export function mergeIngresses(
  proxyHttp: VirtualHost[],
  proxyHttps: SecureVirtualHost[],
  owners: Map<string, string>,
  ingresses: IngressResult[],
): MergedHosts {
  const secure = new Map<string, IngressTlsHost>();
  for (const r of ingresses) for (const t of r.tls) secure.set(t.host, t); // a later Ingress's Secret wins
  const http = new Map<string, RouteSet>();
  const https = new Map<string, RouteSet>();
  const setOf = (m: Map<string, RouteSet>, host: string): RouteSet => {
    let s = m.get(host);
    if (!s) m.set(host, (s = new RouteSet()));
    return s;
  };
  for (const r of ingresses) {
    for (const { host, route, http: plain } of r.routes) {
      if (plain) setOf(http, host).add(route);
      if (host !== '*' && secure.has(host)) {
        if (route.httpsRedirect) {
          const { httpsRedirect: _, ...rest } = route;
          setOf(https, host).add(rest);
        } else setOf(https, host).add(route);
      }
    }
  }
  const httpOut = overlay(proxyHttp, http);
  for (const [fqdn, set] of http) httpOut.push({ fqdn, routes: set.routes() });
  const httpsOut = overlay(proxyHttps, https);
  const secretsUsed = new Set<string>();
  for (const [fqdn, set] of https) {
    const t = secure.get(fqdn)!;
    const routes = set.routes();
    if (routes.length === 0) continue;
    secretsUsed.add(t.secretId);
    httpsOut.push({ fqdn, routes, secretId: t.secretId, minVersion: t.minVersion, maxVersion: t.maxVersion, fallbackCertificate: false });
  }

  // What the Ingress routes still in a virtual host reach.
  const clusterNames = new Set<string>();
  for (const list of [httpOut, httpsOut]) {
    for (const v of list) {
      for (const r of v.routes) if (r.action.kind === 'forward') for (const c of r.action.clusters) clusterNames.add(c.cluster);
    }
  }
  const clusters = new Map<string, Cluster>();
  const secrets = new Map<string, TlsSecret>();
  for (const r of ingresses) {
    for (const c of r.clusters) {
      if (!clusterNames.has(c.name) || clusters.has(c.name)) continue;
      clusters.set(c.name, c);
      if (c.tls?.clientCertificateId !== undefined) secretsUsed.add(c.tls.clientCertificateId);
    }
  }
  for (const r of ingresses) for (const s of r.secrets) if (secretsUsed.has(s.id)) secrets.set(s.id, s);

  const shared = new Map<IngressResult, { host: string; proxy: string }[]>();
  for (const r of ingresses) {
    const hosts = new Set([...r.routes.map((x) => x.host), ...r.tls.map((t) => t.host)]);
    const list: { host: string; proxy: string }[] = [];
    for (const h of [...hosts].sort()) {
      const proxy = owners.get(h);
      if (proxy !== undefined) list.push({ host: h, proxy });
    }
    if (list.length > 0) shared.set(r, list);
  }
  return { httpVirtualHosts: httpOut, httpsVirtualHosts: httpsOut, clusters: [...clusters.values()], secrets: [...secrets.values()], shared };
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** mergeIngresses, giving back the very same result while its inputs are
 *  the same objects (a reload that touched neither an Ingress nor a root
 *  sharing a host), so unchanged virtual hosts stay the same objects. */
export class IngressMerger {
  #last: { http: VirtualHost[]; https: SecureVirtualHost[]; owners: Map<string, string>; ingresses: IngressResult[]; out: MergedHosts } | undefined;

  merge(proxyHttp: VirtualHost[], proxyHttps: SecureVirtualHost[], owners: Map<string, string>, ingresses: IngressResult[]): MergedHosts {
    const l = this.#last;
    if (
      l &&
      sameList(l.ingresses, ingresses) &&
      sameList(l.http, proxyHttp) &&
      sameList(l.https, proxyHttps) &&
      l.owners.size === owners.size &&
      [...owners].every(([k, v]) => l.owners.get(k) === v)
    ) {
      return l.out;
    }
    const out = mergeIngresses(proxyHttp, proxyHttps, owners, ingresses);
    this.#last = { http: [...proxyHttp], https: [...proxyHttps], owners, ingresses: [...ingresses], out };
    return out;
  }
}
