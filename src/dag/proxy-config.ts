// ProxyConfig: what dag.build() produces and the proxy runtime applies.
// Plain, JSON-safe data (DESIGN.md rule 2). It never carries edge (balancer)
// keys: the only private keys in it belong to cluster Secrets the proxy is
// allowed to read (virtual host certificates, the Envoy client certificate).
// Durations are milliseconds; `null` means "disabled / infinite".

/** A route's response timeout when its HTTPProxy sets none (Envoy's and
 *  Contour's 15 s). */
export const DEFAULT_RESPONSE_TIMEOUT_MS = 15_000;

import type { CorsConfig } from './cors-config.ts';
import type { CookieRewrite, InternalRedirectConfig } from './route-policies-config.ts';
import type { IpFilterConfig } from './ip-filter-config.ts';
import type { LocalRateLimitConfig } from './local-rate-limit-config.ts';
import type { ForwardClientCertificate } from './client-cert-config.ts';
import type { DnsLookupFamily, JwtConfig, JwtRequirement } from './jwt-config.ts';
import type { ExtensionCluster, ExternalAuthorization, RouteAuthorization } from './authorization-config.ts';
import type { GlobalRateLimitPolicyConfig } from './global-rate-limit-config.ts';
export type * from './global-rate-limit-config.ts';

export type * from './cors-config.ts';
export type * from './route-policies-config.ts';
export type * from './ip-filter-config.ts';
export type * from './local-rate-limit-config.ts';
export type * from './client-cert-config.ts';
export type * from './jwt-config.ts';
export type * from './authorization-config.ts';

export type UpstreamProtocol = 'http1' | 'tls' | 'h2' | 'h2c';

export type TlsVersion = '1.2' | '1.3';

/** A certificate and key from a cluster Secret, referenced by id
 *  (`namespace/name`) from virtual hosts and clusters. */
export interface TlsSecret {
  id: string;
  certPem: string; // leaf first, then any chain
  keyPem: string;
}

/** A CA bundle from a Secret's `ca.crt` (and optional `crl.pem`). */
export interface CaBundle {
  id: string;
  caPem: string;
  crlPem?: string;
}

export interface Endpoint {
  address: string; // IP literal (v4 or v6) or DNS name for ExternalName
  port: number;
  /** The port health checks probe, when not `port` (a service's
   *  healthPort, as the endpoint's target port); absent: `port`. */
  healthPort?: number;
}

export interface HealthCheck {
  path: string;
  host: string; // default "contour-envoy-healthcheck"
  intervalMs: number; // default 10000
  timeoutMs: number; // default 2000
  unhealthyThreshold: number; // default 3
  healthyThreshold: number; // default 2
  expectedStatuses: { start: number; end: number }[]; // [start, end)
}

/** Contour's tcpproxy.healthCheckPolicy (Envoy's tcp_health_check with no
 *  payload): a connection that opens (for a TLS cluster, completes its
 *  handshake) within the timeout passes. */
export interface TcpHealthCheck {
  intervalMs: number; // default 10000
  timeoutMs: number; // default 2000
  unhealthyThreshold: number; // default 3
  healthyThreshold: number; // default 2
}

/** Envoy's slow start (Contour's slowStartPolicy): an endpoint that joined
 *  the cluster, or passed its health check after failing, less than
 *  `windowMs` ago has its weight scaled by
 *  max(minWeightPercent / 100, (max(seconds, 1) / window seconds) ^ (1 / aggression)). */
export interface SlowStart {
  windowMs: number;
  aggression: number; // > 0, default 1
  minWeightPercent: number; // 0-100, default 10
}

export type LoadBalancerStrategy =
  | 'RoundRobin'
  | 'WeightedLeastRequest'
  | 'Random'
  | 'Cookie'
  | 'RequestHash';

export interface HashPolicy {
  header?: string;
  queryParameter?: string;
  sourceIp?: boolean;
  terminal?: boolean;
}

export interface UpstreamTls {
  /** SNI sent to the backend; absent means none. */
  sni?: string;
  /** When present, the backend certificate must chain to caPem and carry a
   *  DNS SAN equal to one of subjectNames, or a URI SAN equal to one of
   *  uriSubjectNames (BackendTLSPolicy's subjectAltNames of type URI).
   *  Absent: encrypt, do not verify. */
  validation?: { caBundleId: string; subjectNames: string[]; uriSubjectNames?: string[] };
  /** Id of a TlsSecret presented when the backend asks for a client cert. */
  clientCertificateId?: string;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
}

