// What the primary last built from its sources: the configs the workers
// are sent and the statuses the log, the status sink and /status show.
// One EdgeBuilder is kept across reloads: each root's result is reused
// while nothing it read changed, so a reload recomputes what an edit
// touched, and unchanged virtual hosts stay the same objects, which is how
// the config deltas find them unchanged.

import type pino from 'pino';
import { withRuntimeHealth, type ListenerHealth } from '../balancer/index.ts';
import { hasCertificate, toEdgeCertificate, type CertificateStore } from '../certs/index.ts';
import { EdgeBuilder, type BalancerConfig, type EdgeBuildStats, type ProxyConfig } from '../edge/index.ts';
import type { ControlPlaneMetrics } from '../metrics/index.ts';
import type { ObjectCache } from '../objects/index.ts';
import type { StatusReport } from '../status/index.ts';
import type { ServeOptions, StatusSink } from './options.ts';
import { portListenersOf, withPortProblems } from './port-problems.ts';
import { logStatusChanges } from './status-log.ts';

export interface EdgeStateOptions {
  serve: ServeOptions;
  cache: ObjectCache;
  store: CertificateStore;
  /** Service statuses are this server's only when it runs the balancer. */
  runBalancer: boolean;
  logger: pino.Logger;
  statusSink: StatusSink | undefined;
  metrics: ControlPlaneMetrics;
}

export class EdgeState {
  /** Bumped by every build; the workers apply versions in order. */
  version = 0;
  proxyConfig: ProxyConfig | undefined;
  balancerConfig: BalancerConfig | undefined;
  report: StatusReport = { httpproxies: [], services: [] };
  readonly #o: EdgeStateOptions;
  readonly #edge = new EdgeBuilder();
  #lastStatusLine = new Map<string, string>();
  /** The statuses as built, before the workers' port problems are laid over them. */
  #built: StatusReport = { httpproxies: [], services: [] };
  /** Which port listener serves each Gateway listener ("ns/gateway/listener"). */
  #servedBy = new Map<string, string>();
  #portProblems: Record<string, string> = {};

  constructor(o: EdgeStateOptions) {
    this.#o = o;
  }

  /** What the last build cost. */
  get stats(): EdgeBuildStats {
    return this.#edge.stats;
  }

  /** Builds the cache's current objects with the store's certificates. */
  async rebuild(): Promise<void> {
    const { serve: o, cache, store } = this.#o;
    const snapshot = cache.snapshot();
    // The store's problems too: a Service whose certificate cannot be read
    // (a damaged master.key) is told so, not to add the certificate.
    const scan = await store.scan();
    const t0 = performance.now();
    const built = this.#edge.build({
      snapshot,
      config: o.config,
      certificates: scan.records.map(toEdgeCertificate),
      storeProblems: scan.problems,
      lbAddress: o.lbAddress,
      portOffset: o.lbPortOffset,
      now: Date.now(),
    });
    this.#o.metrics.rebuilt(snapshot, (performance.now() - t0) / 1000, Date.now());
    this.#o.metrics.certificates(scan.records.filter(hasCertificate));
    this.version++;
    this.proxyConfig = built.proxyConfig;
    this.balancerConfig = built.balancerConfig;
    const { gatewayclasses, gateways, httproutes, grpcroutes, tlsroutes, tcproutes, backendtlspolicies } = built.statuses;
    const { extensionservices, ingresses } = built.statuses;
    this.#servedBy = portListenersOf(snapshot.gateways ?? [], built.proxyConfig.listeners ?? []);
    this.#built = {
      httpproxies: built.statuses.httpproxies,
      services: this.#o.runBalancer ? built.statuses.services : [],
      // ExtensionServices and Ingresses when there are any (the sink writes their status).
      ...(extensionservices && extensionservices.length > 0 ? { extensionservices } : {}),
      ...(ingresses && ingresses.length > 0 ? { ingresses } : {}),
      // The Gateway API arrays when the snapshot had Gateway API objects.
      ...(gateways ? { gatewayclasses, gateways, httproutes, grpcroutes, tlsroutes, tcproutes, backendtlspolicies } : {}),
    };
    // Until the workers apply this version, the problems they last reported.
    this.report = withPortProblems(this.#built, this.#servedBy, this.#portProblems);
  }

  /** What the workers reported after applying the latest configs: the
   *  port listeners they could not bind. True when that changed the report. */
  setPortProblems(problems: Record<string, string>): boolean {
    const before = JSON.stringify(this.#portProblems);
    this.#portProblems = problems;
    const report = withPortProblems(this.#built, this.#servedBy, problems);
    this.report = report;
    return JSON.stringify(problems) !== before;
  }

  /** Logs what changed and hands the statuses to the sink. */
  publishStatuses(): void {
    this.#lastStatusLine = logStatusChanges(this.#o.logger, this.report, this.#lastStatusLine);
    this.#o.metrics.statuses(this.report.httpproxies);
    this.#o.statusSink?.write(this.report);
  }

  /** The statuses with the load balancer listeners' health as the workers report it. */
  reportWithHealth(health: Record<string, ListenerHealth>): StatusReport {
    if (!this.balancerConfig) return this.report;
    return { ...this.report, services: withRuntimeHealth(this.report.services, this.balancerConfig, { listeners: health }) };
  }
}
