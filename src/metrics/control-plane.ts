// The primary's own series, live in a prom-client registry: Contour's
// control-plane metrics with Contour's names, labels and types
// (internal/metrics/metrics.go: the rebuild and status-update durations
// are summaries with Contour's objectives), Envoy's server liveness, and
// certificate expiry (ACM's DaysToExpiry). Fed by the primary as it
// rebuilds, publishes statuses and writes them to the API server.

import type { Counter, Gauge, Registry, Summary } from 'prom-client';
import type { Snapshot } from '../objects/index.ts';
import type { HTTPProxyStatus } from '../status/index.ts';
import { indexSnapshot, objectChanges, type ObjectIndex } from './object-changes.ts';
import { promClient } from './prom-client.ts';

const WIDE_OBJECTIVES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

/** One status write as the Kubernetes status writer reports it. */
export interface StatusUpdate {
  kind: string;
  outcome: 'success' | 'noop' | 'failed' | 'conflict';
  /** The write's duration (absent for a conflict, which the write retries). */
  seconds?: number;
}

export interface CertificateExpiry {
  arn: string;
  notAfter: string;
}

export class ControlPlaneMetrics {
  readonly registry: Registry;
  readonly #startedAt: number;
  #objects: ObjectIndex | undefined;
  #certificates: CertificateExpiry[] = [];
  readonly #httpproxy: Record<'total' | 'root' | 'valid' | 'invalid' | 'orphaned', Gauge<string>>;
  readonly #rebuildTimestamp: Gauge<string>;
  readonly #rebuildTotal: Counter<string>;
  readonly #rebuildSeconds: Summary<string>;
  readonly #onUpdate: Summary<string>;
  readonly #operations: Counter<string>;
  readonly #cacheObjects: Gauge<string>;
  readonly #status: Record<'total' | 'success' | 'failed' | 'conflict' | 'noop', Counter<string>>;
  readonly #statusSeconds: Summary<string>;
  readonly #issuances: Counter<string>;
  #renewalFailures = new Map<string, number>();