export interface Cluster {
  /** Stable identity: equal names mean equal upstream behaviour, so pools
   *  and health state survive config swaps. */
  name: string;
  namespace: string;
  service: string;
  servicePort: number;
  protocol: UpstreamProtocol;
  tls?: UpstreamTls; // present iff protocol is tls or h2
  endpoints: Endpoint[]; // ready endpoints only, sorted
  loadBalancer: { strategy: LoadBalancerStrategy; hashPolicies: HashPolicy[] };
  healthCheck?: HealthCheck;
  /** A TCPProxy's connect check (never together with healthCheck). */
  tcpHealthCheck?: TcpHealthCheck;
  /** Present only with the RoundRobin or WeightedLeastRequest strategy. */
  slowStart?: SlowStart;
  connectTimeoutMs: number;
  idleConnectionTimeoutMs: number | null;
  /** Budgets of each proxy worker toward this cluster (Envoy's circuit
   *  breakers); absent: Envoy's defaults. */
  circuitBreakers?: CircuitBreakers;
  /** cluster.max-requests-per-connection: an HTTP/1 upstream connection is
   *  closed after this many requests; absent: no limit. */
  maxRequestsPerConnection?: number;
  /** cluster.per-connection-buffer-limit-bytes: the upstream sockets'
   *  buffer soft limit (their highWaterMark); absent: Node's default. */
  perConnectionBufferLimitBytes?: number;
  /** cluster.dns-lookup-family, for ExternalName endpoints; absent: auto. */
  dnsLookupFamily?: DnsLookupFamily;
}

/** Envoy's circuit-breaker thresholds; 0: Envoy's default (1024, retries
 *  3, no per-host limit). */
export interface CircuitBreakers {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  perHostMaxConnections: number;
}

export interface HeaderMatch {
  name: string; // lower-case
  kind: 'present' | 'notpresent' | 'contains' | 'notcontains' | 'exact' | 'notexact' | 'regex';
  value?: string;
  ignoreCase?: boolean;
  treatMissingAsEmpty?: boolean;
}

export interface QueryMatch {
  name: string;
  kind: 'exact' | 'prefix' | 'suffix' | 'regex' | 'contains' | 'present';
  value?: string;
  ignoreCase?: boolean;
}

export interface PathMatch {
  kind: 'prefix' | 'exact' | 'regex';
  value: string;
  /** A prefix that matches whole path segments only (an Ingress `Prefix`
   *  path, Contour's PrefixMatchSegment): "/foo" matches "/foo" and
   *  "/foo/bar", never "/foobar". */
  segment?: true;
}

export interface HeaderOps {
  /** Canonical names; values may hold %CONTOUR_NAMESPACE%,
   *  %CONTOUR_SERVICE_NAME%, %CONTOUR_SERVICE_PORT% and %REQ(name)%. */
  set: { name: string; value: string }[];
  remove: string[];
  /** Values appended to a header already present (Gateway API `add`); absent: none. */
  add?: { name: string; value: string }[];
}

export interface WeightedCluster {
  cluster: string; // Cluster.name
  weight: number; // relative; all clusters of a route > 0 after the DAG
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** Literal Host rewrite from this service's requestHeadersPolicy; it
   *  takes precedence over the route's hostRewrite for this cluster. */
  hostRewrite?: string;
  /** Set-Cookie rewrites for this service's responses: the route's rules
   *  merged with the service's (the service's win); absent: none. */
  cookieRewrites?: CookieRewrite[];
  /** Set for a backend that cannot be reached (a Gateway API backendRef
   *  that does not resolve): its share of requests gets this local answer. */
  directStatus?: number;
}

export interface RetryPolicyConfig {
  retryOn: string[]; // Envoy retry-on names, default ["5xx"]
  count: number;
  perTryTimeoutMs: number | null;
  retriableStatusCodes: number[];
  /** The least wait before a retry (Gateway API retry.backoff); absent:
   *  Envoy's jittered 25 ms base. */
  minBackoffMs?: number;
}

export type RouteAction =
  | {
      kind: 'forward';
      clusters: WeightedCluster[];
      /** Request mirrors (Envoy's request_mirror_policies), each its own copy. */
      mirrors?: { cluster: string; percent: number }[];
    }
  | {
      kind: 'redirect';
      scheme?: string;
      hostname?: string;
      port?: number;
      path?: string;
      prefix?: string;
      statusCode: number; // 301 | 302 | 303 | 307 | 308
    }
  | { kind: 'direct'; statusCode: number; body?: string };

export interface Route {
  path: PathMatch;
  headers: HeaderMatch[];
  queryParams: QueryMatch[];
  action: RouteAction;
  /** Set when this route sits on the plain listener of a TLS virtual host
   *  without permitInsecure: answer 301 to https instead of `action`. */
  httpsRedirect?: boolean;
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** Literal Host rewrite, or a %REQ(name)% dynamic one. */
  hostRewrite?: { literal?: string; fromHeader?: string };
  /** Replace the matched prefix with this value. */
  prefixRewrite?: string;
  /** Replace the whole path with this value (Gateway API ReplaceFullPath). */
  pathRewrite?: string;
  websocket: boolean;
  timeouts: { responseMs: number | null; idleMs: number | null };
  retry?: RetryPolicyConfig;
  /** This route's own CORS policy (a Gateway API CORS filter): it replaces the virtual host's. */
  cors?: CorsConfig;
  /** Follow the upstream's redirects inside the proxy (Envoy's internal_redirect_policy). */
  internalRedirect?: InternalRedirectConfig;
  /** The object that defined this route, for access logs and variables:
   *  an HTTPProxy unless `kind` names another ("Ingress"). */
  origin: { namespace: string; name: string; kind?: string };
  /** This route's own IP filters: they replace the virtual host's. */
  ipFilter?: IpFilterConfig;
  /** This route's own local rate limit (its own bucket): it replaces the virtual host's. */
  localRateLimit?: LocalRateLimitConfig;
  /** This route's own global rate limit descriptors: the virtual host's are then not used. */
  globalRateLimit?: GlobalRateLimitPolicyConfig;
  /** rateLimitPolicy.global.disabled: the virtual host's descriptors are not used here. */
  ignoreVirtualHostGlobalRateLimit?: true;
  /** Requests must carry a JWT this provider of the virtual host verifies. */
  jwt?: JwtRequirement;
  /** Under a virtual host with authorization: this route's policy. */
  authorization?: RouteAuthorization;
}

