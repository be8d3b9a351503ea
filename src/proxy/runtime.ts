// ProxyRuntime: owns the listeners and the current compiled config.
// apply() builds a complete new state and swaps one reference; requests
// already running keep the state they started with (DESIGN.md rule 3).
// Parts of the config that are the same objects as in the last apply keep
// their compiled form (clusters, virtual hosts, TLS choices), so applying a
// config that differs in one virtual host costs little more than that host.
import type { Socket } from 'node:net';
import type { ProxyConfig } from '../dag/index.ts';
import { RequestCounters, type ProxyMetricsSource } from '../metrics/index.ts';
import { ClusterRegistry, statName } from './cluster.ts';
import { rateLimitedWarn, type ProxyContext, type ProxyState } from './context.ts';
import { HostTable } from './host.ts';
import { Listener } from './listener.ts';
import { RouteTableCompiler } from './route-table.ts';
import { FilterChain, createFilterFeatures } from './filter-chain.ts';
import { ProxyStats } from './stats.ts';
import { TlsTableBuilder } from './tls-choice.ts';
import type { ProxyRuntimeOptions } from './types.ts';

/** ProxyStats fields that Envoy's series already show (per listener or cluster). */
const COVERED_BY_ENVOY_SERIES = new Set([
  'requests',
  'activeRequests',
  'responses2xx',
  'responses3xx',
  'responses4xx',
  'responses5xx',
  'downstreamConnections',
  'configApplies',
  'configRejected',
]);

function emptyState(): ProxyState {
  return {
    tables: { http: new HostTable(), https: new HostTable() },
    tls: { byName: new HostTable(), keys: new Set() },
    clusters: new Map(),
    generation: 0,
  };
}

/** Missing lists read as empty, so a partial config cannot throw mid-apply. */
function normalize(c: ProxyConfig): ProxyConfig {
  return {
    ...c,
    httpVirtualHosts: c.httpVirtualHosts ?? [],
    httpsVirtualHosts: c.httpsVirtualHosts ?? [],
    clusters: (c.clusters ?? []).map((x) => (Array.isArray(x.endpoints) ? x : { ...x, endpoints: [] })),
    secrets: c.secrets ?? [],
    caBundles: c.caBundles ?? [],
  };
}

export class ProxyRuntime {
  private readonly opts: ProxyRuntimeOptions;
  private readonly ctx: ProxyContext;
  private readonly listeners: Listener[];
  private readonly registry: ClusterRegistry;
  private readonly routes = new RouteTableCompiler();
  private readonly filters: FilterChain;
  private readonly tlsTables: TlsTableBuilder;
  private generation = 0;
  private closed = false;

