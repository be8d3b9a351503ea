// Accumulates what the processor produces and assembles the ProxyConfig:
// virtual hosts (routes de-duplicated by match, Contour order), clusters
// by stable name, secrets and CA bundles by id.
import type {
  CaBundle,
  CircuitBreakers,
  Cluster,
  CorsConfig,
  Endpoint,
  GlobalRateLimitPolicyConfig,
  DnsLookupFamily,
  HealthCheck,
  IpFilterConfig,
  PortListener,
  LocalRateLimitConfig,
  JwtConfig,
  ExternalAuthorization,
  ProxyConfig,
  Route,
  SecureVirtualHost,
  SlowStart,
  TcpForward,
  TcpHealthCheck,
  TlsSecret,
  TlsVersion,
  UpstreamTls,
  VirtualHost,
} from './proxy-config.ts';
import { sortRoutes } from './route-order.ts';

interface VhostDraft {
  fqdn: string;
  /** A port listener's host (Gateway API listeners beyond the first port). */
  listener?: string;
  /** In insertion order; identical matches replaced (see addRoute). */
  routes: Route[];
  /** Replaces `routes` once a virtual host has many routes. */
  byKey?: Map<string, Route>;
  cors?: CorsConfig;
  ipFilter?: IpFilterConfig;
  localRateLimit?: LocalRateLimitConfig;
  globalRateLimit?: GlobalRateLimitPolicyConfig;
  jwt?: JwtConfig;
  authorization?: ExternalAuthorization;
}

export interface SecureDraft extends VhostDraft {
  secretId?: string;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  clientValidation?: SecureVirtualHost['clientValidation'];
  fallbackCertificate: boolean;
  passthrough?: TcpForward;
  tcpProxy?: TcpForward;
  /** Kept without routes: a Gateway HTTPS listener's name, which answers
   *  TLS (and 404) whether or not a route names it. */
  keepEmpty?: true;
  tlsGroup?: string;
}

/** Contour's conditionsToString: routes with equal keys have identical matches. */
export function routeKey(r: Route): string {
  const base = r.path.segment ? `segment\u0000${r.path.value}` : `${r.path.kind}\u0000${r.path.value}`;
  if (r.headers.length === 0 && r.queryParams.length === 0) return base;
  return `${base}\u0000${JSON.stringify(r.headers)}\u0000${JSON.stringify(r.queryParams)}`;
}

/** A 40-bit hex digest (cyrb53, truncated): names only need to tell apart
 *  the few variants of one Service port, and this runs per cluster. */
function hash40(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const n = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return n.toString(16).padStart(14, '0').slice(0, 10);
}

/** Identities repeat across builds (every rebuild of an unchanged config). */
const hashMemo = new Map<string, string>();

/** What shapes a cluster's behaviour besides namespace/service/port. */
export interface ClusterShape {
  protocol: Cluster['protocol'];
  tls?: UpstreamTls;
  loadBalancer: Cluster['loadBalancer'];
  healthCheck?: HealthCheck;
  tcpHealthCheck?: TcpHealthCheck;
  slowStart?: SlowStart;
  connectTimeoutMs: number;
  idleConnectionTimeoutMs: number | null;
  circuitBreakers?: CircuitBreakers;
  maxRequestsPerConnection?: number;
  perConnectionBufferLimitBytes?: number;
  dnsLookupFamily?: DnsLookupFamily;
  /** The Service port health checks probe (a healthPort): the same Service
   *  port probed on another port is another cluster. */
  healthServicePort?: number;
}

function sameBreakers(a: CircuitBreakers | undefined, b: CircuitBreakers | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.maxConnections === b.maxConnections &&
    a.maxPendingRequests === b.maxPendingRequests &&
    a.maxRequests === b.maxRequests &&
    a.maxRetries === b.maxRetries &&
    a.perHostMaxConnections === b.perHostMaxConnections
  );
}

