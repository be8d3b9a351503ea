// What every processor does with a resolved Service port: choose the client
// certificate it is presented (its own annotation, else the config file's
// tls.envoy-client-certificate) and register the cluster with its circuit
// breakers (annotations, else the config file's), so HTTPProxy and
// Ingress routes to one Service port with one shape share one cluster.
import type { IsobarConfig } from '../config/index.ts';
import type { Cluster, SlowStart, TcpHealthCheck, TlsSecret, UpstreamProtocol, UpstreamTls } from './proxy-config.ts';
import type { CacheView, ResolvedService } from './cache-view.ts';
import type { ClusterShape, Output } from './output.ts';
import { resolveServiceClientCert } from './upstream-client-cert.ts';
import { tlsVersion } from './vhost-tls.ts';
import { pkey } from './refs.ts';
import { serviceCircuitBreakers } from './service-limits.ts';

/** Contour's cluster idle connection timeout when a route sets none. */
export const DEFAULT_IDLE_CONNECTION_TIMEOUT_MS = 3_600_000;
/** Envoy's stream idle timeout when a route sets none. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;

/** The stream idle timeout of routes that set none: the config file's
 *  timeouts.stream-idle-timeout (Envoy's HCM stream_idle_timeout, which a
 *  route's idle_timeout overrides), else Envoy's 5 min; null: none. */
export function streamIdleMs(config: IsobarConfig): number | null {
  const t = config.timeouts?.streamIdleTimeoutMs;
  return t === undefined ? DEFAULT_STREAM_IDLE_TIMEOUT_MS : t;
}

export type GlobalClientCert = { ok: true; secret: TlsSecret } | { ok: false; error: string } | undefined;

/** tls.envoy-client-certificate, read once per build (admin-configured: no delegation needed). */
export function globalClientCert(view: CacheView, config: IsobarConfig): GlobalClientCert {
  const cc = config.tls?.envoyClientCertificate;
  if (!cc) return undefined;
  const r = view.tlsSecret(cc.namespace, cc.name);
  return r.ok ? { ok: true, secret: { id: pkey(cc.namespace, cc.name), ...r.value } } : { ok: false, error: r.error };
}

/** The certificate presented to a Service's TLS endpoints: none (undefined),
 *  a secret (registered in `out`), or the error that makes it unusable. */
export function serviceClientCert(
  view: CacheView,
  config: IsobarConfig,
  global: GlobalClientCert,
  out: Output,
  s: ResolvedService,
): { ok: true; id: string | undefined } | { ok: false; error: string } {
  const own = resolveServiceClientCert(view, s);
  if (own === 'none') return { ok: true, id: undefined };
  if (own !== 'global') {
    if (!own.ok) return own;
    out.addSecret(own.secret);
    return { ok: true, id: own.secret.id };
  }
  if (!global) return { ok: true, id: undefined };
  if (!global.ok) {
    const ref = config.tls.envoyClientCertificate!;
    return { ok: false, error: `tls.envoy-client-certificate Secret "${ref.namespace}/${ref.name}" is invalid: ${global.error}` };
  }
  out.addSecret(global.secret);
  return { ok: true, id: global.secret.id };
}

export interface ClusterRequest {
  protocol: UpstreamProtocol;
  validation: { caBundleId: string; subjectNames: string[] } | null;
  sni: string;
  clientCertificateId: string | undefined;
  loadBalancer: Cluster['loadBalancer'];
  healthCheck: Cluster['healthCheck'];
  idleConnectionTimeoutMs: number | null;
  /** A TCPProxy's cluster: its own health check, and none of the config
   *  file's HTTP connection settings (Contour sets them on HTTP clusters only). */
  tcp?: { healthCheck: TcpHealthCheck | undefined };
  slowStart?: SlowStart;
  /** The Service port whose endpoints' ports health checks probe (a healthPort). */
  healthService?: ResolvedService;
  /** cluster.dns-lookup-family applies (Contour: HTTPProxy route clusters only). */
  dnsLookupFamily?: boolean;
}

/** Registers the cluster of one Service port and returns its name. */
export function addServiceCluster(view: CacheView, config: IsobarConfig, out: Output, s: ResolvedService, c: ClusterRequest): string {
  let tls: UpstreamTls | undefined;
  if (c.protocol === 'tls' || c.protocol === 'h2') {
    tls = {
      minVersion: tlsVersion(config.upstreamTls?.minimumProtocolVersion ?? '1.2', '1.2'),
      maxVersion: tlsVersion(config.upstreamTls?.maximumProtocolVersion ?? '1.3', '1.3'),
    };
    if (c.sni !== '') tls.sni = c.sni;
    if (c.validation) tls.validation = c.validation;
    if (c.clientCertificateId !== undefined) tls.clientCertificateId = c.clientCertificateId;
  }
  const shape: ClusterShape = {
    protocol: c.protocol,
    loadBalancer: c.loadBalancer,
    connectTimeoutMs: config.timeouts?.connectTimeoutMs ?? 2000,
    idleConnectionTimeoutMs: c.idleConnectionTimeoutMs,
  };
  if (tls) shape.tls = tls;
  if (c.healthCheck) shape.healthCheck = c.healthCheck;
  if (c.tcp?.healthCheck) shape.tcpHealthCheck = c.tcp.healthCheck;
  if (c.slowStart) shape.slowStart = c.slowStart;
  const breakers = serviceCircuitBreakers(s.circuitBreakers, config.circuitBreakers);
  if (breakers) shape.circuitBreakers = breakers;
  if (!c.tcp) addConnectionSettings(shape, config);
  if (c.dnsLookupFamily && s.externalName !== '') shape.dnsLookupFamily = config.cluster?.dnsLookupFamily ?? 'auto';
  const health = c.healthService;
  if (health) shape.healthServicePort = health.port.port;
  return out.cluster(s.namespace, s.name, s.port.port, shape, () => view.endpointsFor(s, health), s);
}

/** cluster.max-requests-per-connection and per-connection-buffer-limit-bytes,
 *  which Contour sets on every HTTP cluster (HTTPProxy, Ingress, Gateway API). */
export function addConnectionSettings(shape: ClusterShape, config: IsobarConfig): void {
  const cs = config.cluster;
  if (cs?.maxRequestsPerConnection !== undefined) shape.maxRequestsPerConnection = cs.maxRequestsPerConnection;
  if (cs?.perConnectionBufferLimitBytes !== undefined) shape.perConnectionBufferLimitBytes = cs.perConnectionBufferLimitBytes;
}
