// ProxyRuntime: owns the listeners and the current compiled config.
// apply() builds a complete new state and swaps one reference; requests
// already running keep the state they started with (DESIGN.md rule 3).
// Parts of the config that are the same objects as in the last apply keep
// their compiled form (clusters, virtual hosts, TLS choices), so applying a
// config that differs in one virtual host costs little more than that host.
import type { Socket } from 'node:net';
import type { PortListener, ProxyConfig } from '../dag/index.ts';
import { RequestCounters, type ProxyMetricsSource } from '../metrics/index.ts';
import { ClusterRegistry, statName } from './cluster.ts';
import { rateLimitedWarn, type PortState, type ProxyContext, type ProxyState } from './context.ts';
import { HostTable } from './host.ts';
import { Listener } from './listener.ts';
import { RouteTableCompiler, compileTcp } from './route-table.ts';
import { FilterChain, createFilterFeatures } from './filter-chain.ts';
import { ProxyStats } from './stats.ts';
import { TLS_HANDSHAKE_TIMEOUT_MS, TlsTableBuilder } from './tls-choice.ts';
import type { ProxyListenerSpec, ProxyRuntimeOptions } from './types.ts';

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
    ports: new Map(),
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
    listeners: c.listeners ?? [],
  };
}

/** The listeners that serve port listener `l`: the public one and, with
 *  the balancer in front, the one taking its flows. */
export function portListenerSpecs(l: PortListener, o: NonNullable<ProxyRuntimeOptions['portListeners']>): ProxyListenerSpec[] {
  const kind = { tls: l.protocol === 'https', ...(l.protocol === 'tcp' ? { tcp: true } : {}), table: l.name };
  const bind = o.handedOff ? { handedOff: true } : { reusePort: o.reusePort };
  const specs: ProxyListenerSpec[] = [{ name: l.name, host: o.host, port: l.bindPort, proxyProtocol: o.proxyProtocol, ...bind, ...kind }];
  if (o.balancer) {
    const template = o.balancer.socketPathTemplate;
    specs.push({
      name: `lb-${l.name}`,
      host: '127.0.0.1',
      port: 0,
      proxyProtocol: true,
      socketOnly: true,
      ...(template !== undefined ? { unixPath: template.replaceAll('{listener}', l.name) } : {}),
      ...kind,
    });
  }
  return specs;
}

/** What of a PortListener its sockets depend on: a change of it reopens them. */
function shapeOf(l: PortListener): string {
  return `${l.port}|${l.bindPort}|${l.protocol}`;
}

/** A port listener open on this runtime, and what it was opened for. */
interface OpenPort {
  listeners: Listener[];
  /** The PortListener fields that shape its sockets (not its forward). */
  shape: string;
}