export function sameShape(a: ClusterShape, b: ClusterShape): boolean {
  if (a.protocol !== b.protocol || a.connectTimeoutMs !== b.connectTimeoutMs || a.idleConnectionTimeoutMs !== b.idleConnectionTimeoutMs) return false;
  if (a.loadBalancer !== b.loadBalancer) {
    if (a.loadBalancer.strategy !== b.loadBalancer.strategy) return false;
    if (JSON.stringify(a.loadBalancer.hashPolicies) !== JSON.stringify(b.loadBalancer.hashPolicies)) return false;
  }
  if (a.healthCheck !== b.healthCheck && JSON.stringify(a.healthCheck) !== JSON.stringify(b.healthCheck)) return false;
  if (!sameBreakers(a.circuitBreakers, b.circuitBreakers)) return false;
  if (a.maxRequestsPerConnection !== b.maxRequestsPerConnection || a.perConnectionBufferLimitBytes !== b.perConnectionBufferLimitBytes || a.dnsLookupFamily !== b.dnsLookupFamily) return false;
  if (a.healthServicePort !== b.healthServicePort) return false;
  if (a.tcpHealthCheck !== b.tcpHealthCheck && JSON.stringify(a.tcpHealthCheck) !== JSON.stringify(b.tcpHealthCheck)) return false;
  if (a.slowStart !== b.slowStart && JSON.stringify(a.slowStart) !== JSON.stringify(b.slowStart)) return false;
  const x = a.tls;
  const y = b.tls;
  if (!x || !y) return x === y;
  if (x.minVersion !== y.minVersion || x.maxVersion !== y.maxVersion || x.sni !== y.sni || x.clientCertificateId !== y.clientCertificateId) return false;
  const v = x.validation;
  const w = y.validation;
  if (!v || !w) return v === w;
  if (v.caBundleId !== w.caBundleId || v.subjectNames.length !== w.subjectNames.length) return false;
  if (JSON.stringify(v.uriSubjectNames ?? []) !== JSON.stringify(w.uriSubjectNames ?? [])) return false;
  for (let i = 0; i < v.subjectNames.length; i++) if (v.subjectNames[i] !== w.subjectNames[i]) return false;
  return true;
}

/** The shape as a string; built by hand because it runs once per route service. */
export function clusterIdentity(c: ClusterShape): string {
  let id = `${c.protocol}|${c.loadBalancer.strategy}|${c.connectTimeoutMs}|${c.idleConnectionTimeoutMs}`;
  const t = c.tls;
  if (t) {
    id += `|tls:${t.minVersion}-${t.maxVersion}|sni:${t.sni ?? ''}|cc:${t.clientCertificateId ?? ''}`;
    if (t.validation) id += `|ca:${t.validation.caBundleId}|san:${JSON.stringify(t.validation.subjectNames)}${t.validation.uriSubjectNames ? `|uri:${JSON.stringify(t.validation.uriSubjectNames)}` : ''}`;
  }
  if (c.loadBalancer.hashPolicies.length > 0) id += `|hash:${JSON.stringify(c.loadBalancer.hashPolicies)}`;
  if (c.healthCheck) id += `|hc:${JSON.stringify(c.healthCheck)}`;
  const cb = c.circuitBreakers;
  if (cb) id += `|cb:${cb.maxConnections},${cb.maxPendingRequests},${cb.maxRequests},${cb.maxRetries},${cb.perHostMaxConnections}`;
  if (c.tcpHealthCheck) id += `|tcphc:${JSON.stringify(c.tcpHealthCheck)}`;
  if (c.slowStart) id += `|slow:${JSON.stringify(c.slowStart)}`;
  if (c.maxRequestsPerConnection !== undefined) id += `|mrpc:${c.maxRequestsPerConnection}`;
  if (c.perConnectionBufferLimitBytes !== undefined) id += `|buf:${c.perConnectionBufferLimitBytes}`;
  if (c.dnsLookupFamily !== undefined) id += `|dns:${c.dnsLookupFamily}`;
  if (c.healthServicePort !== undefined) id += `|hp:${c.healthServicePort}`;
  return id;
}

export class Output {
  #http = new Map<string, VhostDraft>();
  #https = new Map<string, SecureDraft>();
  #clusters = new Map<string, Cluster>();
  #secrets = new Map<string, TlsSecret>();
  #caBundles = new Map<string, CaBundle>();
  /** Shapes already named, per resolved Service port. */
  #shapes: Map<object, [ClusterShape, string][]> | undefined; // made on first use: one Output per root
  fallbackCertificateId: string | undefined;
  /** Gateway listener ports of their own (ProxyConfig.listeners). */
  listeners: PortListener[] = [];

  /** The host `fqdn` of the proxy's HTTP listener, or of port listener `listener`. */
  ensureHttp(fqdn: string, listener?: string): VhostDraft {
    const k = fqdn.toLowerCase();
    const key = listener === undefined ? k : `${listener}\u0000${k}`;
    let v = this.#http.get(key);
    if (!v) {
      v = { fqdn: k, routes: [] };
      if (listener !== undefined) v.listener = listener;
      this.#http.set(key, v);
    }
    return v;
  }

  ensureHttps(fqdn: string, listener?: string): SecureDraft {
    const k = fqdn.toLowerCase();
    const key = listener === undefined ? k : `${listener}\u0000${k}`;
    let v = this.#https.get(key);
    if (!v) {
      v = { fqdn: k, routes: [], minVersion: '1.2', maxVersion: '1.3', fallbackCertificate: false };
      if (listener !== undefined) v.listener = listener;
      this.#https.set(key, v);
    }
    return v;
  }

