// Upstream clusters at run time: one connection pool per (cluster,
// transport, endpoint), isobar's own HTTP/1.1 client (h1-client.ts) for
// plain and TLS HTTP/1.1 upstreams and undici's Pool for HTTP/2 (h2, h2c),
// kept across config swaps while the cluster's name and transport stay the
// same, with active health checks and passive ejection of
// endpoints that refuse connections.
import { Pool } from 'undici';
import type { CaBundle, Cluster, ProxyConfig, TlsSecret } from '../dag/index.ts';
import { HealthChecker, type HealthProbe } from './health-check.ts';
import { httpHealthProbe } from './http-health-probe.ts';
import { tcpHealthProbe } from './tcp-health-probe.ts';
import { LoadBalancer, type HashInput } from './load-balancer.ts';
import { pickRamped, rampEnd } from './slow-start.ts';
import { lookupFor } from './dns-family.ts';
import { ClusterBudget, H2_STREAMS_PER_CONNECTION, poolConnections, withEnvoyDefaults } from './circuit-breakers.ts';
import type { UpstreamCounters } from '../metrics/index.ts';
import { H1Pool, type UpstreamPool } from './h1-client.ts';
import type { ProxyStats } from './stats.ts';
import { plainConnector, tlsConnector, UpstreamConnectError, type Connector, type ResolvedUpstreamTls } from './upstream-tls.ts';

/** Below this share of available endpoints, use all of them (Envoy's panic threshold). */
const PANIC_THRESHOLD = 0.5;
const EJECTION_BASE_MS = 5_000;
const EJECTION_MAX_MS = 60_000;
const DRAIN_MS = 30_000;
/** The largest upstream response head accepted. */
const MAX_RESPONSE_HEAD = 96 * 1024;

export class Endpoint {
  readonly key: string; // pool identity
  readonly address: string;
  readonly port: number;
  /** "ip:port" as the access log prints it. */
  readonly hostPort: string;
  readonly pool: UpstreamPool;
  readonly connector: Connector;
  /** Plain TCP to the same endpoint (TLS passthrough). */
  readonly plainConnector: Connector;
  readonly origin: string;
  active = 0;
  ejectedUntil = 0;
  ejections = 0;
  checker: HealthChecker | undefined;
  checkerKey = '';
  /** When it joined the cluster or last passed a health check after
   *  failing (performance.now()): slow start ramps from here. */
  since = performance.now();
  /** Slow start's weighted round robin credit. */
  credit = 0;
  private ejectTimer: NodeJS.Timeout | undefined;

  constructor(key: string, address: string, port: number, origin: string, connector: Connector, plain: Connector, pool: UpstreamPool) {
    this.key = key;
    this.address = address;
    this.port = port;
    this.hostPort = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    this.origin = origin;
    this.connector = connector;
    this.plainConnector = plain;
    this.pool = pool;
  }

  get available(): boolean {
    return this.ejectedUntil === 0 && (this.checker === undefined || this.checker.healthy);
  }

  eject(registry: ClusterRegistry): void {
    if (this.ejectedUntil !== 0) return;
    const ms = Math.min(EJECTION_BASE_MS * 2 ** this.ejections, EJECTION_MAX_MS);
    this.ejections++;
    this.ejectedUntil = Date.now() + ms;
    registry.healthChanged();
    registry.stats.outlierEjections++;
    this.ejectTimer = setTimeout(() => {
      this.ejectedUntil = 0;
      registry.healthChanged();
    }, ms);
    this.ejectTimer.unref();
  }

  /** A successful response: forget past ejections. */
  succeeded(): void {
    if (this.ejections !== 0 && this.ejectedUntil === 0) this.ejections = 0;
  }

  close(drainMs: number): void {
    if (this.ejectTimer) clearTimeout(this.ejectTimer);
    this.checker?.stop();
    const t = setTimeout(() => this.pool.destroy().catch(() => {}), drainMs);
    t.unref();
    this.pool.close().then(
      () => clearTimeout(t),
      () => {},
    );
  }
}

/** The cluster's name in Envoy's stats: Contour's alt_stat_name,
 *  namespace_service_port (clusters of one Service port share it). */
export function statName(c: Cluster): string {
  return `${c.namespace}_${c.service}_${c.servicePort}`;
}

