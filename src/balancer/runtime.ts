// BalancerRuntime: applies whole BalancerConfigs to real sockets and
// reconciles in place. Unchanged listeners are not touched; changed ones
// swap their handler on the same socket; a port is closed before any other
// listener binds it; a TLS listener whose certificate keys cannot be read
// keeps its previous state and reports why.

import { pino, type Logger } from 'pino';
import type { BalancerListenerMetrics } from '../metrics/index.ts';
import type { BalancerConfig, BalancerListener } from './balancer-config.ts';
import { AcmeChallengeTable, type AcmeChallenge } from './acme-challenges.ts';
import { ListenerRuntime, type ListenSockets, type LocalProxy, type ProxyTargetAddresses } from './listener-runtime.ts';
import { buildListenerContexts, type KeyProvider, type ListenerContexts } from './tls-contexts.ts';
import type { TargetHealth } from './target-pool.ts';

export interface BalancerRuntimeOptions {
  keys: KeyProvider;
  /** Where "proxy-http" / "proxy-https" targets go: the proxy's
   *  PROXY-protocol listeners for balancer traffic. */
  proxyTargets?: ProxyTargetAddresses;
  /** The proxy runs in this process too (serve --co-located): flows to
   *  proxyTargets are handed to it in-process. */
  localProxy?: LocalProxy;
  logger?: Logger;
  /** SO_REUSEPORT, for several balancer workers on the same ports. */
  reusePort?: boolean;
  /** Listening sockets kept outside this process (serve's workers). */
  sockets?: ListenSockets;
  /** TLS session ticket keys (48 bytes), the same in every balancer worker
   *  so that resumption works whichever worker a client reaches; without
   *  them each context makes its own. */
  ticketKeys?: Buffer;
}

function checkTicketKeys(keys: Buffer): Buffer {
  if (keys.length !== 48) throw new Error(`balancer ticketKeys must be 48 bytes, got ${keys.length}`);
  return keys;
}

export interface ListenerHealth {
  bound: boolean;
  /** Where it listens (the real port when bindPort is 0). */
  address?: { address: string; port: number };
  targets: { address: string; port: number; health: TargetHealth }[];
  problems: string[];
  /** Client connections open through this listener. */
  connections: number;
  /** Connections refused for coming from outside the source ranges. */
  refused: number;
}

export class BalancerRuntime {
  private readonly keys: KeyProvider;
  private readonly proxyTargets: ProxyTargetAddresses | undefined;
  private readonly localProxy: LocalProxy | undefined;
  private readonly logger: Logger;
  private readonly reusePort: boolean;
  private readonly sockets: ListenSockets | undefined;
  private ticketKeys: Buffer | undefined;
  private readonly challenges = new AcmeChallengeTable();
  private readonly listeners = new Map<string, ListenerRuntime>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(o: BalancerRuntimeOptions) {
    this.keys = o.keys;
    this.proxyTargets = o.proxyTargets;
    this.localProxy = o.localProxy;
    this.logger = o.logger ?? pino({ level: 'silent' });
    this.reusePort = o.reusePort ?? false;
    this.sockets = o.sockets;
    this.ticketKeys = o.ticketKeys && checkTicketKeys(o.ticketKeys);
  }

