// Envoy's circuit breakers for one cluster in one proxy worker (Envoy's are
// per instance; isobar's are per worker process, as its local rate limits).
// A request first needs a place among the cluster's max_requests; then a
// connection: with HTTP/1 each request in flight holds one, so one more is
// sent while fewer than max_connections (and the host's
// per_host_max_connections) are in use; with HTTP/2 while the host's
// connections have a free stream. Otherwise it waits, FIFO, among at most
// max_pending_requests; beyond that it overflows (503, UO). Retries in
// progress are capped by max_retries (over it, the try's own answer stands).
import type { CircuitBreakers } from '../dag/index.ts';

/** Envoy's thresholds where the cluster sets none (0). */
export function withEnvoyDefaults(cb: CircuitBreakers | undefined): CircuitBreakers {
  return {
    maxConnections: cb?.maxConnections || 1024,
    maxPendingRequests: cb?.maxPendingRequests || 1024,
    maxRequests: cb?.maxRequests || 1024,
    maxRetries: cb?.maxRetries || 3,
    perHostMaxConnections: cb?.perHostMaxConnections || 0,
  };
}

/** Streams per upstream HTTP/2 connection (the pool's pipelining). */
export const H2_STREAMS_PER_CONNECTION = 100;
/** Upstream HTTP/2 connections per host, at most. */
const H2_CONNECTIONS_PER_HOST = 8;

/** What the budget needs of an endpoint: its requests in flight. */
export interface BudgetHost {
  active: number;
}

interface Waiter {
  host: BudgetHost;
  go: () => void;
}

/** Connections an endpoint's pool may open for a cluster with these limits. */
export function poolConnections(limits: CircuitBreakers, multiplexed: boolean): number {
  const perHost = limits.perHostMaxConnections > 0 ? limits.perHostMaxConnections : Infinity;
  return Math.min(multiplexed ? H2_CONNECTIONS_PER_HOST : Infinity, perHost, limits.maxConnections);
}

export class ClusterBudget {
  readonly limits: CircuitBreakers;
  readonly multiplexed: boolean;
  /** Requests sent and not yet ended. */
  requests = 0;
  /** Connections held: HTTP/1 requests in flight and TCP flows. */
  connections = 0;
  /** Retries decided and not yet ended. */
  retries = 0;
  readonly #pending = new Set<Waiter>();
  readonly #hostCap: number;
  readonly #onPending: (delta: number) => void;
  #waking = false;

  /** `onPending` follows the number waiting (Envoy's upstream_rq_pending_active). */
  constructor(limits: CircuitBreakers | undefined, multiplexed: boolean, onPending: (delta: number) => void = () => {}) {
    this.limits = withEnvoyDefaults(limits);
    this.multiplexed = multiplexed;
    this.#onPending = onPending;
    const conns = poolConnections(this.limits, multiplexed);
    this.#hostCap = multiplexed ? conns * H2_STREAMS_PER_CONNECTION : conns;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** max_requests is reached: the request overflows without waiting. */
  requestsFull(): boolean {
    return this.requests >= this.limits.maxRequests;
  }

  /** A request to `host` can be sent now. */
  canSend(host: BudgetHost): boolean {
    if (host.active >= this.#hostCap) return false;
    return this.multiplexed || this.connections < this.limits.maxConnections;
  }

  /** A request to `host` is sent (the caller counts host.active). */
  sent(): void {
    this.requests++;
    if (!this.multiplexed) this.connections++;
  }

  /** A sent request ended: a waiting one may go. */
  ended(): void {
    this.requests--;
    if (!this.multiplexed) this.connections--;
    this.wake();
  }

  /** Waits for a connection to `host`; undefined when max_pending_requests
   *  are already waiting (overflow). `go` runs when it may be sent. */
  wait(host: BudgetHost, go: () => void): object | undefined {
    if (this.#pending.size >= this.limits.maxPendingRequests) return undefined;
    const w: Waiter = { host, go };
    this.#pending.add(w);
    this.#onPending(1);
    return w;
  }

  /** A waiting request left (its client went away, or it timed out). */
  leave(ticket: object): void {
    if (this.#pending.delete(ticket as Waiter)) this.#onPending(-1);
  }

  /** A TCP flow to `host` may connect: false is overflow. */
  openConnection(host: BudgetHost): boolean {
    const perHost = this.limits.perHostMaxConnections;
    if (this.connections >= this.limits.maxConnections || (perHost > 0 && host.active >= perHost)) return false;
    this.connections++;
    return true;
  }

  closeConnection(): void {
    this.connections--;
    this.wake();
  }

  /** A retry may start: false when max_retries are in progress. */
  startRetry(): boolean {
    if (this.retries >= this.limits.maxRetries) return false;
    this.retries++;
    return true;
  }

  endRetry(): void {
    this.retries--;
  }

  private wake(): void {
    if (this.#waking || this.#pending.size === 0) return;
    this.#waking = true;
    try {
      for (const w of this.#pending) {
        if (!this.multiplexed && this.connections >= this.limits.maxConnections) break;
        if (!this.canSend(w.host)) continue;
        this.#pending.delete(w);
        this.#onPending(-1);
        w.go();
      }
    } finally {
      this.#waking = false;
    }
  }
}