export class ClusterRuntime {
  readonly def: Cluster;
  readonly counters: UpstreamCounters;
  readonly endpoints: Endpoint[];
  readonly lb: LoadBalancer<Endpoint>;
  readonly cookieAffinity: boolean;
  readonly registry: ClusterRegistry;
  /** This worker's circuit breakers toward the cluster. */
  readonly budget: ClusterBudget;
  private availableList: Endpoint[] = [];
  private epoch = -1;
  /** While some endpoint is in its slow start window (performance.now()),
   *  picks are weighted; 0: none is. */
  private rampUntil = 0;

  constructor(def: Cluster, endpoints: Endpoint[], registry: ClusterRegistry) {
    this.def = def;
    this.endpoints = endpoints;
    this.registry = registry;
    this.counters = registry.stats.cluster(statName(def));
    this.lb = new LoadBalancer(def.loadBalancer.strategy, def.loadBalancer.hashPolicies);
    this.cookieAffinity = def.loadBalancer.strategy === 'Cookie';
    const counters = this.counters;
    this.budget = new ClusterBudget(def.circuitBreakers, def.protocol === 'h2' || def.protocol === 'h2c', (d) => (counters.rqPendingActive += d));
  }

  /** undefined when the cluster has no endpoints at all. */
  pick(input: HashInput | undefined, cookie: string | undefined): Endpoint | undefined {
    if (this.epoch !== this.registry.epoch) this.refresh();
    const list = this.availableList;
    if (list.length === 0) return undefined;
    if (this.rampUntil !== 0) {
      const now = performance.now();
      if (now < this.rampUntil) return pickRamped(list, this.def.slowStart!, now, this.def.loadBalancer.strategy === 'WeightedLeastRequest');
      this.rampUntil = 0;
    }
    return this.lb.pick(list, input, cookie);
  }

  private refresh(): void {
    this.epoch = this.registry.epoch;
    const avail = this.endpoints.filter((e) => e.available);
    const list = avail.length === 0 || avail.length < this.endpoints.length * PANIC_THRESHOLD ? this.endpoints : avail;
    this.availableList = list;
    const ss = this.def.slowStart;
    this.rampUntil = ss && list.length > 1 ? rampEnd(list, ss, performance.now()) : 0;
  }
}

/** Transport identity: equal means an existing pool can be reused. */
function transportKey(c: Cluster, t: ResolvedUpstreamTls | undefined): string {
  return JSON.stringify([
    c.name,
    c.protocol,
    c.connectTimeoutMs,
    c.idleConnectionTimeoutMs,
    c.maxRequestsPerConnection ?? null,
    c.perConnectionBufferLimitBytes ?? null,
    c.dnsLookupFamily ?? null,
    t ?? null,
  ]);
}

/** A cluster as the last apply built it, with the config objects its
 *  upstream TLS was read from and the problems it was built with. */
interface BuiltCluster {
  runtime: ClusterRuntime;
  ca: object | undefined;
  clientCert: object | undefined;
  problems: string[];
}

export class ClusterRegistry {
  epoch = 0;
  readonly stats: ProxyStats;
  private endpoints = new Map<string, Endpoint>();
  private built = new Map<string, BuiltCluster>();
  /** The last apply's inputs and result: the same objects again (a reload
   *  that changed no cluster, secret or CA bundle) give the same map back. */
  private last:
    | { clusters: Cluster[]; secrets: TlsSecret[]; caBundles: CaBundle[]; out: Map<string, ClusterRuntime>; problems: [string, string][] }
    | undefined;
  private onTlsWarning: (cluster: string, message: string) => void;

  constructor(stats: ProxyStats, onTlsWarning: (cluster: string, message: string) => void) {
    this.stats = stats;
    this.onTlsWarning = onTlsWarning;
  }

  healthChanged(): void {
    this.epoch++;
  }