  constructor(o: { version: string; now?: () => number }) {
    const { Counter, Gauge, Registry, Summary } = promClient();
    this.registry = new Registry();
    const now = o.now ?? Date.now;
    this.#startedAt = now();
    const registers = [this.registry];
    new Gauge({ name: 'contour_build_info', help: 'Build information: the branch, revision and version isobar was built from.', labelNames: ['branch', 'revision', 'version'], registers }).set(
      { branch: 'unknown', revision: 'unknown', version: o.version },
      1,
    );
    const gauge = (name: string, help: string, labelNames: string[]): Gauge<string> => new Gauge({ name, help, labelNames, registers });
    this.#httpproxy = {
      total: gauge('contour_httpproxy', 'Total number of HTTPProxies that exist regardless of status.', ['namespace']),
      root: gauge('contour_httpproxy_root', 'Total number of root HTTPProxies. Note there will only be a single root HTTPProxy per vhost.', ['namespace']),
      invalid: gauge('contour_httpproxy_invalid', 'Total number of invalid HTTPProxies.', ['namespace', 'vhost']),
      valid: gauge('contour_httpproxy_valid', 'Total number of valid HTTPProxies.', ['namespace', 'vhost']),
      orphaned: gauge('contour_httpproxy_orphaned', 'Total number of orphaned HTTPProxies which have no root delegating to them.', ['namespace']),
    };
    this.#rebuildTimestamp = gauge('contour_dagrebuild_timestamp', 'Timestamp of the last DAG rebuild.', []);
    this.#rebuildTotal = new Counter({ name: 'contour_dagrebuild_total', help: 'Total number of times DAG has been rebuilt since startup', registers });
    this.#rebuildSeconds = new Summary({ name: 'contour_dagrebuild_seconds', help: 'Duration in seconds of DAG rebuilds', percentiles: WIDE_OBJECTIVES, registers });
    this.#onUpdate = new Summary({
      name: 'contour_cachehandler_onupdate_duration_seconds',
      help: 'Histogram for the runtime of xDS cache regeneration.',
      percentiles: [0.5, 0.9, 0.99],
      registers,
    });
    this.#operations = new Counter({
      name: 'contour_eventhandler_operation_total',
      help: 'Total number of Kubernetes object changes Contour has received by operation and object kind.',
      labelNames: ['op', 'kind'],
      registers,
    });
    this.#cacheObjects = gauge('contour_dag_cache_object', 'Total number of items that are currently in the DAG cache.', ['kind']);
    const counter = (name: string, help: string): Counter<string> => new Counter({ name, help, labelNames: ['kind'], registers });
    this.#status = {
      total: counter('contour_status_update_total', 'Total number of status updates by object kind.'),
      success: counter('contour_status_update_success_total', 'Number of status updates that succeeded by object kind.'),
      noop: counter('contour_status_update_noop_total', 'Number of status updates that are no-ops by object kind. This is a subset of successful status updates.'),
      failed: counter('contour_status_update_failed_total', 'Number of status updates that failed by object kind.'),
      conflict: counter('contour_status_update_conflict_total', 'Number of status update conflicts encountered by object kind.'),
    };
    // Zero until the first update, as Contour's series read after its
    // first sync: a scrape (and a dashboard) sees the series either way.
    for (const kind of ['HTTPProxy', 'Service']) for (const c of Object.values(this.#status)) c.inc({ kind }, 0);
    this.#statusSeconds = new Summary({
      name: 'contour_status_update_duration_seconds',
      help: 'How long a status update takes to finish.',
      labelNames: ['kind', 'error'],
      percentiles: WIDE_OBJECTIVES,
      registers,
    });
    const startedAt = this.#startedAt;
    new Gauge({ name: 'envoy_server_live', help: '1 while isobar serves.', registers }).set(1);
    new Gauge({
      name: 'envoy_server_uptime',
      help: 'Seconds since isobar started.',
      registers,
      collect() {
        this.set(Math.floor((now() - startedAt) / 1000));
      },
    });
    const certificates = (): CertificateExpiry[] => this.#certificates;
    new Gauge({
      name: 'isobar_certificate_expiry_timestamp_seconds',
      help: 'When the certificate expires (notAfter), in seconds since the epoch.',
      labelNames: ['arn'],
      registers,
      collect() {
        this.reset();
        for (const c of certificates()) this.set({ arn: c.arn }, Math.floor(Date.parse(c.notAfter) / 1000));
      },
    });
    new Gauge({
      name: 'isobar_certificate_daystoexpiry',
      // ACM's DaysToExpiry, as one word: Prometheus' lint takes "_days" for a non-base unit.
      help: "Whole days until the certificate expires, negative once it has (ACM's DaysToExpiry).",
      labelNames: ['arn'],
      registers,
      collect() {
        this.reset();
        for (const c of certificates()) this.set({ arn: c.arn }, Math.floor((Date.parse(c.notAfter) - now()) / 86_400_000));
      },
    });
    this.#issuances = new Counter({
      name: 'isobar_certificate_issuances_total',
      help: 'Certificate issuances and managed renewals attempted by serve, by kind (issue, renew) and result (success, failure).',
      labelNames: ['kind', 'result'],
      registers,
    });
    const failing = (): Map<string, number> => this.#renewalFailures;
    new Gauge({
      name: 'isobar_certificate_renewal_failures',
      help: 'Failed managed-renewal attempts in a row for the certificate (0 once one succeeds); the old certificate keeps serving meanwhile.',
      labelNames: ['arn'],
      registers,
      collect() {
        this.reset();
        for (const [arn, n] of failing()) this.set({ arn }, n);
      },
    });
  }

  /** One issuance or renewal attempt ended. */
  issuance(kind: 'issue' | 'renew', ok: boolean): void {
    this.#issuances.inc({ kind, result: ok ? 'success' : 'failure' });
  }

  /** Failed renewal attempts in a row, per managed certificate. */
  renewalFailures(byArn: Map<string, number>): void {
    this.#renewalFailures = new Map(byArn);
  }

  /** A rebuild of `snapshot` took `seconds` (the DAG, as Contour times it). */
  rebuilt(snapshot: Snapshot, seconds: number, at: number): void {
    this.#rebuildTimestamp.set(Math.floor(at / 1000));
    this.#rebuildTotal.inc();
    this.#rebuildSeconds.observe(seconds);
    const index = indexSnapshot(snapshot);
    for (const c of objectChanges(this.#objects, index)) this.#operations.inc({ op: c.op, kind: c.kind }, c.count);
    this.#objects = index;
    const kinds = new Map<string, number>();
    for (const o of index.values()) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    this.#cacheObjects.reset();
    for (const [kind, n] of kinds) this.#cacheObjects.set({ kind }, n);
  }

  /** The workers took a new configuration `seconds` after its build (Contour: the xDS caches). */
  applied(seconds: number): void {
    this.#onUpdate.observe(seconds);
  }

  /** The HTTPProxy statuses of the latest build, counted as Contour counts them. */
  statuses(proxies: HTTPProxyStatus[]): void {
    const g = this.#httpproxy;
    for (const m of Object.values(g)) m.reset();
    for (const p of proxies) {
      g.total.inc({ namespace: p.namespace });
      if (p.fqdn !== '') g.root.inc({ namespace: p.namespace });
      if (p.currentStatus === 'valid') g.valid.inc({ namespace: p.namespace, vhost: p.fqdn });
      else if (p.currentStatus === 'orphaned') g.orphaned.inc({ namespace: p.namespace });
      else g.invalid.inc({ namespace: p.namespace, vhost: p.fqdn });
    }
  }

  readonly statusUpdate = (u: StatusUpdate): void => {
    const kind = { kind: u.kind };
    if (u.outcome === 'conflict') {
      this.#status.conflict.inc(kind);
      return;
    }
    this.#status.total.inc(kind);
    if (u.outcome === 'failed') this.#status.failed.inc(kind);
    else this.#status.success.inc(kind);
    if (u.outcome === 'noop') this.#status.noop.inc(kind);
    if (u.seconds !== undefined) this.#statusSeconds.observe({ kind: u.kind, error: String(u.outcome === 'failed') }, u.seconds);
  };

  /** The certificates in the store (their expiry is read at each scrape). */
  certificates(list: CertificateExpiry[]): void {
    this.#certificates = list.map((c) => ({ arn: c.arn, notAfter: c.notAfter }));
  }
}
