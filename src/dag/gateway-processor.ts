// The Gateway API processor (Contour's gatewayapi_processor.go): the
// GatewayClasses whose controllerName is Contour's, their Gateways and the
// HTTPRoutes attached to them -> virtual hosts, clusters and secrets of the
// same ProxyConfig the HTTPProxy processor fills, and the status of every
// one of those objects in the Gateway API's shape. Pure, like the rest of
// the dag; it runs whole on every build (Gateway API objects are few).
import type { IsobarConfig } from '../config/index.ts';
import type { Service, Snapshot } from '../objects/index.ts';
import type { GatewayClassStatus, GatewayStatus, PolicyStatus, RouteStatus } from '../status/index.ts';
import type { CacheView } from './cache-view.ts';
import { BackendTLSPolicies, readConfigMaps } from './gateway-backend-tls.ts';
import { CONTROLLER_NAME, condition } from './gateway-conditions.ts';
import { processRoute, type Placement } from './gateway-httproute.ts';
import { gatewayStatus, readGateway, tlsGroupOf, type GatewayContext, type GatewayState, type RouteKind } from './gateway-listeners.ts';
import { gatewayLoadBalancer } from './gateway-load-balancer.ts';
import { comparePlacements, matchKey, type RoutePlacement } from './gateway-precedence.ts';
import { ReferenceGrants } from './gateway-refs.ts';
import { Output } from './output.ts';
import type { ProxyConfig, Route, SecureVirtualHost, TcpForward } from './proxy-config.ts';
import type { RouteParentStatus } from '../status/index.ts';
import { arr, int, rec, str, strMap } from './safe.ts';

export interface GatewayApiResult {
  proxyConfig: ProxyConfig;
  gatewayClasses: GatewayClassStatus[];
  gateways: GatewayStatus[];
  httpRoutes: RouteStatus[];
  grpcRoutes: RouteStatus[];
  tlsRoutes: RouteStatus[];
  tcpRoutes: RouteStatus[];
  backendTLSPolicies: PolicyStatus[];
  /** The load balancer Services Gateways ask for (gateway-load-balancer.ts). */
  loadBalancers: Service[];
  /** Whether the snapshot holds any Gateway API object (the report lists the arrays then). */
  present: boolean;
}

interface Meta {
  namespace: string;
  name: string;
  creation: string;
  generation: number;
}

function metaOf(o: unknown): Meta {
  const m = rec(rec(o)?.metadata) ?? {};
  return { namespace: str(m.namespace) || 'default', name: str(m.name), creation: str(m.creationTimestamp), generation: int(m.generation) };
}

/** Routes kept off a TLS host because the host is served under another
 *  client certificate validation than their listener asks for: each
 *  parent says so. Kept off every host of a parent: Accepted False,
 *  NotAllowedByListeners; off some: PartiallyInvalid, UnsupportedValue. */
class HostsKeptOff {
  readonly #parents = new Map<RouteParentStatus, { placed: boolean; hosts: Map<string, string> }>();

  #of(p: Placement) {
    let e = p.parent ? this.#parents.get(p.parent) : undefined;
    if (!e && p.parent) this.#parents.set(p.parent, (e = { placed: false, hosts: new Map() }));
    return e;
  }

  on(p: Placement): void {
    const e = this.#of(p);
    if (e) e.placed = true;
  }

  off(p: Placement, why: string): void {
    this.#of(p)?.hosts.set(p.fqdn, why);
  }

  report(): void {
    for (const [parent, e] of this.#parents) {
      if (e.hosts.size === 0) continue;
      const list = [...e.hosts].map(([h, why]) => `${h} (${why})`).join(', ');
      const message = `not served on ${list}: a TLS host has one client certificate validation, and this route's listener asks for another`;
      const accepted = parent.conditions.find((c) => c.type === 'Accepted');
      const generation = accepted?.observedGeneration ?? 0;
      if (!e.placed) parent.conditions = parent.conditions.map((c) => (c.type === 'Accepted' ? condition('Accepted', false, 'NotAllowedByListeners', message, generation) : c));
      else parent.conditions.push(condition('PartiallyInvalid', true, 'UnsupportedValue', message, generation));
    }
  }
}