  /** AddRoute: a later route with identical match conditions replaces an earlier one. */
  addRoute(v: VhostDraft, r: Route): void {
    if (!v.byKey && v.routes.length >= 32) v.byKey = new Map(v.routes.map((x) => [routeKey(x), x]));
    if (v.byKey) {
      const k = routeKey(r);
      v.byKey.delete(k); // re-inserted last, as the linear path does
      v.byKey.set(k, r);
      return;
    }
    // Linear scan: virtual hosts hold few routes, and most differ in path.
    const list = v.routes;
    for (let i = 0; i < list.length; i++) {
      const o = list[i]!;
      if (o.path.value === r.path.value && o.path.kind === r.path.kind && routeKey(o) === routeKey(r)) {
        list.splice(i, 1);
        break;
      }
    }
    list.push(r);
  }

  /** The cluster for a Service port with this shape, created on first use;
   *  its name is derived from everything that shapes its behaviour. */
  cluster(namespace: string, service: string, servicePort: number, shape: ClusterShape, endpoints: () => Endpoint[], owner?: object): string {
    // Several routes usually reach one Service port with the same shape:
    // compare shapes field by field before building an identity string.
    const seen = owner ? this.#shapes?.get(owner) : undefined;
    if (seen) for (const [prev, name] of seen) if (sameShape(prev, shape)) return name;
    const name = this.#clusterName(namespace, service, servicePort, shape, endpoints);
    if (owner) {
      if (seen) seen.push([shape, name]);
      else (this.#shapes ??= new Map()).set(owner, [[shape, name]]);
    }
    return name;
  }

  #clusterName(namespace: string, service: string, servicePort: number, shape: ClusterShape, endpoints: () => Endpoint[]): string {
    const identity = clusterIdentity(shape);
    let hash = hashMemo.get(identity);
    if (hash === undefined) {
      hash = hash40(identity);
      if (hashMemo.size > 100_000) hashMemo.clear();
      hashMemo.set(identity, hash);
    }
    const name = `${namespace}/${service}/${servicePort}/${hash}`;
    if (!this.#clusters.has(name)) {
      const c: Cluster = {
        name,
        namespace,
        service,
        servicePort,
        protocol: shape.protocol,
        endpoints: endpoints(),
        loadBalancer: shape.loadBalancer,
        connectTimeoutMs: shape.connectTimeoutMs,
        idleConnectionTimeoutMs: shape.idleConnectionTimeoutMs,
      };
      if (shape.tls) c.tls = shape.tls;
      if (shape.healthCheck) c.healthCheck = shape.healthCheck;
      if (shape.circuitBreakers) c.circuitBreakers = shape.circuitBreakers;
      if (shape.tcpHealthCheck) c.tcpHealthCheck = shape.tcpHealthCheck;
      if (shape.slowStart) c.slowStart = shape.slowStart;
      if (shape.maxRequestsPerConnection !== undefined) c.maxRequestsPerConnection = shape.maxRequestsPerConnection;
      if (shape.perConnectionBufferLimitBytes !== undefined) c.perConnectionBufferLimitBytes = shape.perConnectionBufferLimitBytes;
      if (shape.dnsLookupFamily !== undefined) c.dnsLookupFamily = shape.dnsLookupFamily;
      this.#clusters.set(name, c);
    }
    return name;
  }