export class ProxyRuntime {
  private readonly opts: ProxyRuntimeOptions;
  private readonly ctx: ProxyContext;
  /** The listeners the runtime was started with. */
  private readonly fixed: Listener[];
  /** Port listeners by name, opened from configs (syncListeners). */
  private readonly ports = new Map<string, OpenPort>();
  /** The port listeners of the last config applied. */
  private wantedPorts: PortListener[] = [];
  /** Port listeners draining after a config dropped them. */
  private readonly retiring = new Set<Listener>();
  private readonly listenerOptions: ConstructorParameters<typeof Listener>[2];
  private readonly registry: ClusterRegistry;
  private readonly routes = new RouteTableCompiler();
  private readonly filters: FilterChain;
  private readonly tlsTables: TlsTableBuilder;
  private generation = 0;
  private closed = false;
  /** The keys of the last rotation, for port listeners opened after it. */
  private ticketKeys: Buffer | undefined;

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
      preserveExternalRequestId: opts.preserveExternalRequestId ?? true,
      numTrustedHops: opts.numTrustedHops ?? 0,
      mergeSlashes: opts.mergeSlashes ?? true,
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
      tlsHandshakeTimeoutMs: opts.tlsHandshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS,
      maxHeaderSize: opts.maxHeaderSize ?? 60 * 1024,
      headersTimeoutMs: opts.headersTimeoutMs ?? 30_000,
      downstream: opts.downstream ?? {},
    };
    this.filters = new FilterChain(createFilterFeatures(this.ctx));
    this.listenerOptions = lo;
    this.fixed = opts.listeners.map((s) => new Listener(s, this.ctx, lo));
    this.tlsTables = new TlsTableBuilder(opts.ticketKeys, opts.listenerTls);
  }

  /** Every listener: the fixed ones, then the port listeners. */
  private get listeners(): Listener[] {
    if (this.ports.size === 0) return this.fixed;
    const out = [...this.fixed];
    for (const p of this.ports.values()) out.push(...p.listeners);
    return out;
  }

  /** Rotates the TLS session ticket keys of every listener (the primary sends new ones). */
  setTicketKeys(keys: Buffer): void {
    if (keys.length !== 48) throw new Error(`proxy ticketKeys must be 48 bytes, got ${keys.length}`);
    this.ticketKeys = keys;
    for (const l of this.listeners) l.setTicketKeys(keys);
  }

  /** Binds every listener; on failure closes the ones already bound. */
  async listen(): Promise<void> {
    const results = await Promise.allSettled(this.fixed.map((l) => l.listen()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(this.fixed.map((l) => (l.server.listening ? l.stopAccepting(0) : undefined)));
      throw failed.reason;
    }
  }

  /** Opens the port listeners the last config names and closes those it
   *  no longer names (each drains like a listener at shutdown: its open
   *  connections finish, for at most drainTimeoutMs). Listeners that stay
   *  are left alone, connections and all. Resolves to the ports that could
   *  not be opened, by port listener name, with why; a later call tries
   *  them again. Never throws. */
  async syncListeners(drainTimeoutMs = 30_000): Promise<Record<string, string>> {
    const settings = this.opts.portListeners;
    const problems: Record<string, string> = {};
    if (this.closed) return problems;
    const wanted = new Map(settings ? this.wantedPorts.map((l) => [l.name, l]) : []);
    for (const [name, open] of [...this.ports]) {
      const w = wanted.get(name);
      if (w && shapeOf(w) === open.shape) continue;
      this.ports.delete(name);
      void this.retire(open.listeners, drainTimeoutMs);
    }
    const opening: Promise<void>[] = [];
    for (const [name, l] of wanted) {
      if (this.ports.has(name)) continue;
      const listeners = portListenerSpecs(l, settings!).map((spec) => new Listener(spec, this.ctx, this.listenerOptions));
      for (const x of listeners) if (!this.ctx.stats.downstream.has(x.spec.name)) this.ctx.stats.downstream.set(x.spec.name, new RequestCounters());
      if (this.ticketKeys) for (const x of listeners) x.setTicketKeys(this.ticketKeys);
      const open: OpenPort = { listeners, shape: shapeOf(l) };
      this.ports.set(name, open);
      opening.push(
        Promise.all(listeners.map((x) => x.listen())).then(
          () => undefined,
          (err: Error) => {
            problems[name] = `port ${l.port} (bound at ${l.bindPort}): ${err.message}`;
            if (this.ports.get(name) === open) this.ports.delete(name);
            for (const x of listeners) x.destroyAll();
          },
        ),
      );
    }
    await Promise.all(opening);
    return problems;
  }

  /** Drains listeners a config no longer names, then closes what is left. */
  private async retire(listeners: Listener[], drainTimeoutMs: number): Promise<void> {
    for (const l of listeners) this.retiring.add(l);
    const grace = Math.min(this.opts.drainGraceMs ?? 1000, drainTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(listeners.map((l) => l.stopAccepting(grace))), new Promise<void>((r) => (timer = setTimeout(r, drainTimeoutMs)))]);
    clearTimeout(timer);
    for (const l of listeners) {
      l.destroyAll();
      this.retiring.delete(l);
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
    const warnVhost = (fqdn: string, msg: string) => this.ctx.warnOnce(`vhost|${fqdn}|${msg}`, { fqdn }, `virtual host not served: ${msg}`);
    const tls = this.tlsTables.build(config, clusters, warnVhost);
    // Port listeners' own hosts, SNI tables and TCP forwards.
    const ports = new Map<string, PortState>();
    for (const l of config.listeners ?? []) {
      const p: PortState = {
        tables: this.routes.compile(
          config,
          clusters,
          (fqdn, msg) => this.ctx.warnOnce(`route|${l.name}|${fqdn}|${msg}`, { fqdn, listener: l.name }, msg),
          (vhost, route, secure) => this.filters.forRoute(vhost, route, secure),
          l.name,
        ),
        tls: this.tlsTables.build(config, clusters, warnVhost, l.name),
      };
      if (l.tcpProxy) p.tcp = compileTcp(l.tcpProxy, clusters);
      ports.set(l.name, p);
    }
    this.ctx.stats.series.apply(config);
    this.ctx.state = { tables, tls, ports, clusters, generation: ++this.generation };
    this.wantedPorts = config.listeners ?? [];
    for (const l of this.listeners) l.prune(l.spec.table === undefined ? tls.keys : (ports.get(l.spec.table)?.tls.keys ?? new Set()));
    this.ctx.stats.configApplies++;
  }

  /** The HTTP-01 challenges the plain listeners answer from now on (the whole set). */
  setAcmeHttp01(tokens: readonly { token: string; keyAuthorization: string }[]): void {
    this.ctx.acmeHttp01 = new Map(tokens.map((t) => [t.token, t.keyAuthorization]));
  }

  /** Serves `socket` on the listener named `name` as if it had been
   *  accepted there (the load balancer in this process, or a connection
   *  the primary handed over); `unix`: accepted on a Unix socket. */
  adopt(name: string, socket: Socket, unix = false): void {
    const l = this.listeners.find((x) => x.spec.name === name);
    if (!l) {
      socket.destroy();
      return;
    }
    l.adopt(socket, unix);
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
    for (const l of this.retiring) l.destroyAll();
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
        address: l.boundAddress(),
        cxTotal: l.cxTotal,
        // A TLS connection is two sockets in l.sockets (raw and decrypted): one connection here.
        cxActive: l.openConnections,
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