  /** Builds the clusters of a config, reusing pools and health state. A
   *  cluster whose definition is the same object as in the last apply (and
   *  whose CA and client certificate objects are too) is kept as it was. */
  apply(config: ProxyConfig): Map<string, ClusterRuntime> {
    const last = this.last;
    if (last && sameItems(last.clusters, config.clusters) && sameItems(last.secrets, config.secrets) && sameItems(last.caBundles, config.caBundles)) {
      for (const [name, message] of last.problems) this.onTlsWarning(name, message);
      this.epoch++;
      return last.out;
    }
    const secrets = new Map(config.secrets.map((s) => [s.id, s]));
    const cas = new Map(config.caBundles.map((c) => [c.id, c]));
    const next = new Map<string, Endpoint>();
    const built = new Map<string, BuiltCluster>();
    const out = new Map<string, ClusterRuntime>();
    for (const c of config.clusters) {
      const ca = c.tls?.validation ? cas.get(c.tls.validation.caBundleId) : undefined;
      const clientCert = c.tls?.clientCertificateId ? secrets.get(c.tls.clientCertificateId) : undefined;
      const previous = this.built.get(c.name);
      if (previous && previous.runtime.def === c && previous.ca === ca && previous.clientCert === clientCert) {
        for (const p of previous.problems) this.onTlsWarning(c.name, p);
        for (const e of previous.runtime.endpoints) next.set(e.key, e);
        built.set(c.name, previous);
        out.set(c.name, previous.runtime);
        continue;
      }
      const problems: string[] = [];
      const problem = (message: string): void => {
        problems.push(message);
        this.onTlsWarning(c.name, message);
      };
      let resolved: ResolvedUpstreamTls | undefined;
      let broken: string | undefined;
      if ((c.protocol === 'tls' || c.protocol === 'h2') && c.tls) {
        resolved = { tls: c.tls, alpn: c.protocol === 'h2' ? ['h2'] : [] };
        if (c.tls.validation) {
          // Validation without its CA must not degrade to no validation:
          // trust nothing, so every connection fails verification.
          if (!ca) broken = `CA bundle ${c.tls.validation.caBundleId} missing from config`;
          resolved.caPem = ca?.caPem ?? '';
        }
        if (c.tls.clientCertificateId) {
          if (clientCert) {
            resolved.clientCertPem = clientCert.certPem;
            resolved.clientKeyPem = clientCert.keyPem;
          } else broken = `client certificate ${c.tls.clientCertificateId} missing from config`;
        }
      } else if ((c.protocol === 'tls' || c.protocol === 'h2') && !c.tls) {
        resolved = { tls: { minVersion: '1.2', maxVersion: '1.3' }, alpn: c.protocol === 'h2' ? ['h2'] : [] };
      }
      if (broken) problem(broken);
      const tkey = transportKey(c, resolved);
      const eps: Endpoint[] = [];
      for (const ep of c.endpoints) {
        const key = `${tkey}|${ep.address}|${ep.port}`;
        let e = next.get(key) ?? this.endpoints.get(key);
        if (!e) {
          try {
            e = this.createEndpoint(key, c, ep.address, ep.port, resolved);
          } catch (err) {
            problem(`endpoint ${ep.address}:${ep.port} unusable: ${(err as Error).message}`);
            continue;
          }
        }
        this.syncHealthCheck(e, c, ep.healthPort);
        next.set(key, e);
        eps.push(e);
      }
      const runtime = new ClusterRuntime(c, eps, this);
      built.set(c.name, { runtime, ca, clientCert, problems });
      out.set(c.name, runtime);
    }
    for (const [key, e] of this.endpoints) {
      if (!next.has(key)) e.close(DRAIN_MS);
    }
    this.stats.retainClusters(new Set(config.clusters.map(statName)));
    this.endpoints = next;
    this.built = built;
    const problems: [string, string][] = [];
    for (const [name, b] of built) for (const p of b.problems) problems.push([name, p]);
    this.last = { clusters: config.clusters, secrets: config.secrets, caBundles: config.caBundles, out, problems };
    this.epoch++;
    return out;
  }

  private createEndpoint(key: string, c: Cluster, address: string, port: number, t: ResolvedUpstreamTls | undefined): Endpoint {
    const secure = t !== undefined;
    const host = address.includes(':') ? `[${address}]` : address;
    const origin = `${secure ? 'https' : 'http'}://${host}:${port}`;
    const socketOptions = {
      ...(c.dnsLookupFamily ? { lookup: lookupFor(c.dnsLookupFamily) } : {}),
      ...(c.perConnectionBufferLimitBytes ? { highWaterMark: c.perConnectionBufferLimitBytes } : {}),
    };
    const plain = plainConnector(c.connectTimeoutMs, c.protocol === 'h2c', socketOptions);
    const connector = secure ? tlsConnector(t, c.connectTimeoutMs, socketOptions) : plain;
    const multiplexed = c.protocol === 'h2' || c.protocol === 'h2c';
    const idle = c.idleConnectionTimeoutMs ?? 3_600_000;
    const pool = multiplexed ? h2Pool(c, origin, connector, idle) : h1Pool(c, host, port, secure, connector, idle);
    countConnections(pool, this.stats.cluster(statName(c)), secure);
    return new Endpoint(key, address, port, origin, connector, secure ? plainConnector(c.connectTimeoutMs, false, socketOptions) : plain, pool);
  }

