// StatusWriter: writes HTTPProxy and ExtensionService status (status
// subresource), Service status.loadBalancer.ingress and the status.loadBalancer
// of the Ingresses isobar serves back to the API server.
//
// - Only changes are written: each object's desired status is fingerprinted
//   (without lastTransitionTime) and compared with what this writer last
//   wrote, or with what the API server already shows.
// - Rate-limited but never starved: a token bucket (qps/burst) and a fixed
//   number of requests in flight; the queue is FIFO over objects and
//   latest-wins per object (a newer status replaces a queued one in place),
//   so a busy object cannot push the others back.
// - 409 Conflict: re-read the object and retry with its resourceVersion.
// - Only the leader writes; losing the lease drops the queue and aborts
//   requests in flight at once.

import type { Logger } from 'pino';
import { pino } from 'pino';
import type { ExtensionServiceStatus, HTTPProxyStatus, IngressStatus, ServiceStatus, DetailedCondition, StatusReport } from '../status/index.ts';
import { ApiClient, ApiError } from './api-client.ts';
import { Backoff } from './backoff.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { RateLimiter } from './rate-limiter.ts';
import {
  BACKENDTLSPOLICIES,
  EXTENSIONSERVICES,
  GATEWAYCLASSES,
  GATEWAYS,
  GRPCROUTES,
  HTTPPROXIES,
  HTTPROUTES,
  INGRESSES,
  SERVICES,
  TLSROUTES,
  TCPROUTES,
  objectPath,
  type ResourceType,
} from './resources.ts';
import { gatewayFingerprint, gatewayStatusBody, type GatewayKind } from './gateway-status.ts';

export interface StatusWriterOptions {
  kubeconfig?: string;
  logger?: Logger;
  /** sustained writes per second (default 300: 5,000 objects in ~16 s) */
  qps?: number;
  /** writes allowed at once after a quiet period (default 600) */
  burst?: number;
  /** requests in flight at most (default 32) */
  concurrency?: number;
  /** the status an object has on the server (KubeSource.observedStatus),
   *  so a new leader does not rewrite what is already there */
  observedStatus?: (kind: TargetKind, namespace: string, name: string) => unknown;
  /** The resource a kind's status is written at when the source reads it at
   *  another version than its usual one (TCPRoute at v1alpha2). */
  servedAt?: (kind: TargetKind) => ResourceType | undefined;
  /** share a client instead of loading the kubeconfig */
  client?: ApiClient;
  /** attempts per write on 409 before the object goes to the back of the queue */
  conflictRetries?: number;
  /** Told of every status update as Contour's metrics count them: a write
   *  that succeeded or failed (with its duration), a 409 conflict (the
   *  write retries), or a no-op (the server already shows the status). */
  onUpdate?: (u: StatusUpdateEvent) => void;
  /** The address HTTPProxies are reachable at (the ingress Service's
   *  status.loadBalancer.ingress), written into every HTTPProxy's
   *  status.loadBalancer as Contour does. Absent: that field is left alone. */
  proxyIngress?: () => { ip?: string; hostname?: string; ports?: { port: number; protocol: string }[] }[] | undefined;
}

type TargetKind = 'HTTPProxy' | 'Service' | 'ExtensionService' | 'Ingress' | GatewayKind;

const RESOURCES: Record<TargetKind, ResourceType> = {
  HTTPProxy: HTTPPROXIES,
  Service: SERVICES,
  ExtensionService: EXTENSIONSERVICES,
  Ingress: INGRESSES,
  GatewayClass: GATEWAYCLASSES,
  Gateway: GATEWAYS,
  HTTPRoute: HTTPROUTES,
  GRPCRoute: GRPCROUTES,
  TLSRoute: TLSROUTES,
  TCPRoute: TCPROUTES,
  BackendTLSPolicy: BACKENDTLSPOLICIES,
};

/** The Gateway API statuses of a report, by the kind they are written to. */
export type GatewayApiStatuses = Pick<StatusReport, 'gatewayclasses' | 'gateways' | 'httproutes' | 'grpcroutes' | 'tlsroutes' | 'tcproutes' | 'backendtlspolicies'>;
const GATEWAY_REPORT_KEYS: [keyof GatewayApiStatuses, GatewayKind][] = [
  ['gatewayclasses', 'GatewayClass'],
  ['gateways', 'Gateway'],
  ['httproutes', 'HTTPRoute'],
  ['grpcroutes', 'GRPCRoute'],
  ['tlsroutes', 'TLSRoute'],
  ['tcproutes', 'TCPRoute'],
  ['backendtlspolicies', 'BackendTLSPolicy'],
];
const GATEWAY_KIND_SET = new Set<string>(GATEWAY_REPORT_KEYS.map(([, k]) => k));

