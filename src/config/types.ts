// The isobar config file (`--config isobar.yaml`). Keys in the file use
// Contour's own spelling where Contour has one (`tls.envoy-client-certificate`,
// `timeouts.connect-timeout`, `enableExternalNameService`, ...); this is the
// parsed, defaulted form the rest of the program reads.

import type { AcmeConfig } from './acme.ts';
import type { GlobalExtAuth } from './global-ext-auth.ts';
import type { RateLimitService } from './rate-limit-service.ts';
import type { DownstreamTimeouts, ListenerLimits } from './listener.ts';
import type { AccessLogConfig } from './access-log.ts';

export interface NamespacedName {
  namespace: string;
  name: string;
}

export interface CircuitBreakerDefaults {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  perHostMaxConnections: number;
}

/** cluster.dns-lookup-family (Contour's ClusterDNSFamilyType). */
export type ClusterDnsLookupFamily = 'auto' | 'v4' | 'v6' | 'all';

/** Contour's cluster.* settings for upstream connections. */
export interface ClusterSettings {
  /** cluster.dns-lookup-family: how ExternalName endpoints are resolved, default auto. */
  dnsLookupFamily: ClusterDnsLookupFamily;
  /** cluster.max-requests-per-connection: an upstream connection closes
   *  after this many requests; absent: no limit. */
  maxRequestsPerConnection?: number;
  /** cluster.per-connection-buffer-limit-bytes: the soft limit of an
   *  upstream connection's read and write buffers; absent: Node's default. */
  perConnectionBufferLimitBytes?: number;
}

export interface IsobarConfig {
  tls: {
    /** tls.envoy-client-certificate: presented to upstreams that ask. */
    envoyClientCertificate?: NamespacedName;
    /** tls.fallback-certificate: served to clients without SNI. */
    fallbackCertificate?: NamespacedName;
    /** tls.{minimum,maximum}-protocol-version of the proxy's TLS listeners:
     *  a virtual host gets the higher minimum and the lower maximum of its own and these. */
    minimumProtocolVersion: '1.2' | '1.3';
    maximumProtocolVersion: '1.2' | '1.3';
    /** tls.cipher-suites (TLS 1.2), Contour's names; absent: Contour's default list. */
    cipherSuites?: string[];
  };
  /** cluster.upstream-tls.{minimum,maximum}-protocol-version */
  upstreamTls: {
    minimumProtocolVersion: '1.2' | '1.3';
    maximumProtocolVersion: '1.2' | '1.3';
    /** upstream-tls.require-validation (isobar): upstream TLS without
     *  `validation` makes the HTTPProxy invalid. */
    requireValidation: boolean;
  };
  /** timeouts.*: connect-timeout (upstream) and the downstream ones. */
  timeouts: DownstreamTimeouts & {
    /** timeouts.connect-timeout, default 2s */
    connectTimeoutMs: number;
  };
  /** listener.*: downstream connection limits. */
  listener: ListenerLimits;
  /** network.num-trusted-hops: X-Forwarded-For addresses trusted from the
   *  right (Envoy's xff_num_trusted_hops with use_remote_address), default 0. */
  numTrustedHops: number;
  /** accesslog-format, accesslog-format-string, json-fields, accesslog-level. */
  accessLog: AccessLogConfig;
  /** enableExternalNameService, default false */
  enableExternalNameService: boolean;
  /** disableMergeSlashes, default false: the proxy merges runs of "/" in paths. */
  disableMergeSlashes: boolean;
  /** disablePermitInsecure, default false */
  disablePermitInsecure: boolean;
  /** root namespaces (empty: any) */
  rootNamespaces: string[];
  /** ingress-class-name: when set, only HTTPProxies with that class */
  ingressClassName?: string;
  /** gateway.gatewayRef: Contour's static provisioning. Only this Gateway
   *  is served, with its GatewayClass whatever that class's controllerName;
   *  absent: every Gateway of a class naming Contour's controller. */
  gatewayRef?: NamespacedName;
  /** ingress.service (isobar): the Service whose targets are isobar's own
   *  proxy, default projectcontour/envoy */
  ingressService: NamespacedName;
  /** ingress-status-address: the load balancer address written into the
   *  status of HTTPProxies, Ingresses and Gateways without a load balancer
   *  of their own, instead of the ingress Service's (Contour's flag and key,
   *  a comma-separated list; IPs as IPs, the rest as hostnames). */
  ingressStatusAddress?: { ip?: string; hostname?: string }[];
  /** aws.region / aws.account (isobar): used in ARNs and hostnames */
  aws: { region: string; account: string; clusterName: string };
  /** policy.request-headers / policy.response-headers: global header ops */
  policy: {
    requestHeaders: { set: Record<string, string>; remove: string[] };
    responseHeaders: { set: Record<string, string>; remove: string[] };
  };
  /** cluster.circuit-breakers: thresholds for Services whose annotations
   *  set none (absent or 0: Envoy's default). */
  circuitBreakers?: Partial<CircuitBreakerDefaults>;
  cluster: ClusterSettings;
  /** compression.algorithm: the proxy's response compression, default gzip (Contour's). */
  compression: { algorithm: 'gzip' | 'brotli' | 'zstd' | 'disabled' };
  /** rateLimitService: the global rate limit server; absent: none. */
  rateLimitService?: RateLimitService;
  /** globalExtAuth: the authorization server of every virtual host that
   *  names none of its own; absent: none. */
  globalExtAuth?: GlobalExtAuth;
  /** acme.* (isobar): the ACME CA for `certs request --acme` and renewal. */
  acme: AcmeConfig;
}

export function defaultConfig(): IsobarConfig {
  return {
    tls: { minimumProtocolVersion: '1.2', maximumProtocolVersion: '1.3' },
    upstreamTls: { minimumProtocolVersion: '1.2', maximumProtocolVersion: '1.3', requireValidation: false },
    // Contour's Defaults(): a 60 s connection idle timeout.
    timeouts: { connectTimeoutMs: 2000, connectionIdleTimeoutMs: 60_000 },
    cluster: { dnsLookupFamily: 'auto' },
    listener: {},
    numTrustedHops: 0,
    disableMergeSlashes: false,
    accessLog: { format: 'envoy', level: 'info' },
    enableExternalNameService: false,
    disablePermitInsecure: false,
    rootNamespaces: [],
    compression: { algorithm: 'gzip' },
    ingressService: { namespace: 'projectcontour', name: 'envoy' },
    aws: { region: 'local', account: '000000000000', clusterName: 'isobar' },
    policy: {
      requestHeaders: { set: {}, remove: [] },
      responseHeaders: { set: {}, remove: [] },
    },
    acme: {},
  };
}