  /** `healthPort`: the endpoint's port for health checks (a healthPort). */
  private syncHealthCheck(e: Endpoint, c: Cluster, healthPort: number | undefined): void {
    const hc = c.healthCheck ?? c.tcpHealthCheck;
    const hcKey = hc ? JSON.stringify([c.healthCheck ? 'http' : 'tcp', hc, healthPort ?? e.port]) : '';
    if (hcKey === e.checkerKey) return;
    e.checker?.stop();
    e.checker = undefined;
    e.checkerKey = hcKey;
    if (!hc) return;
    const port = healthPort ?? e.port;
    let probe: HealthProbe;
    if (c.healthCheck) {
      const origin = port === e.port ? e.origin : e.origin.replace(/:\d+$/, `:${port}`);
      probe = httpHealthProbe(origin, e.connector, c.healthCheck, c.protocol === 'h2' || c.protocol === 'h2c');
    } else probe = tcpHealthProbe(e.address, port, e.connector);
    e.checker = new HealthChecker(
      probe,
      hc,
      (healthy) => {
        if (healthy) e.since = performance.now();
        this.healthChanged();
      },
      () => this.stats.healthCheckFailures++,
    );
  }

  close(): void {
    for (const e of this.endpoints.values()) e.close(0);
    this.endpoints.clear();
    this.built.clear();
    this.last = undefined;
  }
}

/** HTTP/1.1 upstreams (plain and tls) on isobar's own client. */
function h1Pool(c: Cluster, host: string, port: number, secure: boolean, connector: Connector, idle: number): H1Pool {
  return new H1Pool({
    hostname: host,
    port,
    secure,
    connector,
    // The circuit breakers bound what is sent; the pool never opens more.
    connections: poolConnections(withEnvoyDefaults(c.circuitBreakers), false),
    keepAliveTimeout: Math.min(idle, 60_000),
    keepAliveMaxTimeout: idle,
    maxHeaderSize: MAX_RESPONSE_HEAD,
    // The request that reaches the limit goes with Connection: close.
    ...(c.maxRequestsPerConnection ? { maxRequestsPerClient: c.maxRequestsPerConnection } : {}),
  });
}

/** HTTP/2 upstreams (h2, h2c) stay on undici's Pool. */
function h2Pool(c: Cluster, origin: string, connector: Connector, idle: number): Pool {
  return new Pool(origin, {
    connect: connector as unknown as Pool.Options['connect'],
    // The circuit breakers bound what is sent; the pool never opens more.
    connections: poolConnections(withEnvoyDefaults(c.circuitBreakers), true),
    pipelining: H2_STREAMS_PER_CONNECTION,
    allowH2: true,
    keepAliveTimeout: Math.min(idle, 60_000),
    keepAliveMaxTimeout: idle,
    headersTimeout: 0,
    bodyTimeout: 0,
    maxHeaderSize: MAX_RESPONSE_HEAD,
  });
}

/** Envoy's upstream connection counters from the pool's events (connection
 *  errors also reach the request that triggered them). */
function countConnections(pool: Pool | H1Pool, c: UpstreamCounters, secure: boolean): void {
  pool.on('connect', () => {
    c.cxTotal++;
    c.cxActive++;
    if (secure) c.sslHandshake++;
  });
  pool.on('disconnect', () => c.cxActive--);
  pool.on('connectionError', (_origin, _targets, err) => {
    if (!(err instanceof UpstreamConnectError) || err.kind !== 'tls') {
      c.cxConnectFail++;
      if (err instanceof UpstreamConnectError && err.kind === 'timeout') c.cxConnectTimeout++;
      return;
    }
    c.sslConnectionError++;
    if (/^CERTIFICATE_VERIFY_FAILED: (SUBJECT_NAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)\b/.test(err.detail)) c.sslFailVerifySan++;
    else if (err.detail.startsWith('CERTIFICATE_VERIFY_FAILED: ')) c.sslFailVerifyError++;
  });
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