type Transitions = Map<string, { status: string; time: string }>;

export interface StatusUpdateEvent {
  kind: TargetKind;
  outcome: 'success' | 'noop' | 'failed' | 'conflict';
  seconds?: number;
}

interface Desired {
  kind: TargetKind;
  namespace: string;
  name: string;
  status: Record<string, unknown>;
  fingerprint: string;
}

export interface StatusWriterStats {
  written: number;
  conflicts: number;
  failures: number;
  queued: number;
  inFlight: number;
}

export class StatusWriter {
  #o: StatusWriterOptions;
  #log: Logger;
  #client: ApiClient | undefined;
  #ownClient = false;
  #limiter: RateLimiter;
  #concurrency: number;
  #leader = false;
  #stopped = false;
  #desired = new Map<string, Desired>();
  #written = new Map<string, string>(); // key -> fingerprint on the server
  #transitions = new Map<string, Transitions>();
  #queue = new Set<string>();
  #inFlight = new Map<string, AbortController>();
  #again = new Set<string>(); // changed while in flight
  #backoff = new Backoff({ baseMs: 200, maxMs: 10_000 });
  #pausedUntil = 0;
  #resume: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];
  #lastErrorLog = new Map<string, number>();
  #stats = { written: 0, conflicts: 0, failures: 0 };

  constructor(o: StatusWriterOptions = {}) {
    this.#o = o;
    this.#log = o.logger ?? pino({ level: 'silent' });
    this.#limiter = new RateLimiter(o.qps ?? 300, o.burst ?? 600);
    this.#concurrency = Math.max(1, o.concurrency ?? 32);
    if (o.client) this.#client = o.client;
  }