  /** Every cluster and secret registered, for a processor that assembles
   *  its virtual hosts itself (Ingress: which listener a host is on depends
   *  on every Ingress). */
  registered(): { clusters: Cluster[]; secrets: TlsSecret[] } {
    return { clusters: [...this.#clusters.values()], secrets: [...this.#secrets.values()] };
  }

  addSecret(s: TlsSecret): void {
    this.#secrets.set(s.id, s);
  }

  addCaBundle(b: CaBundle): void {
    this.#caBundles.set(b.id, b);
  }

  finish(): ProxyConfig {
    // By fqdn, then the proxy's own listener before port listeners.
    const byFqdn = (a: VirtualHost, b: VirtualHost) => {
      if (a.fqdn !== b.fqdn) return a.fqdn < b.fqdn ? -1 : 1;
      const x = a.listener ?? '';
      const y = b.listener ?? '';
      return x < y ? -1 : x > y ? 1 : 0;
    };
    const httpVirtualHosts: VirtualHost[] = [];
    for (const v of this.#http.values()) {
      const routes = v.byKey ? [...v.byKey.values()] : v.routes;
      if (routes.length === 0) continue; // Contour prunes empty virtual hosts
      const h: VirtualHost = { fqdn: v.fqdn, routes: sortRoutes(routes) };
      if (v.listener !== undefined) h.listener = v.listener;
      if (v.cors) h.cors = v.cors;
      if (v.ipFilter) h.ipFilter = v.ipFilter;
      if (v.localRateLimit) h.localRateLimit = v.localRateLimit;
      if (v.globalRateLimit) h.globalRateLimit = v.globalRateLimit;
      if (v.jwt) h.jwt = v.jwt;
      if (v.authorization) h.authorization = v.authorization;
      httpVirtualHosts.push(h);
    }
    const httpsVirtualHosts: SecureVirtualHost[] = [];
    for (const v of this.#https.values()) {
      const routes = v.byKey ? [...v.byKey.values()] : v.routes;
      if (routes.length === 0 && !v.passthrough && !v.tcpProxy && !v.keepEmpty) continue;
      const s: SecureVirtualHost = {
        fqdn: v.fqdn,
        routes: sortRoutes(routes),
        minVersion: v.minVersion,
        maxVersion: v.maxVersion,
        fallbackCertificate: v.fallbackCertificate,
      };
      if (v.listener !== undefined) s.listener = v.listener;
      if (v.secretId !== undefined) s.secretId = v.secretId;
      if (v.clientValidation) s.clientValidation = v.clientValidation;
      if (v.cors) s.cors = v.cors;
      if (v.ipFilter) s.ipFilter = v.ipFilter;
      if (v.localRateLimit) s.localRateLimit = v.localRateLimit;
      if (v.globalRateLimit) s.globalRateLimit = v.globalRateLimit;
      if (v.jwt) s.jwt = v.jwt;
      if (v.authorization) s.authorization = v.authorization;
      if (v.passthrough) s.passthrough = v.passthrough;
      if (v.tcpProxy) s.tcpProxy = v.tcpProxy;
      if (v.tlsGroup !== undefined) s.tlsGroup = v.tlsGroup;
      httpsVirtualHosts.push(s);
    }
    httpVirtualHosts.sort(byFqdn);
    httpsVirtualHosts.sort(byFqdn);

    // Only what a surviving virtual host reaches is emitted, as Contour's
    // DAG walk does: a route dropped by a later fatal error leaves no
    // cluster, secret or CA bundle behind.
    const clusters = new Set<string>();
    const secrets = new Set<string>();
    const bundles = new Set<string>();
    for (const list of [httpVirtualHosts, httpsVirtualHosts]) {
      for (const v of list) {
        for (const p of v.jwt?.providers ?? []) if (p.jwks.kind === 'remote' && p.jwks.validation) bundles.add(p.jwks.validation.caBundleId);
        for (const r of v.routes) {
          const a = r.action;
          if (a.kind !== 'forward') continue;
          for (const c of a.clusters) clusters.add(c.cluster);
          for (const m of a.mirrors ?? []) clusters.add(m.cluster);
        }
      }
    }
    const useForward = (fwd: TcpForward) => {
      for (const c of fwd.clusters) clusters.add(c.cluster);
    };
    for (const l of this.listeners) if (l.tcpProxy) useForward(l.tcpProxy);
    let fallbackUsed = false;
    for (const v of httpsVirtualHosts) {
      if (v.secretId !== undefined) secrets.add(v.secretId);
      if (v.clientValidation?.caBundleId !== undefined) bundles.add(v.clientValidation.caBundleId);
      if (v.fallbackCertificate) fallbackUsed = true;
      if (v.passthrough) useForward(v.passthrough);
      if (v.tcpProxy) useForward(v.tcpProxy);
    }
    for (const name of clusters) {
      const tls = this.#clusters.get(name)?.tls;
      if (tls?.validation) bundles.add(tls.validation.caBundleId);
      if (tls?.clientCertificateId !== undefined) secrets.add(tls.clientCertificateId);
    }
    if (fallbackUsed && this.fallbackCertificateId !== undefined) secrets.add(this.fallbackCertificateId);
    const pick = <T>(m: Map<string, T>, keep: Set<string>): T[] => {
      // Usually everything registered is reachable: skip the filter then.
      const keys = keep.size === m.size ? [...m.keys()] : [...m.keys()].filter((k) => keep.has(k));
      keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return keys.map((k) => m.get(k)!);
    };
    const out: ProxyConfig = {
      httpVirtualHosts,
      httpsVirtualHosts,
      clusters: pick(this.#clusters, clusters),
      secrets: pick(this.#secrets, secrets),
      caBundles: pick(this.#caBundles, bundles),
    };
    if (fallbackUsed && this.fallbackCertificateId !== undefined) out.fallbackCertificateId = this.fallbackCertificateId;
    if (this.listeners.length > 0) out.listeners = [...this.listeners].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }
}
