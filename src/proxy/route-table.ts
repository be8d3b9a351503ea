// ProxyConfig compiled for the hot path: host maps per listener kind, routes
// as predicate lists in config order, weighted clusters with cumulative
// weights, header policies as functions. A virtual host is compiled once per
// config object and kept while the clusters it names stay the same.
import type { CookieRewrite, ProxyConfig, Route, SecureVirtualHost, TcpForward, VirtualHost, HeaderOps } from '../dag/index.ts';
import type { ClusterRuntime } from './cluster.ts';
import { compileCookieRewrites, type CompiledCookieRewrites } from './cookie-rewrite.ts';
import { compileHeaderOps, type CompiledHeaderOps } from './header-ops.ts';
import { HostTable } from './host.ts';
import { compileHeader, compilePath, compileQuery, type Predicate, type RequestView } from './matchers.ts';
import { record, stillValid, type ClusterLookup, type Reusable, type Warn } from './reusable.ts';
import type { RequestFilter } from './request-filter.ts';
import type { TlsChoice } from './tls-choice.ts';

export interface CompiledBackend {
  name: string;
  cluster: ClusterRuntime | undefined;
  /** Upper bound of this backend's share in [0, total). */
  upTo: number;
  requestOps: CompiledHeaderOps;
  responseOps: CompiledHeaderOps;
  /** Service-level literal Host; wins over the route's host rewrite. */
  hostRewrite?: string;
  /** A backend that answers locally with this status (an unresolved Gateway API backendRef). */
  directStatus?: number;
  /** Set-Cookie rewrites for this backend's responses. */
  cookies?: CompiledCookieRewrites;
}

export interface CompiledRoute {
  route: Route;
  preds: Predicate[];
  requestOps: CompiledHeaderOps;
  responseOps: CompiledHeaderOps;
  backends: CompiledBackend[];
  totalWeight: number;
  mirrors?: { cluster: ClusterRuntime | undefined; name: string; percent: number }[];
  /** The path prefix this route matched on, for prefixRewrite. */
  prefix?: string;
  hostHeader?: string; // lower-case header name for a dynamic host rewrite
  /** The request filters of this route, in filter order (often none). */
  filters: readonly RequestFilter[];
}

export interface CompiledVhost {
  fqdn: string;
  /** The virtual host this was compiled from (request filters see it). */
  config: VirtualHost | SecureVirtualHost;
  routes: CompiledRoute[];
  secure?: SecureVirtualHost;
}

export interface CompiledTcp {
  backends: CompiledBackend[];
  totalWeight: number;
}

export interface RouteTables {
  http: HostTable<CompiledVhost>;
  https: HostTable<CompiledVhost>;
}

const NO_OPS = compileHeaderOps(undefined);
const NO_FILTERS: readonly RequestFilter[] = Object.freeze([]);

/** Gives a route its request filters (the runtime's FilterChain). */
export type FiltersFor = (vhost: VirtualHost | SecureVirtualHost, route: Route, secure: boolean) => readonly RequestFilter[];
const noFilters: FiltersFor = () => NO_FILTERS;

function ops(o: HeaderOps | undefined, phase: 'request' | 'response'): CompiledHeaderOps {
  return o && (o.set.length || o.remove.length || o.add?.length) ? compileHeaderOps(o, phase) : NO_OPS;
}

export function compileBackends(
  list: { cluster: string; weight: number; requestHeaders?: HeaderOps; responseHeaders?: HeaderOps; hostRewrite?: string; directStatus?: number; cookieRewrites?: CookieRewrite[] }[],
  clusters: ClusterLookup,
): { backends: CompiledBackend[]; totalWeight: number } {
  let total = 0;
  const anyWeight = list.some((w) => w.weight > 0);
  const backends: CompiledBackend[] = [];
  for (const w of list) {
    const weight = anyWeight ? Math.max(0, w.weight) : 1;
    if (weight === 0) continue;
    total += weight;
    const cookies = compileCookieRewrites(w.cookieRewrites);
    backends.push({
      name: w.cluster,
      cluster: w.directStatus === undefined ? clusters.get(w.cluster) : undefined,
      upTo: total,
      requestOps: ops(w.requestHeaders, 'request'),
      responseOps: ops(w.responseHeaders, 'response'),
      ...(w.hostRewrite ? { hostRewrite: w.hostRewrite } : {}),
      ...(w.directStatus !== undefined ? { directStatus: w.directStatus } : {}),
      ...(cookies !== undefined ? { cookies } : {}),
    });
  }
  return { backends, totalWeight: total };
}

export function compileRoute(route: Route, clusters: ClusterLookup, filters: readonly RequestFilter[] = NO_FILTERS): CompiledRoute {
  const preds: Predicate[] = [compilePath(route.path)];
  for (const h of route.headers) preds.push(compileHeader(h));
  for (const q of route.queryParams) preds.push(compileQuery(q));
  const out: CompiledRoute = {
    route,
    preds,
    requestOps: ops(route.requestHeaders, 'request'),
    responseOps: ops(route.responseHeaders, 'response'),
    backends: [],
    totalWeight: 0,
    filters,
  };
  if (route.path.kind === 'prefix') out.prefix = route.path.value;
  if (route.hostRewrite?.fromHeader) out.hostHeader = route.hostRewrite.fromHeader.toLowerCase();
  if (route.action.kind === 'forward') {
    const b = compileBackends(route.action.clusters, clusters);
    out.backends = b.backends;
    out.totalWeight = b.totalWeight;
    if (route.action.mirrors) out.mirrors = route.action.mirrors.map((m) => ({ name: m.cluster, cluster: clusters.get(m.cluster), percent: m.percent }));
  }
  return out;
}

