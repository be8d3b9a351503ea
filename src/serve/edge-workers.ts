// The primary's worker processes: a pool of proxy workers and a pool of
// balancer workers (or only balancer workers that run the proxy too, with
// --co-located). Each version's proxy update is made once, whatever the
// number of workers, as a delta on the version before.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type pino from 'pino';
import type { AcmeChallenge } from '../balancer/index.ts';
import type { BalancerConfig, PortListener, ProxyConfig } from '../edge/index.ts';
import type { MetricsAggregator } from '../metrics/index.ts';
import { ProxyConfigDeltas, type ProxyConfigUpdate } from './config-delta.ts';
import type { FromWorker, ListenerHealth, ListenerSpec, ToBalancerWorker, ToProxyWorker } from './messages.ts';
import type { ServeOptions } from './options.ts';
import type { ProxyStart } from './start-proxy.ts';
import type { DownstreamSettings } from '../proxy/index.ts';
import { workerShare } from './config-proxy-settings.ts';
import { ExactBalancer, type BalancedListener, type PortAcceptor } from './exact-balancer.ts';
import { SocketKeeper } from './socket-keeper.ts';
import { TicketKeys, TICKET_KEY_ROTATION_MS } from './ticket-keys.ts';
import { WorkerPool } from './workers.ts';

/** Loopback ports where the proxy takes flows from the balancer. */
export interface InternalPorts {
  http: number;
  https: number;
  /** A private folder (0700) for the Unix sockets each proxy worker also
   *  takes those flows on (default mode), removed when the workers stop. */
  socketDir?: string;
}

/** Where proxy worker `index` accepts the balancer's flows for `kind`
 *  (a port listener's name, or "{listener}" for the template of them all). */
export function proxySocketPath(dir: string, index: number, kind: string): string {
  return path.join(dir, `proxy-${index}-${kind}.sock`);
}

/** With exact balancing, where the primary accepts the balancer's flows for
 *  the proxy listener `name` ('http', 'https' or a port listener's) and
 *  hands each to the proxy worker holding the fewest. */
export function balancedSocketPath(dir: string, name: string): string {
  return path.join(dir, `lb-${name}.sock`);
}

export interface EdgeWorkersOptions {
  serve: ServeOptions;
  runProxy: boolean;
  runBalancer: boolean;
  coLocated: boolean;
  /** Workers of each kind. */
  count: number;
  /** Present when both the proxy and the balancer run. */
  internal: InternalPorts | undefined;
  logger: pino.Logger;
}

export class EdgeWorkers {
  readonly proxies: WorkerPool<ToProxyWorker, ProxyConfig> | undefined;
  readonly balancers: WorkerPool<ToBalancerWorker, BalancerConfig> | undefined;
  /** Items of the last proxy update that changed (for the reload debug log). */
  proxyItemsChanged = 0;
  readonly #deltas = new ProxyConfigDeltas();
  #proxyConfig: ProxyConfig | undefined;
  #health: Record<string, ListenerHealth> = {};
  /** Port listeners each worker ("role:index") could not bind at its last apply. */
  readonly #portProblems = new Map<string, Record<string, string>>();
  readonly #ticketKeys: TicketKeys | undefined;
  readonly #proxyTicketKeys: TicketKeys | undefined;
  readonly #socketDir: string | undefined;
  readonly #proxyAddress: string;
  /** listener.connection-balancer: exact (and more than one worker). */
  readonly exact: ExactBalancer | undefined;

