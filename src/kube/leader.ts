// Leader election on a coordination.k8s.io/v1 Lease, following client-go's
// algorithm (client-node 2.x has none): a candidate takes the Lease when it
// is free or when its record has not changed for leaseDurationSeconds as
// measured on the candidate's own clock (no trust in other clocks); the
// leader renews every retryPeriod and steps down when it could not renew for
// renewDeadline, before anyone else may take over. Writes carry the Lease's
// resourceVersion, so two candidates can never both win one round.

import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ApiClient, ApiError } from './api-client.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { objectPath, collectionPath } from './resources.ts';

export interface LeaderElectorOptions {
  namespace: string;
  /** the Lease's name */
  name: string;
  /** this replica, e.g. the pod name */
  identity: string;
  leaseDurationMs?: number; // 15000
  renewDeadlineMs?: number; // 10000
  retryPeriodMs?: number; // 2000
  kubeconfig?: string;
  logger?: Logger;
  /** share an existing client instead of loading the kubeconfig */
  client?: ApiClient;
}

const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector extends EventEmitter {
  #o: Required<Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> & LeaderElectorOptions;
  #log: Logger;
  #client: ApiClient | undefined;
  #ownClient = false;
  #leader = false;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #lastRenew = 0; // monotonic ms of the last successful renew
  #observed = ''; // holder + renewTime of the last record seen
  #observedAt = 0;

  constructor(o: LeaderElectorOptions) {
    super();
    const leaseDurationMs = o.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (!o.namespace || !o.name || !o.identity) throw new Error('leader election needs a namespace, a Lease name and an identity');
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs && retryPeriodMs > 0)) {
      throw new Error(
        `leader election timings must satisfy leaseDuration > renewDeadline > retryPeriod > 0 (got ${leaseDurationMs} / ${renewDeadlineMs} / ${retryPeriodMs} ms)`,
      );
    }
    this.#o = { ...o, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.#log = o.logger ?? pino({ level: 'silent' });
  }

  isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    if (this.#running) return;
    if (!this.#client) {
      if (this.#o.client) this.#client = this.#o.client;
      else {
        this.#client = new ApiClient(loadKubeConfig(this.#o.kubeconfig));
        this.#ownClient = true;
      }
    }
    this.#running = true;
    this.#schedule(0);
  }

  /** Stop campaigning; a leader steps down and frees the Lease so another
   *  replica takes over at once instead of after the lease duration. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tick;
    if (this.#leader) {
      this.#stepDown('stopping');
      await this.#release().catch((err) => this.#log.warn({ err: (err as Error).message }, 'could not release the leader Lease'));
    }
    if (this.#ownClient) await this.#client?.close();
    this.#client = undefined;
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#tick = this.#round().finally(() => {
        this.#tick = undefined;
        // Followers add jitter so candidates do not collide each round.
        const p = this.#o.retryPeriodMs;
        this.#schedule(this.#leader ? p : p + Math.floor(Math.random() * p * 0.2));
      });
    }, ms);
  }

  async #round(): Promise<void> {
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#log.warn({ lease: `${this.#o.namespace}/${this.#o.name}` }, `leader election: ${(err as Error).message}`);
    }
    if (!this.#running) return;
    const now = performance.now();
    if (ok) {
      this.#lastRenew = now;
      if (!this.#leader) {
        this.#leader = true;
        this.#log.info({ lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity }, 'became leader');
        this.emit('started-leading');
      }
    } else if (this.#leader && now - this.#lastRenew >= this.#o.renewDeadlineMs) {
      this.#stepDown(`could not renew the Lease for ${this.#o.renewDeadlineMs} ms`);
    }
  }

  #stepDown(why: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.#log.warn({ lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity }, `stopped leading: ${why}`);
    this.emit('stopped-leading');
  }

  #spec(prev: LeaseSpec | undefined, nowIso: string): LeaseSpec {
    const mine = prev?.holderIdentity === this.#o.identity;
    return {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.#o.leaseDurationMs / 1000)),
      acquireTime: mine && prev?.acquireTime ? prev.acquireTime : nowIso,
      renewTime: nowIso,
      leaseTransitions: mine ? (prev?.leaseTransitions ?? 0) : (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity ? 1 : 0),
    };
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const client = this.#client!;
    const path = objectPath(LEASES, this.#o.namespace, this.#o.name);
    const nowIso = microTime();
    let lease: Lease;
    try {
      lease = await client.request<Lease>('GET', path);
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode !== 404) throw err;
      try {
        await client.request('POST', collectionPath(LEASES, this.#o.namespace), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.#o.name, namespace: this.#o.namespace },
            spec: this.#spec(undefined, nowIso),
          },
        });
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.statusCode === 409) return false; // someone else created it first
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const seen = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${lease.metadata.resourceVersion ?? ''}`;
    const now = performance.now();
    if (seen !== this.#observed) {
      this.#observed = seen;
      this.#observedAt = now;
    }
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.#o.leaseDurationMs / 1000)) * 1000;
    if (holder && holder !== this.#o.identity && now < this.#observedAt + durationMs) {
      if (this.#leader) this.#stepDown(`the Lease is held by ${holder}`);
      return false;
    }
    try {
      await client.request('PUT', path, {
        body: { ...lease, metadata: { ...lease.metadata }, spec: this.#spec(spec, nowIso) },
      });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 409) return false; // lost the race this round
      throw err;
    }
  }

  async #release(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const path = objectPath(LEASES, this.#o.namespace, this.#o.name);
    const lease = await client.request<Lease>('GET', path);
    if (lease.spec?.holderIdentity !== this.#o.identity) return;
    await client.request('PUT', path, {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } },
    });
  }
}