function compileVhost(v: VirtualHost, clusters: ClusterLookup, warn: Warn, filtersFor: FiltersFor, secure: boolean): CompiledVhost {
  const routes: CompiledRoute[] = [];
  for (const r of v.routes) {
    try {
      routes.push(compileRoute(r, clusters, filtersFor(v, r, secure)));
    } catch (err) {
      // A route the runtime cannot compile (a regex JavaScript rejects) is
      // left out; the rest of the virtual host keeps serving.
      warn(v.fqdn, `route ${JSON.stringify(r.path)} not served: ${(err as Error).message}`);
    }
  }
  return { fqdn: v.fqdn.toLowerCase(), config: v, routes };
}

/** Compiles route tables apply after apply, keeping the compiled virtual
 *  host of each config object that comes back (a worker keeps the objects
 *  of the virtual hosts a config delta did not touch). The result is what
 *  a fresh compile of the same config would give. */
export class RouteTableCompiler {
  readonly #http = new WeakMap<VirtualHost, Reusable<CompiledVhost>>();
  readonly #https = new WeakMap<SecureVirtualHost, Reusable<CompiledVhost>>();

  /** `listener`: the tables of that port listener (ProxyConfig.listeners);
   *  absent: the proxy's own listeners'. */
  compile(config: ProxyConfig, clusters: ClusterLookup, warn: Warn = () => {}, filtersFor: FiltersFor = noFilters, listener?: string): RouteTables {
    const http = new HostTable<CompiledVhost>();
    const https = new HostTable<CompiledVhost>();
    for (const v of config.httpVirtualHosts) {
      if (v.listener !== listener) continue;
      let kept = this.#http.get(v);
      if (!stillValid(kept, clusters, warn)) {
        kept = record(clusters, warn, (cl, w) => compileVhost(v, cl, w, filtersFor, false));
        this.#http.set(v, kept);
      }
      http.add(kept.value.fqdn, kept.value, v.wildcardAnyDepth === true);
    }
    for (const v of config.httpsVirtualHosts) {
      if (v.listener !== listener) continue;
      let kept = this.#https.get(v);
      if (!stillValid(kept, clusters, warn)) {
        kept = record(clusters, warn, (cl, w): CompiledVhost => ({ ...compileVhost(v, cl, w, filtersFor, true), secure: v }));
        this.#https.set(v, kept);
      }
      https.add(kept.value.fqdn, kept.value, v.wildcardAnyDepth === true);
    }
    return { http, https };
  }
}

export function compileTcp(f: TcpForward, clusters: ClusterLookup): CompiledTcp {
  return compileBackends(f.clusters, clusters);
}

/** The Host to send upstream after route and service rewrites, or undefined to keep it. */
export function rewrittenHost(route: CompiledRoute, backend: CompiledBackend, header: (name: string) => string | undefined): string | undefined {
  if (backend.hostRewrite) return backend.hostRewrite;
  const hr = route.route.hostRewrite;
  if (hr === undefined) return undefined;
  return hr.literal ?? (route.hostHeader !== undefined ? header(route.hostHeader) : undefined) ?? undefined;
}

/** The virtual host the Host names on a connection, or why none serves it:
 *  no such host, or (on TLS) not the one the handshake chose nor one of
 *  its Gateway listener's (the same certificate and client validation). A
 *  connection on the fallback certificate may reach only virtual hosts
 *  that enable it. */
export function findVhost(tables: RouteTables, tls: TlsChoice | undefined, host: string): CompiledVhost | 'no-route' | 'misdirected' {
  if (tls === undefined) return tables.http.lookup(host) ?? 'no-route';
  const vhost = tables.https.lookup(host);
  if (vhost === undefined) return 'no-route';
  const fits = tls.fqdn === '' ? vhost.secure?.fallbackCertificate === true : vhost.fqdn === tls.fqdn || (tls.group !== undefined && vhost.secure?.tlsGroup === tls.group);
  return fits ? vhost : 'misdirected';
}

/** The first route whose conditions all hold, in config order. */
export function matchRoute(vhost: CompiledVhost, view: RequestView): CompiledRoute | undefined {
  const routes = vhost.routes;
  outer: for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    const preds = r.preds;
    for (let j = 0; j < preds.length; j++) if (!preds[j]!(view)) continue outer;
    return r;
  }
  return undefined;
}

export function pickBackend(backends: CompiledBackend[], total: number): CompiledBackend | undefined {
  if (backends.length <= 1) return backends[0];
  const x = Math.random() * total;
  for (const b of backends) if (x < b.upTo) return b;
  return backends[backends.length - 1];
}