  /** Rotates the TLS session ticket keys of every listener, serving or built later. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = checkTicketKeys(keys);
    for (const rt of this.listeners.values()) rt.setTicketKeys(keys);
  }

  /** Reconciles to `config`. Never rejects for a listener that cannot be
   *  applied: see health(). Calls are serialised. */
  apply(config: BalancerConfig): Promise<void> {
    const run = this.queue.then(() => this.applyNow(config));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(config: BalancerConfig): Promise<void> {
    if (this.closed) return;
    const desired = new Map<string, BalancerListener>();
    for (const lb of config.loadBalancers ?? []) for (const l of lb.listeners ?? []) desired.set(l.id, l);

    // 1. Build TLS contexts for every new or changed listener first.
    const keyCache = new Map<string, Promise<string>>();
    const changes: { l: BalancerListener; rt: ListenerRuntime | undefined; contexts?: ListenerContexts }[] = [];
    for (const [id, l] of desired) {
      const rt = this.listeners.get(id);
      if (rt && rt.bound && rt.config && JSON.stringify(rt.config) === JSON.stringify(l)) {
        rt.applyProblems = [];
        continue;
      }
      let contexts: ListenerContexts | undefined;
      if (l.protocol === 'TLS') {
        try {
          if (!l.tls) throw new Error('TLS listener without certificates or policy');
          // Only certificates still being issued: it answers TLS-ALPN-01 until one arrives.
          if (l.tls.certificates.length === 0 && (l.tls.pending?.length ?? 0) > 0) contexts = { certificates: [], contexts: [], keyTypes: [] };
          else contexts = await buildListenerContexts(l.tls.certificates, l.tls.policy, this.keys, keyCache, this.ticketKeys);
        } catch (err) {
          const msg = `listener ${id}: ${(err as Error).message}; ${rt?.bound ? 'it keeps its previous configuration' : 'it is not started'}`;
          this.logger.warn({ listener: id }, msg);
          const holder = rt ?? this.placeholder(id);
          holder.applyProblems = [msg];
          continue;
        }
      }
      changes.push({ l, rt, contexts });
    }

    // 2. Listeners that left the config stop; so do binds that move, so a
    //    port is free before anything binds it again.
    for (const [id, rt] of this.listeners) {
      if (!desired.has(id)) {
        rt.retire();
        this.listeners.delete(id);
      }
    }
    for (const c of changes) {
      if (c.rt && c.rt.config && !c.rt.bindMatches(c.l)) c.rt.unbind();
    }

    // 3. Swap handlers, then bind what is not bound.
    for (const c of changes) {
      const rt = c.rt ?? this.listeners.get(c.l.id) ?? new ListenerRuntime(c.l.id, this.deps());
      this.listeners.set(c.l.id, rt);
      try {
        rt.activate(c.l, c.contexts);
        // Keys rotated while the contexts were being built.
        if (this.ticketKeys) rt.setTicketKeys(this.ticketKeys);
      } catch (err) {
        rt.applyProblems = [`listener ${c.l.id}: cannot apply: ${(err as Error).message}`];
      }
    }
    for (const c of changes) {
      const rt = this.listeners.get(c.l.id);
      if (!rt || rt.bound) continue;
      try {
        await rt.bind();
      } catch (err) {
        const msg = `listener ${c.l.id}: ${(err as Error).message}`;
        this.logger.warn({ listener: c.l.id }, msg);
        rt.applyProblems = [msg];
      }
    }
  }

  private deps() {
    return { logger: this.logger, proxyTargets: this.proxyTargets, localProxy: this.localProxy, reusePort: this.reusePort, challenges: this.challenges, ...(this.sockets ? { sockets: this.sockets } : {}) };
  }

  /** Accept, for dead worker `from`, on its socket known as `key`; false
   *  when no listener here has that key (the caller closes the handle). */
  adoptOrphan(from: number, key: string, handle: unknown): boolean {
    for (const rt of this.listeners.values()) {
      if (!rt.keptUnder(key)) continue;
      rt.adoptOrphan(from, handle);
      return true;
    }
    return false;
  }

  /** Worker `from`'s replacement accepts on its sockets again. */
  releaseOrphans(from: number): void {
    for (const rt of this.listeners.values()) rt.releaseOrphan(from);
  }

  /** The ACME challenges to answer from now on (the whole set; empty: none). */
  setChallenges(list: readonly AcmeChallenge[]): void {
    this.challenges.replace(list);
  }

  /** A listener that never started, kept only to report its problem. */
  private placeholder(id: string): ListenerRuntime {
    const rt = new ListenerRuntime(id, this.deps());
    this.listeners.set(id, rt);
    return rt;
  }

  health(): { listeners: Record<string, ListenerHealth> } {
    const listeners: Record<string, ListenerHealth> = {};
    for (const [id, rt] of [...this.listeners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const h: ListenerHealth = {
        bound: rt.bound,
        targets: rt.pool.list(),
        problems: [...rt.problems, ...rt.applyProblems],
        connections: rt.flowCount,
        refused: rt.refusedCount,
      };
      const a = rt.address();
      if (a) h.address = a;
      listeners[id] = h;
    }
    return { listeners };
  }

  /** What the metrics read at scrape time (isobar_lb_*). */
  metrics(): BalancerListenerMetrics[] {
    const out: BalancerListenerMetrics[] = [];
    for (const [id, rt] of this.listeners) {
      const config = rt.config;
      if (!config) continue;
      const targets = rt.pool.list();
      // As HealthyHostCount / UnHealthyHostCount: targets still in their
      // initial checks or draining are neither.
      const healthy = targets.filter((t) => t.health === 'healthy').length;
      const unhealthy = targets.filter((t) => t.health === 'unhealthy').length;
      out.push({
        id,
        protocol: config.protocol,
        counters: rt.counters,
        activeFlows: rt.flowCount,
        refused: rt.refusedCount,
        healthyTargets: healthy,
        unhealthyTargets: unhealthy,
      });
    }
    return out;
  }

  /** Where a listener is bound (the real port when bindPort is 0). */
  address(id: string): { address: string; port: number } | undefined {
    return this.listeners.get(id)?.address();
  }

  /** Stops accepting, stops health checks, lets open flows finish for up to
   *  drainTimeoutMs, then closes what is left. */
  async close(drainTimeoutMs: number): Promise<void> {
    this.closed = true;
    await this.queue;
    await Promise.all([...this.listeners.values()].map((rt) => rt.close(drainTimeoutMs)));
    this.listeners.clear();
  }
}