/** Oldest first, then namespace/name: the spec's tie-break for Gateways and routes. */
function byAge(a: unknown, b: unknown): number {
  const x = metaOf(a);
  const y = metaOf(b);
  if (x.creation !== y.creation) return x.creation === '' ? 1 : y.creation === '' ? -1 : x.creation < y.creation ? -1 : 1;
  const kx = `${x.namespace}/${x.name}`;
  const ky = `${y.namespace}/${y.name}`;
  return kx < ky ? -1 : kx > ky ? 1 : 0;
}

const byKey = (a: { namespace: string; name: string }, b: { namespace: string; name: string }) => {
  const x = `${a.namespace}/${a.name}`;
  const y = `${b.namespace}/${b.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
};

/** `served`: the TLS hosts the other processors (HTTPProxy, Ingress) serve
 *  on the proxy's own HTTPS listener: each keeps its client validation, and
 *  routes that ask for another are kept off it. */
export function processGatewayApi(snap: Snapshot, view: CacheView, config: IsobarConfig, served: readonly SecureVirtualHost[] = []): GatewayApiResult {
  const classesRaw = arr(snap.gatewayClasses);
  const gatewaysRaw = arr(snap.gateways);
  const routesRaw = arr(snap.httpRoutes);
  const out = new Output();
  const present =
    classesRaw.length + gatewaysRaw.length + routesRaw.length + arr(snap.grpcRoutes).length + arr(snap.tlsRoutes).length + arr(snap.tcpRoutes).length + arr(snap.referenceGrants).length + arr(snap.backendTLSPolicies).length > 0;

  // Static provisioning (Contour's gateway.gatewayRef): the one Gateway
  // named and its class, whatever the class's controllerName, as Contour's
  // cache keeps them (internal/dag/cache.go). Otherwise every GatewayClass
  // naming Contour's controller, and their Gateways.
  const ref = config.gatewayRef;
  const refGateway = ref === undefined ? undefined : gatewaysRaw.find((g) => {
    const m = metaOf(g);
    return m.namespace === ref.namespace && m.name === ref.name;
  });
  const refClass = refGateway === undefined ? undefined : str(rec(rec(refGateway)?.spec)?.gatewayClassName);
  const classes = new Map<string, boolean>(); // name -> accepted
  const gatewayClasses: GatewayClassStatus[] = [];
  for (const c of classesRaw) {
    const spec = rec(rec(c)?.spec);
    const ours = str(spec?.controllerName) === CONTROLLER_NAME;
    const m = metaOf(c);
    if (ref !== undefined ? m.name !== refClass : !ours) continue;
    const params = spec?.parametersRef !== undefined;
    // Another controller's class (a provisioner's, say) is used as it is:
    // its parameters and its status are that controller's.
    classes.set(m.name, !ours || !params);
    if (!ours) continue;
    gatewayClasses.push({
      namespace: '',
      name: m.name,
      conditions: [
        params
          ? condition('Accepted', false, 'InvalidParameters', 'parametersRef is not supported: isobar takes no GatewayClass parameters', m.generation)
          : condition('Accepted', true, 'Accepted', 'GatewayClass accepted', m.generation),
        condition('SupportedVersion', true, 'SupportedVersion', 'Gateway API v1 (Standard channel) is supported', m.generation),
      ],
    });
  }
  gatewayClasses.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const n of arr(snap.namespaces)) {
    const m = rec(rec(n)?.metadata);
    const name = str(m?.name);
    if (name !== '') namespaceLabels.set(name, { 'kubernetes.io/metadata.name': name, ...strMap(m?.labels) });
  }
  const grants = new ReferenceGrants(arr(snap.referenceGrants));
  const configMaps = readConfigMaps(arr(snap.configMaps));
  const gctx: GatewayContext = {
    view,
    grants,
    namespaceLabels,
    addSecret: (id, certPem, keyPem) => out.addSecret({ id, certPem, keyPem }),
    addCaBundle: (id, caPem) => out.addCaBundle({ id, caPem }),
    configMaps,
    ports: new Map(),
    portKinds: new Map(),
    portListeners: new Map(),
    bindPorts: new Map(),
  };

  const gateways = new Map<string, GatewayState>();
  const gatewayStatuses: GatewayStatus[] = [];
  const loadBalancers: Service[] = [];
  const toServe = ref === undefined ? [...gatewaysRaw].sort(byAge) : refGateway === undefined ? [] : [refGateway];
  for (const g of toServe) {
    const className = str(rec(rec(g)?.spec)?.gatewayClassName);
    const accepted = classes.get(className);
    if (accepted === undefined) continue; // another controller's Gateway
    const m = metaOf(g);
    if (!accepted) {
      gatewayStatuses.push({
        namespace: m.namespace,
        name: m.name,
        addresses: [],
        conditions: [
          condition('Accepted', false, 'InvalidParameters', `GatewayClass ${className} is not accepted`, m.generation),
          condition('Programmed', false, 'Invalid', 'Gateway is not programmed: see its Accepted condition', m.generation),
        ],
        listeners: [],
      });
      continue;
    }
    const state = readGateway(g, gctx);
    gateways.set(`${m.namespace}/${m.name}`, state);
    const lb = gatewayLoadBalancer(state, g);
    if (!lb) continue;
    if (view.services.get(lb.metadata.namespace, lb.metadata.name)) {
      state.conds.set('Programmed', 'AddressNotAssigned', `Service ${lb.metadata.namespace}/${lb.metadata.name} already exists: isobar does not replace it with this Gateway's load balancer`);
    } else loadBalancers.push(lb);
  }

  const policies = new BackendTLSPolicies(arr(snap.backendTLSPolicies), configMaps, view);
  const bctx = { view, grants, config, out, policies };
  const placements: RoutePlacement[] = [];
  const passthrough: Placement[] = [];
  const tcp: Placement[] = [];
  const routeStatuses = (kind: RouteKind, list: unknown[]): RouteStatus[] => {
    const out: RouteStatus[] = [];
    for (const r of [...list].sort(byAge)) {
      const res = processRoute(kind, r, gateways, bctx);
      if (res.status.parents.length === 0) continue; // attached to no Gateway of ours
      out.push(res.status);
      for (const p of res.placements) {
        if (p.route && p.rank) placements.push(p as RoutePlacement);
        else if (p.passthrough || p.tcpProxy) passthrough.push(p);
        else if (p.tcp) tcp.push(p);
      }
    }
    return out.sort(byKey);
  };
  const httpRoutes = routeStatuses('HTTPRoute', routesRaw);
  const grpcRoutes = routeStatuses('GRPCRoute', arr(snap.grpcRoutes));
  const tlsRoutes = routeStatuses('TLSRoute', arr(snap.tlsRoutes));
  const tcpRoutes = routeStatuses('TCPRoute', arr(snap.tcpRoutes));
  for (const gw of gateways.values()) gatewayStatuses.push(gatewayStatus(gw));
  gatewayStatuses.sort(byKey);

  // TLSRoutes by SNI, passed through or terminated: of TLSRoutes naming
  // one host, the oldest wins.
  for (const p of passthrough) {
    const v = out.ensureHttps(p.fqdn, p.listener);
    if (v.passthrough || v.tcpProxy || v.routes.length > 0 || v.secretId !== undefined) continue;
    if (p.passthrough) v.passthrough = p.passthrough;
    else if (p.tcpProxy && p.secretId !== undefined) {
      v.tcpProxy = p.tcpProxy;
      v.secretId = p.secretId;
    }
  }

  // Each host's routes in the spec's precedence; of routes with the same
  // match, the one that comes first wins.
  placements.sort(comparePlacements);
  const rank = new Map<Route, number>();
  const taken = new Set<string>();
  // One client validation per TLS host: the first a placement asks for
  // (the stricter setting wins over none). Routes of listeners that ask for
  // another are not served on it: a route never goes out under weaker
  // validation than its listener asked for.
  const validationOf = new Map<string, string>();
  const hostOf = (p: Placement) => `${p.listener ?? ''}\u0000${p.fqdn}`;
  // An HTTPProxy's or Ingress's TLS host keeps its own validation (none included).
  const others = new Set<string>();
  for (const v of served) {
    if (v.listener !== undefined) continue;
    validationOf.set(`\u0000${v.fqdn}`, JSON.stringify(v.clientValidation ?? null));
    others.add(`\u0000${v.fqdn}`);
  }
  for (const p of placements) if (p.secure && p.clientValidation && !validationOf.has(hostOf(p))) validationOf.set(hostOf(p), JSON.stringify(p.clientValidation));
  const keptOff = new HostsKeptOff();
  for (const p of placements) {
    const k = `${p.secure ? 's' : 'p'}\u0000${hostOf(p)}\u0000${matchKey(p.route)}`;
    if (taken.has(k)) continue;
    if (p.secure && (validationOf.get(hostOf(p)) ?? 'null') !== JSON.stringify(p.clientValidation ?? null)) {
      keptOff.off(p, others.has(hostOf(p)) ? 'an HTTPProxy or Ingress serves it' : 'another listener of a Gateway serves it');
      continue;
    }
    keptOff.on(p);
    taken.add(k);
    rank.set(p.route, rank.size);
    if (p.secure) {
      const v = out.ensureHttps(p.fqdn, p.listener);
      if (v.passthrough || v.tcpProxy) continue; // the host is a TLSRoute's
      if (v.secretId === undefined && p.secretId !== undefined) v.secretId = p.secretId;
      if (p.clientValidation && !v.clientValidation) v.clientValidation = p.clientValidation;
      // A host an HTTPProxy or Ingress shares keeps its own TLS settings: no group.
      if (p.tlsGroup !== undefined && v.tlsGroup === undefined && !others.has(hostOf(p))) v.tlsGroup = p.tlsGroup;
      out.addRoute(v, p.route);
    } else out.addRoute(out.ensureHttp(p.fqdn, p.listener), p.route);
  }
  keptOff.report();
  // An HTTPS listener answers TLS for every name it covers, routes or not
  // (conformance HTTPRouteHTTPSListener: a name no route has gets the
  // listener's certificate and a 404, not a closed handshake).
  for (const gw of gateways.values()) {
    for (const l of gw.listeners) {
      if (!l.usable || l.protocol !== 'HTTPS' || l.secretId === undefined) continue;
      const v = out.ensureHttps(l.hostname === '' ? '*' : l.hostname, l.proxyListener);
      if (!v.passthrough && !v.tcpProxy && !others.has(`${l.proxyListener ?? ''}\u0000${v.fqdn}`)) v.tlsGroup ??= tlsGroupOf(gw, l);
      if (v.passthrough || v.tcpProxy || v.secretId !== undefined || v.routes.length > 0) continue;
      v.secretId = l.secretId;
      v.keepEmpty = true;
      if (l.clientValidation) v.clientValidation = l.clientValidation;
    }
  }
  // The port listeners some served listener uses.
  const used = new Set<string>();
  for (const gw of gateways.values()) for (const l of gw.listeners) if (l.usable && l.proxyListener !== undefined) used.add(l.proxyListener);
  // A TCP listener forwards to its oldest TCPRoute (the spec's rule: every
  // route attached is Accepted, the oldest is the one served).
  const tcpOf = new Map<string, TcpForward>();
  for (const p of tcp) if (p.listener !== undefined && p.tcp && !tcpOf.has(p.listener)) tcpOf.set(p.listener, p.tcp);
  out.listeners = [...gctx.portListeners.values()].filter((l) => used.has(l.name)).map((l) => (tcpOf.has(l.name) ? { ...l, tcpProxy: tcpOf.get(l.name)! } : l));
  const proxyConfig = out.finish();
  // Gateway API wildcards cover any number of labels.
  for (const v of [...proxyConfig.httpVirtualHosts, ...proxyConfig.httpsVirtualHosts]) if (v.fqdn.startsWith('*.')) v.wildcardAnyDepth = true;
  const byRank = (a: Route, b: Route) => rank.get(a)! - rank.get(b)!;
  for (const v of proxyConfig.httpVirtualHosts) v.routes.sort(byRank);
  for (const v of proxyConfig.httpsVirtualHosts) v.routes.sort(byRank);
  // A TLS host without a certificate (and not passed through) cannot be served.
  proxyConfig.httpsVirtualHosts = proxyConfig.httpsVirtualHosts.filter((v) => v.secretId !== undefined || v.passthrough !== undefined);
  return { proxyConfig, gatewayClasses, gateways: gatewayStatuses, httpRoutes, grpcRoutes, tlsRoutes, tcpRoutes, backendTLSPolicies: policies.statuses(), loadBalancers, present };
}