export interface VirtualHost {
  fqdn: string; // lower-case; may start with "*.", or be "*" (every host)
  /** The port listener (ProxyConfig.listeners) this host is served on;
   *  absent: the proxy's own HTTP or HTTPS listener. */
  listener?: string;
  /** A "*." fqdn covers any number of labels (Gateway API hostnames), not one. */
  wildcardAnyDepth?: boolean;
  /** Routes in Contour precedence order: the first match wins. */
  routes: Route[];
  /** spec.virtualhost.corsPolicy */
  cors?: CorsConfig;
  /** spec.virtualhost.ipAllowPolicy / ipDenyPolicy, for routes without their own. */
  ipFilter?: IpFilterConfig;
  /** spec.virtualhost.rateLimitPolicy.local: one bucket for the routes without their own. */
  localRateLimit?: LocalRateLimitConfig;
  /** spec.virtualhost.rateLimitPolicy.global, else rateLimitService.defaultGlobalRateLimitPolicy. */
  globalRateLimit?: GlobalRateLimitPolicyConfig;
  /** spec.virtualhost.jwtProviders: the providers routes require by name. */
  jwt?: JwtConfig;
  /** spec.virtualhost.authorization, else globalExtAuth: the ext_authz server. */
  authorization?: ExternalAuthorization;
}

export interface TcpForward {
  clusters: WeightedCluster[];
}

export interface SecureVirtualHost extends VirtualHost {
  /** For terminated TLS: the certificate secret id. */
  secretId?: string;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  clientValidation?: {
    caBundleId?: string;
    skipVerification: boolean;
    optional: boolean;
    /** Check only the client's leaf certificate against the CRLs of caBundleId. */
    crlOnlyVerifyLeafCert?: boolean;
    /** Set X-Forwarded-Client-Cert from the client's certificate. */
    forwardClientCertificate?: ForwardClientCertificate;
  };
  /** Use the configured fallback certificate for clients without SNI. */
  fallbackCertificate: boolean;
  /** TLS passthrough: forward the raw TLS stream by SNI. */
  passthrough?: TcpForward;
  /** TCPProxy with termination: decrypt and forward the TCP stream. */
  tcpProxy?: TcpForward;
  /** The Gateway listener whose names this host is one of: a TLS session
   *  the handshake gave one host of a group may ask for another host of
   *  the same group (one certificate, one client validation); any other
   *  host is 421. Absent: only this host (HTTPProxy, Ingress). */
  tlsGroup?: string;
}

export interface ProxyConfig {
  /** Virtual hosts of the plain HTTP listener, sorted by fqdn. */
  httpVirtualHosts: VirtualHost[];
  /** Virtual hosts of the HTTPS listener (SNI), sorted by fqdn. */
  httpsVirtualHosts: SecureVirtualHost[];
  clusters: Cluster[]; // sorted by name
  secrets: TlsSecret[]; // sorted by id
  caBundles: CaBundle[]; // sorted by id
  fallbackCertificateId?: string;
  /** Valid ExtensionServices, sorted by name; absent: none. */
  extensionClusters?: ExtensionCluster[];
  /** Gateway listener ports served besides the proxy's own HTTP and HTTPS
   *  listeners, sorted by name; absent: none. */
  listeners?: PortListener[];
}

/** A Gateway listener port of its own (Contour's Envoy listener of that
 *  port): the first HTTP and the first HTTPS/TLS port of the Gateways are
 *  the proxy's own listeners; every further port, and every TCP one, is
 *  one of these. */
export interface PortListener {
  /** Contour's name for it: "http-81", "https-444", "tcp-5000". */
  name: string;
  /** The Gateway listener port. */
  port: number;
  /** Where the proxy accepts it (Contour's container port, see gatewayBindPort). */
  bindPort: number;
  /** http: plain HTTP/1 and h2c; https: TLS by SNI (HTTPS and TLS
   *  listeners); tcp: every connection to `tcpProxy`. */
  protocol: 'http' | 'https' | 'tcp';
  /** tcp: the TCPRoute's weighted backends; absent: connections are closed. */
  tcpProxy?: TcpForward;
}