  constructor(w: EdgeWorkersOptions) {
    const o = w.serve;
    this.#proxyAddress = o.proxyAddress;
    // One worker holds every connection whatever the balancer: nothing to hand over.
    const exact = w.runProxy && w.count > 1 && o.config.listener.connectionBalancer === 'exact' ? new ExactBalancer(balancedListeners(o, w.internal), w.logger) : undefined;
    this.exact = exact;
    // The hooks of the pool whose workers run the proxy.
    const handOff = exact && {
      onListening: (index: number, child: ChildProcess) => exact.workerReady(index, child),
      onGone: (child: ChildProcess) => exact.workerGone(child),
      onHandOff: (msg: Extract<FromWorker, { type: 'adopted' | 'closed' }>, child: ChildProcess) => {
        if (msg.type === 'adopted') exact.adopted(child, msg.id);
        else exact.closed(child, msg.listener);
      },
    };
    // A worker that fails to apply a config keeps serving the one before
    // (and /readyz turns red until a later config applies); a worker that
    // dies is replaced by the pool. Neither stops the others.
    const onFatal = (message: string, code: string | undefined, role: string): void => {
      w.logger.error({ role, code }, `${role} worker: ${message}; it keeps its previous configuration`);
    };
    const period = o.ticketKeyRotationMs ?? TICKET_KEY_ROTATION_MS;
    // The proxy's HTTPS listeners have keys of their own, rotated on the same period.
    const proxyKeys = w.runProxy
      ? new TicketKeys(period, (keys) => {
          this.proxies?.broadcast({ type: 'ticket-keys', keys });
          if (w.coLocated) this.balancers?.broadcast({ type: 'ticket-keys', keys, of: 'proxy' });
        })
      : undefined;
    this.#proxyTicketKeys = proxyKeys;
    // A worker forked later (a replacement) starts with the keys of the moment.
    const proxyStart = (workerIndex: number): ProxyStart => ({
      ...o.proxy,
      downstream: workerDownstream(o.proxy.downstream, w.count, workerIndex),
      listeners: proxyListeners(o, w.internal, workerIndex, exact),
      portListeners: {
        host: o.proxyAddress,
        proxyProtocol: o.useProxyProtocol,
        reusePort: !exact,
        ...(exact ? { handedOff: true } : {}),
        // With exact balancing the balancer's flows come handed over from the primary's sockets.
        ...(w.internal ? { balancer: w.internal.socketDir !== undefined && !exact ? { socketPathTemplate: proxySocketPath(w.internal.socketDir, workerIndex, '{listener}') } : {} } : {}),
      },
      ticketKeys: proxyKeys?.current ?? randomBytes(48),
    });
    this.#socketDir = w.internal?.socketDir;
    this.proxies =
      w.runProxy && !w.coLocated
        ? new WorkerPool<ToProxyWorker, ProxyConfig>({
            role: 'proxy',
            count: w.count,
            logger: w.logger,
            init: (workerIndex) => ({ type: 'init', workerIndex, logFormat: o.logFormat, ...proxyStart(workerIndex) }),
            configMessage: (v, config) => proxyMessage(this.#nextProxyUpdate(v, config)),
            wholeConfigMessage: (v) => proxyMessage(this.#deltas.whole(v)),
            onFatal,
            onApplied: (msg, index) => this.#portProblems.set(`proxy:${index}`, msg.portProblems ?? {}),
            ...handOff,
          })
        : undefined;
    const internal = w.internal;
    const ticketKeys = w.runBalancer
      ? new TicketKeys(period, (keys) => this.balancers?.broadcast({ type: 'ticket-keys', keys, of: 'balancer' }))
      : undefined;
    this.#ticketKeys = ticketKeys;
    this.balancers = ticketKeys
      ? new WorkerPool<ToBalancerWorker, BalancerConfig>({
          role: 'balancer',
          count: w.count,
          logger: w.logger,
          init: (workerIndex) => ({
            type: 'init',
            workerIndex,
            stateDir: o.stateDir,
            logFormat: o.logFormat,
            proxyTargets: internal ? proxyTargets(internal, w.count, exact !== undefined) : undefined,
            proxy: w.coLocated ? proxyStart(workerIndex) : undefined,
            ticketKeys: ticketKeys.current,
          }),
          // Co-located workers get the proxy's config of the same version in
          // the same message.
          configMessage: (v, config) => balancerMessage(v, config, w.coLocated && this.#proxyConfig ? this.#nextProxyUpdate(v, this.#proxyConfig) : undefined),
          wholeConfigMessage: (v, config) => balancerMessage(v, config, w.coLocated && this.#proxyConfig ? this.#deltas.whole(v) : undefined),
          onFatal,
          // A balancer worker's death resets none of the connections queued on its sockets.
          sockets: new SocketKeeper(w.logger),
          onApplied: (msg, index) => {
            if (msg.health) this.#health = { ...this.#health, ...msg.health };
            if (w.coLocated) this.#portProblems.set(`balancer:${index}`, msg.portProblems ?? {});
          },
          ...(w.coLocated ? handOff : undefined),
        })
      : undefined;
  }

  /** Forks every worker; resolves once each has bound its listeners. With
   *  exact balancing the primary binds the proxy's ports first. */
  async start(): Promise<void> {
    await this.exact?.bind();
    await Promise.all([this.proxies?.start(), this.balancers?.start()]);
  }

  /** Sends one version's configs; resolves once every worker applied them. */
  async apply(version: number, proxyConfig: ProxyConfig | undefined, balancerConfig: BalancerConfig | undefined): Promise<void> {
    this.#proxyConfig = proxyConfig;
    // With exact balancing the primary opens the port listeners the config names.
    if (this.exact && proxyConfig) this.#portProblems.set('primary', await this.exact.sync(portAcceptors(proxyConfig.listeners ?? [], this.#socketDir, this.#proxyAddress)));
    await Promise.all([proxyConfig && this.proxies?.apply(version, proxyConfig), balancerConfig && this.balancers?.apply(version, balancerConfig)]);
  }

  /** The port listeners some worker could not bind, by name, with why
   *  (and how many workers said so). */
  portProblems(): Record<string, string> {
    const out: Record<string, string> = {};
    const count = new Map<string, number>();
    for (const problems of this.#portProblems.values()) {
      for (const [name, why] of Object.entries(problems)) {
        out[name] ??= why;
        count.set(name, (count.get(name) ?? 0) + 1);
      }
    }
    for (const [name, n] of count) if (n > 1) out[name] = `${out[name]!} (${n} workers)`;
    return out;
  }

  /** True when every worker has applied the latest configs. */
  upToDate(): boolean {
    return (this.proxies?.upToDate() ?? true) && (this.balancers?.upToDate() ?? true);
  }

  /** Load balancer listener health as last reported. */
  get listenerHealth(): Record<string, ListenerHealth> {
    return this.#health;
  }

  /** Asks the balancer workers for their health now. */
  async refreshHealth(): Promise<Record<string, ListenerHealth>> {
    if (this.balancers) {
      const replies = await this.balancers.health();
      const fresh: Record<string, ListenerHealth> = {};
      for (const r of replies) {
        for (const [id, h] of Object.entries(r.listeners)) {
          // Every worker accepts on the same sockets: its counts add up.
          const seen = fresh[id];
          fresh[id] = seen ? { ...h, connections: seen.connections + h.connections, refused: seen.refused + h.refused } : h;
        }
      }
      this.#health = { ...this.#health, ...fresh };
    }
    return this.#health;
  }

  /** Asks every worker what it counted and hands the answers to `into`
   *  (a worker that does not answer in time keeps its last report there). */
  async collectMetrics(into: MetricsAggregator): Promise<void> {
    const replies = await Promise.all([this.proxies?.metrics() ?? [], this.balancers?.metrics() ?? []]);
    for (const r of replies.flat()) into.report(r.slot, r.pid, r.metrics);
  }

  /** The ACME challenges the balancer workers answer (the whole set). */
  async setChallenges(challenges: AcmeChallenge[]): Promise<void> {
    await Promise.all([this.balancers?.setChallenges(challenges), this.proxies?.setChallenges(challenges)]);
  }

  /** Drains every worker (in-flight requests get drainTimeoutMs). */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.#ticketKeys?.stop();
    this.#proxyTicketKeys?.stop();
    this.exact?.close();
    await Promise.all([this.proxies?.stop(drainTimeoutMs), this.balancers?.stop(drainTimeoutMs)]);
    this.#removeSockets();
  }

  /** Kills every worker at once (start-up failures). */
  kill(): void {
    this.#ticketKeys?.stop();
    this.#proxyTicketKeys?.stop();
    this.exact?.close();
    this.proxies?.kill();
    this.balancers?.kill();
    this.#removeSockets();
  }

  #removeSockets(): void {
    if (this.#socketDir !== undefined) rmSync(this.#socketDir, { recursive: true, force: true });
  }

  #nextProxyUpdate(version: number, config: ProxyConfig): ProxyConfigUpdate {
    const update = this.#deltas.next(version, config);
    this.proxyItemsChanged = update.changed;
    return update;
  }
}

function proxyMessage(u: ProxyConfigUpdate): ToProxyWorker {
  return { type: 'config', version: u.version, ...(u.base !== undefined ? { base: u.base } : {}), config: u.text };
}

function balancerMessage(version: number, config: BalancerConfig, proxy: ProxyConfigUpdate | undefined): ToBalancerWorker {
  return {
    type: 'config',
    version,
    config: JSON.stringify(config),
    ...(proxy ? { proxyConfig: proxy.text, ...(proxy.base !== undefined ? { proxyBase: proxy.base } : {}) } : {}),
  };
}

/** The public listeners, and with the balancer the internal ones it hands
 *  flows to: those carry PROXY v2 on listeners of their own, so the public
 *  ones need PROXY only when --use-proxy-protocol says so. */
function proxyListeners(o: ServeOptions, internal: InternalPorts | undefined, workerIndex: number, exact: ExactBalancer | undefined): ListenerSpec[] {
  const pub = (name: string, port: number): Pick<ListenerSpec, 'port' | 'reusePort' | 'handedOff'> =>
    exact ? { port: exact.port(name) ?? port, handedOff: true } : { port, reusePort: true };
  const listeners: ListenerSpec[] = [
    { name: 'http', host: o.proxyAddress, tls: false, proxyProtocol: o.useProxyProtocol, ...pub('http', o.httpPort) },
    { name: 'https', host: o.proxyAddress, tls: true, proxyProtocol: o.useProxyProtocol, ...pub('https', o.httpsPort) },
  ];
  if (internal) {
    // With exact balancing the balancer's flows come over the primary's
    // Unix sockets (handed over); the ports stay for health checks and as
    // the fallback.
    const unix = (kind: 'http' | 'https'): { unixPath?: string } =>
      internal.socketDir === undefined || exact ? {} : { unixPath: proxySocketPath(internal.socketDir, workerIndex, kind) };
    listeners.push(
      { name: 'lb-http', host: '127.0.0.1', port: internal.http, tls: false, proxyProtocol: true, reusePort: true, ...unix('http') },
      { name: 'lb-https', host: '127.0.0.1', port: internal.https, tls: true, proxyProtocol: true, reusePort: true, ...unix('https') },
    );
  }
  return listeners;
}

/** What the primary accepts for the proxy with exact balancing: the public
 *  ports and, in default mode, the balancer's Unix socket hop. */
function balancedListeners(o: ServeOptions, internal: InternalPorts | undefined): BalancedListener[] {
  const listeners: BalancedListener[] = [
    { name: 'http', host: o.proxyAddress, port: o.httpPort },
    { name: 'https', host: o.proxyAddress, port: o.httpsPort },
  ];
  const dir = internal?.socketDir;
  if (dir !== undefined) listeners.push({ name: 'lb-http', path: balancedSocketPath(dir, 'http') }, { name: 'lb-https', path: balancedSocketPath(dir, 'https') });
  return listeners;
}

/** With exact balancing, what the primary accepts for the config's port
 *  listeners: each public port and, in default mode, its balancer socket;
 *  `port` says how a bind failure is reported (as the workers would). */
function portAcceptors(listeners: readonly PortListener[], socketDir: string | undefined, host: string): PortAcceptor[] {
  return listeners.map((l) => ({
    label: `port ${l.port} (bound at ${l.bindPort})`,
    listeners: [{ name: l.name, host, port: l.bindPort }, ...(socketDir !== undefined ? [{ name: `lb-${l.name}`, path: balancedSocketPath(socketDir, l.name) }] : [])],
  }));
}

/** Where the balancer workers send flows for the proxy: its internal ports
 *  and, in default mode, every proxy worker's Unix sockets (with exact
 *  balancing, the primary's one per listener). */
function proxyTargets(internal: InternalPorts, count: number, exact: boolean): NonNullable<Extract<ToBalancerWorker, { type: 'init' }>['proxyTargets']> {
  const targets = { http: { address: '127.0.0.1', port: internal.http }, https: { address: '127.0.0.1', port: internal.https } };
  const dir = internal.socketDir;
  if (dir === undefined) return targets;
  if (exact) return { ...targets, unixPaths: { http: [balancedSocketPath(dir, 'http')], https: [balancedSocketPath(dir, 'https')] }, portPathTemplates: [balancedSocketPath(dir, '{listener}')] };
  const indexes = Array.from({ length: count }, (_, i) => i);
  return {
    ...targets,
    unixPaths: { http: indexes.map((i) => proxySocketPath(dir, i, 'http')), https: indexes.map((i) => proxySocketPath(dir, i, 'https')) },
    portPathTemplates: indexes.map((i) => proxySocketPath(dir, i, '{listener}')),
  };
}

/** A worker's downstream settings: its share of the listener connection limit. */
function workerDownstream(d: DownstreamSettings | undefined, workers: number, index: number): DownstreamSettings | undefined {
  if (d?.maxConnectionsPerListener === undefined) return d;
  return { ...d, maxConnectionsPerListener: workerShare(d.maxConnectionsPerListener, workers, index) };
}