  get stats(): StatusWriterStats {
    return { ...this.#stats, queued: this.#queue.size, inFlight: this.#inFlight.size };
  }

  /** The statuses of the latest build. Objects absent from the lists are
   *  no longer tracked (a Service the balancer stopped serving gets its
   *  ingress cleared, if this writer had set it). Only the Ingresses isobar
   *  serves get a status (Contour's status.loadBalancer, nothing else). */
  write(statuses: HTTPProxyStatus[], services: ServiceStatus[], extensions: ExtensionServiceStatus[] = [], ingresses: IngressStatus[] = [], gatewayApi: GatewayApiStatuses = {}): void {
    if (this.#stopped) return;
    const next = new Map<string, Desired>();
    const lb = this.#o.proxyIngress ? normalIngress(this.#o.proxyIngress() ?? []) : undefined;
    const lbFp = lb ? JSON.stringify(lb) : '';
    for (const s of statuses) {
      const key = `HTTPProxy/${s.namespace}/${s.name}`;
      const fp = proxyFingerprint(s) + lbFp;
      const prev = this.#desired.get(key);
      // Unchanged since the last build: keep it (and its transition times).
      next.set(key, prev && prev.fingerprint === fp ? prev : this.#desiredProxy(key, s, fp, lb));
    }
    for (const s of services) {
      const key = `Service/${s.namespace}/${s.name}`;
      const ingress = normalIngress(s.ingress);
      next.set(key, {
        kind: 'Service',
        namespace: s.namespace,
        name: s.name,
        status: { loadBalancer: ingress.length ? { ingress } : {} },
        fingerprint: JSON.stringify(ingress),
      });
    }
    for (const s of extensions) {
      // Contour's ExtensionServiceStatus is its conditions alone.
      const key = `ExtensionService/${s.namespace}/${s.name}`;
      const fp = extensionFingerprint(s);
      const prev = this.#desired.get(key);
      next.set(
        key,
        prev && prev.fingerprint === fp
          ? prev
          : { kind: 'ExtensionService', namespace: s.namespace, name: s.name, status: { conditions: this.#conditions(key, 'ExtensionService', s) }, fingerprint: fp },
      );
    }
    for (const s of ingresses) {
      if (!s.served) continue;
      const ingress = normalIngress(s.loadBalancer.ingress);
      next.set(`Ingress/${s.namespace}/${s.name}`, {
        kind: 'Ingress',
        namespace: s.namespace,
        name: s.name,
        status: { loadBalancer: ingress.length ? { ingress } : {} },
        fingerprint: JSON.stringify(ingress),
      });
    }
    // Gateway API kinds: isobar's part of each status (other controllers'
    // route parents and policy ancestors are kept as the server has them).
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const [field, kind] of GATEWAY_REPORT_KEYS) {
      for (const s of gatewayApi[field] ?? []) {
        const key = `${kind}/${s.namespace}/${s.name}`;
        const fp = gatewayFingerprint(kind, s);
        const prev = this.#desired.get(key);
        if (prev && prev.fingerprint === fp) {
          next.set(key, prev);
          continue;
        }
        const observed = this.#o.observedStatus?.(kind, s.namespace, s.name);
        next.set(key, { kind, namespace: s.namespace, name: s.name, status: gatewayStatusBody(kind, s, observed, now), fingerprint: fp });
      }
    }
    for (const [key, d] of this.#desired) {
      if (d.kind === 'Service' && !next.has(key) && this.#written.has(key) && !isEmptyLb(d.status)) {
        next.set(key, { kind: 'Service', namespace: d.namespace, name: d.name, status: { loadBalancer: {} }, fingerprint: '[]' });
      }
    }
    this.#desired = next;
    for (const key of [...this.#written.keys()]) if (!next.has(key)) this.#written.delete(key);
    for (const key of [...this.#transitions.keys()]) if (!next.has(key)) this.#transitions.delete(key);
    if (!this.#leader) return;
    for (const [key, d] of next) this.#consider(key, d);
    this.#pump();
  }

  setLeader(isLeader: boolean): void {
    if (isLeader === this.#leader || this.#stopped) return;
    this.#leader = isLeader;
    if (!isLeader) {
      // Stop at once: nothing queued goes out, requests in flight are cut.
      this.#queue.clear();
      this.#again.clear();
      for (const ac of this.#inFlight.values()) ac.abort();
      this.#written.clear();
      this.#wakeIdle();
      return;
    }
    for (const [key, d] of this.#desired) this.#consider(key, d);
    this.#pump();
  }

  /** The object's status changed on the server (seen by the source's
   *  watch): if it no longer says what this writer wants, write it again.
   *  Our own writes echo back equal and cost nothing. */
  recheck(kind: TargetKind, namespace: string, name: string): void {
    const key = `${kind}/${namespace}/${name}`;
    const d = this.#desired.get(key);
    if (!d || !this.#leader || this.#stopped) return;
    if (this.#inFlight.has(key)) {
      this.#again.add(key);
      return;
    }
    const observed = this.#o.observedStatus?.(kind, namespace, name);
    if (observed === undefined) return;
    if (observedFingerprint(kind, observed, this.#o.proxyIngress !== undefined) === d.fingerprint) {
      this.#written.set(key, d.fingerprint);
      return;
    }
    this.#written.delete(key);
    this.#queue.add(key);
    this.#pump();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#queue.size === 0 && this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#leader = false;
    this.#queue.clear();
    for (const ac of this.#inFlight.values()) ac.abort();
    if (this.#resume) clearTimeout(this.#resume);
    this.#limiter.drain();
    await this.idle();
    if (this.#ownClient) await this.#client?.close();
  }

  // ---- desired state ------------------------------------------------------

  #desiredProxy(key: string, s: HTTPProxyStatus, fp: string, lb: Record<string, unknown>[] | undefined): Desired {
    const conditions = this.#conditions(key, 'HTTPProxy', s);
    const status: Record<string, unknown> = { currentStatus: s.currentStatus, description: s.description, conditions };
    // An empty ingress list is removed with null (merge patch semantics).
    if (lb) status.loadBalancer = { ingress: lb.length ? lb : null };
    return { kind: 'HTTPProxy', namespace: s.namespace, name: s.name, status, fingerprint: fp };
  }

  /** The conditions as written: lastTransitionTime is kept while a
   *  condition's status stays the same (from this writer's last build, else
   *  from what the server shows), and is now when it changes. */
  #conditions(key: string, kind: TargetKind, s: { namespace: string; name: string; conditions: DetailedCondition[] }): Record<string, unknown>[] {
    const observed = this.#o.observedStatus?.(kind, s.namespace, s.name) as { conditions?: { type?: string; status?: string; lastTransitionTime?: string }[] } | undefined;
    const prev = this.#transitions.get(key) ?? new Map();
    const next: Transitions = new Map();
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const conditions = s.conditions.map((c: DetailedCondition) => {
      let time = prev.get(c.type)?.status === c.status ? prev.get(c.type)!.time : undefined;
      if (!time) {
        const o = observed?.conditions?.find((x) => x.type === c.type);
        if (o?.status === c.status && o.lastTransitionTime) time = o.lastTransitionTime;
      }
      time ??= now;
      next.set(c.type, { status: c.status, time });
      const out: Record<string, unknown> = {
        type: c.type,
        status: c.status,
        observedGeneration: c.observedGeneration,
        lastTransitionTime: time,
        reason: c.reason,
        message: c.message,
      };
      if (c.errors?.length) out.errors = c.errors;
      if (c.warnings?.length) out.warnings = c.warnings;
      return out;
    });
    this.#transitions.set(key, next);
    return conditions;
  }

  #consider(key: string, d: Desired): void {
    // A write in flight may still change what the server says (and carry an
    // older build): look again once it has landed.
    if (this.#inFlight.has(key)) {
      this.#again.add(key);
      return;
    }
    if (this.#written.get(key) === d.fingerprint) {
      this.#o.onUpdate?.({ kind: d.kind, outcome: 'noop' });
      return;
    }
    const observed = this.#o.observedStatus?.(d.kind, d.namespace, d.name);
    if (observed !== undefined && observedFingerprint(d.kind, observed, this.#o.proxyIngress !== undefined) === d.fingerprint) {
      this.#written.set(key, d.fingerprint);
      this.#o.onUpdate?.({ kind: d.kind, outcome: 'noop' });
      return;
    }
    if (this.#inFlight.has(key)) this.#again.add(key);
    else this.#queue.add(key);
  }

  // ---- sending --------------------------------------------------------------

  #pump(): void {
    if (!this.#leader || this.#stopped) return;
    const wait = this.#pausedUntil - performance.now();
    if (wait > 0) {
      this.#resume ??= setTimeout(() => {
        this.#resume = undefined;
        this.#pump();
      }, wait);
      return;
    }
    while (this.#inFlight.size < this.#concurrency && this.#queue.size > 0) {
      const key = this.#queue.values().next().value as string;
      this.#queue.delete(key);
      const ac = new AbortController();
      this.#inFlight.set(key, ac);
      void this.#send(key, ac.signal).finally(() => {
        this.#inFlight.delete(key);
        if (this.#again.delete(key) && this.#leader) {
          const d = this.#desired.get(key);
          if (d) this.#consider(key, d);
        }
        this.#pump();
        this.#wakeIdle();
      });
    }
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    if (this.#queue.size === 0 && this.#inFlight.size === 0) {
      const w = this.#idle;
      this.#idle = [];
      for (const r of w) r();
    }
  }

  #clientOrLoad(): ApiClient {
    if (!this.#client) {
      this.#client = new ApiClient(loadKubeConfig(this.#o.kubeconfig));
      this.#ownClient = true;
    }
    return this.#client;
  }

  async #send(key: string, signal: AbortSignal): Promise<void> {
    const retries = this.#o.conflictRetries ?? 5;
    let resourceVersion: string | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      await this.#limiter.take();
      if (signal.aborted || !this.#leader) return;
      const d = this.#desired.get(key);
      if (!d || this.#written.get(key) === d.fingerprint) return;
      const type = this.#o.servedAt?.(d.kind) ?? RESOURCES[d.kind];
      const path = objectPath(type, d.namespace, d.name, 'status');
      // A merge patch only removes a field by naming it with null.
      const status = (d.kind === 'Service' || d.kind === 'Ingress') && isEmptyLb(d.status) ? { loadBalancer: { ingress: null } } : d.status;
      const body: Record<string, unknown> = { status };
      if (resourceVersion) body.metadata = { resourceVersion };
      const t0 = performance.now();
      const seconds = (): number => (performance.now() - t0) / 1000;
      try {
        await this.#clientOrLoad().request('PATCH', path, { body, contentType: 'application/merge-patch+json', signal });
        if (!this.#leader) return;
        this.#written.set(key, d.fingerprint);
        this.#stats.written++;
        this.#o.onUpdate?.({ kind: d.kind, outcome: 'success', seconds: seconds() });
        this.#backoff.reset();
        return;
      } catch (err) {
        if (signal.aborted || !this.#leader) return;
        if (err instanceof ApiError && err.statusCode === 409) {
          // Someone wrote in between: read the latest version and retry on it.
          this.#stats.conflicts++;
          this.#o.onUpdate?.({ kind: d.kind, outcome: 'conflict' });
          try {
            await this.#limiter.take();
            const latest = await this.#clientOrLoad().request<{ metadata?: { resourceVersion?: string } }>('GET', objectPath(type, d.namespace, d.name), { signal });
            resourceVersion = latest.metadata?.resourceVersion;
          } catch (e) {
            if (e instanceof ApiError && e.statusCode === 404) return; // deleted meanwhile
            if (signal.aborted) return;
            this.#o.onUpdate?.({ kind: d.kind, outcome: 'failed', seconds: seconds() });
            return this.#failed(key, e);
          }
          continue;
        }
        if (err instanceof ApiError && err.statusCode === 404) return; // deleted: a later build drops it
        this.#o.onUpdate?.({ kind: d.kind, outcome: 'failed', seconds: seconds() });
        return this.#failed(key, err);
      }
    }
    // Still conflicting: let the others go first, then try again.
    this.#queue.add(key);
  }

  #failed(key: string, err: unknown): void {
    this.#stats.failures++;
    const delay = this.#backoff.next();
    this.#pausedUntil = performance.now() + delay;
    const e = err as ApiError;
    const klass = `${e?.statusCode ?? 'x'}`;
    const now = Date.now();
    if ((this.#lastErrorLog.get(klass) ?? 0) + 10_000 < now) {
      this.#lastErrorLog.set(klass, now);
      const hint =
        e?.statusCode === 403
          ? ': RBAC must allow patch on httpproxies/status, extensionservices/status, services/status, ingresses/status and the Gateway API kinds\' status (see deploy/rbac.yaml)'
          : e?.statusCode === 401
            ? ': the credentials are expired or invalid'
            : '';
      this.#log.error({ object: key }, `status write failed: ${(err as Error).message}${hint}; retrying in ${(delay / 1000).toFixed(1)}s`);
    }
    this.#queue.add(key);
  }
}

function isEmptyLb(status: Record<string, unknown>): boolean {
  const lb = status.loadBalancer as { ingress?: unknown[] } | undefined;
  return !lb?.ingress?.length;
}

// Fingerprints: what "changed" means. Fields in a fixed order, without
// lastTransitionTime, so the dag's output and a status read back from the
// API server compare equal when they say the same thing.

interface CondLike {
  type?: unknown;
  status?: unknown;
  observedGeneration?: unknown;
  reason?: unknown;
  message?: unknown;
  errors?: SubLike[];
  warnings?: SubLike[];
}
interface SubLike {
  type?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
}

function subs(list: SubLike[] | undefined): unknown[] {
  return (Array.isArray(list) ? list : []).map((e) => [e.type, e.status, e.reason, e.message]);
}

function conditionsKey(list: CondLike[] | undefined): unknown[] {
  return (Array.isArray(list) ? list : []).map((c) => [c.type, c.status, c.observedGeneration, c.reason, c.message, subs(c.errors), subs(c.warnings)]);
}

function proxyFingerprint(s: { currentStatus?: unknown; description?: unknown; conditions?: CondLike[] }): string {
  return JSON.stringify([s.currentStatus ?? null, s.description ?? null, conditionsKey(s.conditions)]);
}

function extensionFingerprint(s: { conditions?: CondLike[] }): string {
  return JSON.stringify(conditionsKey(s.conditions));
}

interface IngressLike {
  ip?: string;
  hostname?: string;
  ports?: { port: number; protocol: string }[];
}

function normalIngress(list: IngressLike[] | undefined): Record<string, unknown>[] {
  return (Array.isArray(list) ? list : []).map((i) => {
    const e: Record<string, unknown> = {};
    if (i.ip) e.ip = i.ip;
    if (i.hostname) e.hostname = i.hostname;
    if (i.ports?.length) e.ports = i.ports.map((p) => ({ port: p.port, protocol: p.protocol }));
    return e;
  });
}

function observedFingerprint(kind: TargetKind, observed: unknown, withLb: boolean): string {
  const o = (observed ?? {}) as Record<string, any>;
  if (GATEWAY_KIND_SET.has(kind)) return gatewayFingerprint(kind as GatewayKind, o);
  if (kind === 'HTTPProxy') return proxyFingerprint(o) + (withLb ? JSON.stringify(normalIngress(o.loadBalancer?.ingress)) : '');
  if (kind === 'ExtensionService') return extensionFingerprint(o);
  return JSON.stringify(normalIngress(o.loadBalancer?.ingress));
}