  constructor(opts: ProxyRuntimeOptions) {
    this.opts = opts;
    const names = new Set<string>();
    for (const l of opts.listeners) {
      if (names.has(l.name)) throw new Error(`proxy listener name "${l.name}" is used twice; give each listener its own name`);
      names.add(l.name);
      if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) {
        throw new Error(`proxy listener "${l.name}": port ${l.port} is not in 0-65535`);
      }
    }
    if (opts.ticketKeys !== undefined && opts.ticketKeys.length !== 48) {
      throw new Error(`proxy ticketKeys must be 48 bytes, got ${opts.ticketKeys.length}`);
    }
    const stats = new ProxyStats();
    for (const l of opts.listeners) stats.downstream.set(l.name, new RequestCounters());
    this.ctx = {
      state: emptyState(),
      stats,
      logger: opts.logger,
      onAccessLog: opts.onAccessLog,
      preserveExternalRequestId: opts.preserveExternalRequestId ?? false,
      numTrustedHops: opts.numTrustedHops ?? 0,
      compression: opts.compression ?? 'disabled',
      warnOnce: rateLimitedWarn(opts.logger),
      acmeHttp01: new Map(),
    };
    this.registry = new ClusterRegistry(stats, (cluster, message) =>
      this.ctx.warnOnce(`cluster|${cluster}|${message}`, { cluster }, `cluster configuration problem: ${message}`),
    );
    const lo = {
      proxyProtocolTimeoutMs: opts.proxyProtocolTimeoutMs ?? 5000,
      tlsInspectorTimeoutMs: opts.tlsInspectorTimeoutMs ?? 10_000,
      maxHeaderSize: opts.maxHeaderSize ?? 60 * 1024,
      headersTimeoutMs: opts.headersTimeoutMs ?? 30_000,
      downstream: opts.downstream ?? {},
    };
    this.filters = new FilterChain(createFilterFeatures(this.ctx));
    this.listeners = opts.listeners.map((s) => new Listener(s, this.ctx, lo));
    this.tlsTables = new TlsTableBuilder(opts.ticketKeys, opts.listenerTls);
  }

  /** Rotates the TLS session ticket keys of every listener (the primary sends new ones). */
  setTicketKeys(keys: Buffer): void {
    if (keys.length !== 48) throw new Error(`proxy ticketKeys must be 48 bytes, got ${keys.length}`);
    for (const l of this.listeners) l.setTicketKeys(keys);
  }

  /** Binds every listener; on failure closes the ones already bound. */
  async listen(): Promise<void> {
    const results = await Promise.allSettled(this.listeners.map((l) => l.listen()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(this.listeners.map((l) => (l.server.listening ? l.stopAccepting(0) : undefined)));
      throw failed.reason;
    }
  }

  /** Swaps to a complete new config atomically. Objects of a config must
   *  not be changed once applied: the next apply takes an object it saw
   *  before as unchanged. */
  apply(input: ProxyConfig): void {
    if (this.closed) return;
    try {
      this.applyNow(normalize(input));
    } catch (err) {
      this.ctx.stats.configRejected++;
      throw err;
    }
  }

  private applyNow(config: ProxyConfig): void {
    const clusters = this.registry.apply(config);
    this.filters.apply(config);
    const tables = this.routes.compile(
      config,
      clusters,
      (fqdn, msg) => this.ctx.warnOnce(`route|${fqdn}|${msg}`, { fqdn }, msg),
      (vhost, route, secure) => this.filters.forRoute(vhost, route, secure),
    );
    const tls = this.tlsTables.build(config, clusters, (fqdn, msg) =>
      this.ctx.warnOnce(`vhost|${fqdn}|${msg}`, { fqdn }, `virtual host not served: ${msg}`),
    );
    this.ctx.stats.series.apply(config);
    this.ctx.state = { tables, tls, clusters, generation: ++this.generation };
    for (const l of this.listeners) l.prune(tls.keys);
    this.ctx.stats.configApplies++;
  }

  /** Serves `socket` on the listener named `name` as if it had been
   *  accepted there (used by the load balancer in the same process). */
  /** The HTTP-01 challenges the plain listeners answer from now on (the whole set). */
  setAcmeHttp01(tokens: readonly { token: string; keyAuthorization: string }[]): void {
    this.ctx.acmeHttp01 = new Map(tokens.map((t) => [t.token, t.keyAuthorization]));
  }

  adopt(name: string, socket: Socket): void {
    const l = this.listeners.find((x) => x.spec.name === name);
    if (!l) {
      socket.destroy();
      return;
    }
    l.adopt(socket);
  }

  address(name: string): { address: string; port: number } {
    const l = this.listeners.find((x) => x.spec.name === name);
    if (!l) throw new Error(`no proxy listener named "${name}"`);
    return l.address();
  }

  /** Stops accepting, lets in-flight requests finish for up to drainTimeoutMs, then closes everything. */
  async close(drainTimeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const grace = Math.min(this.opts.drainGraceMs ?? 1000, drainTimeoutMs);
    const drained = Promise.all(this.listeners.map((l) => l.stopAccepting(grace)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, drainTimeoutMs))))]);
    if (timer) clearTimeout(timer);
    for (const l of this.listeners) l.destroyAll();
    this.registry.close();
    this.filters.close();
  }

  /** What the metrics read at scrape time (never on the request path).
   *  `deltasRefused`: updates the worker could not take (it asked for the
   *  whole config), which only the worker knows. */
  metricsSource(deltasRefused: number): ProxyMetricsSource {
    const s = this.ctx.stats;
    const membership = new Map<string, { healthy: number; total: number }>();
    for (const c of this.ctx.state.clusters.values()) {
      const name = statName(c.def);
      const healthy = c.endpoints.filter((e) => e.available).length;
      const seen = membership.get(name);
      // Clusters sharing a stat name are one Service port: the same endpoints.
      if (!seen || c.endpoints.length > seen.total) membership.set(name, { healthy, total: c.endpoints.length });
    }
    const events: Record<string, number> = {};
    for (const [k, v] of Object.entries(s.snapshot())) {
      if (!COVERED_BY_ENVOY_SERIES.has(k)) events[k.replace(/[A-Z0-9]+/g, (m) => `_${m.toLowerCase()}`)] = v;
    }
    const memory = process.memoryUsage();
    return {
      listeners: this.listeners.map((l) => ({
        name: l.spec.name,
        tls: l.spec.tls,
        address: l.server.listening ? l.address() : undefined,
        cxTotal: l.cxTotal,
        cxActive: l.sockets.size,
        cxOverflow: l.cxOverflow,
        cxMaxRequestsReached: l.cxMaxRequestsReached,
        cxMaxDurationReached: l.cxMaxDurationReached,
        requests: s.listener(l.spec.name),
      })),
      clusters: s.clusters.entries(),
      membership: [...membership].map(([cluster, m]) => ({ cluster, ...m })),
      vhosts: s.series.vhosts.entries(),
      routes: [...s.series.routes.entries()].map(([, e]) => [e.key, e.counters] as const),
      updates: { success: s.configApplies, failure: deltasRefused, rejected: s.configRejected },
      warming: this.generation === 0,
      draining: this.closed,
      events,
      memory: { heapUsed: memory.heapUsed, heapTotal: memory.heapTotal },
    };
  }

  stats(): Record<string, number> {
    const s = this.ctx.stats.snapshot();
    let conns = 0;
    for (const l of this.listeners) conns += l.sockets.size;
    s.activeConnections = conns;
    return s;
  }
}
