// Counters the runtime keeps; plain numeric fields so the hot path pays one
// property increment per event. The per-listener, per-cluster and
// per-virtual-host/route counters (src/metrics types) are read at scrape
// time by the worker, never formatted here.
import { RequestCounters, UpstreamCounters } from '../metrics/index.ts';
import { RequestSeries } from './request-series.ts';

export class ProxyStats {
  requests = 0;
  /** Gauge: requests being handled now. */
  activeRequests = 0;
  responses2xx = 0;
  responses3xx = 0;
  responses4xx = 0;
  responses5xx = 0;
  downstreamConnections = 0;
  badRequests = 0;
  noRoute = 0;
  misdirected = 0;
  proxyProtocolRejected = 0;
  proxyProtocolLocal = 0;
  tlsInspectorRejected = 0;
  tlsHandshakeFailures = 0;
  clientCertRejected = 0;
  upstreamConnectFailures = 0;
  upstreamTlsFailures = 0;
  upstreamResets = 0;
  upstreamTimeouts = 0;
  upstreamNoHealthy = 0;
  upstreamOverflow = 0;
  retries = 0;
  /** Upstream redirects followed inside the proxy (internalRedirectPolicy). */
  internalRedirects = 0;
  mirrored = 0;
  websocketUpgrades = 0;
  passthroughConnections = 0;
  tcpProxyConnections = 0;
  healthCheckFailures = 0;
  outlierEjections = 0;
  configApplies = 0;
  /** Applies that threw (the runtime kept the config before). */
  configRejected = 0;
  /** By listener name: each listener's connection manager. */
  readonly downstream = new Map<string, RequestCounters>();
  /** By Envoy stat name (namespace_service_port), as Contour names clusters' stats. */
  readonly clusters = new Map<string, UpstreamCounters>();
  readonly series = new RequestSeries();
  /** Counts requests that reach no listener's counters (cannot happen: a safe default). */
  readonly unlistened = new RequestCounters();

  listener(name: string): RequestCounters {
    return this.downstream.get(name) ?? this.unlistened;
  }

  /** The counters of a cluster's stat name, kept across applies. */
  cluster(statName: string): UpstreamCounters {
    let c = this.clusters.get(statName);
    if (!c) {
      c = new UpstreamCounters();
      this.clusters.set(statName, c);
    }
    return c;
  }

  /** Drops the counters of stat names no cluster has any more. */
  retainClusters(statNames: Set<string>): void {
    for (const k of this.clusters.keys()) if (!statNames.has(k)) this.clusters.delete(k);
  }

  countStatus(status: number): void {
    if (status < 300) this.responses2xx++;
    else if (status < 400) this.responses3xx++;
    else if (status < 500) this.responses4xx++;
    else this.responses5xx++;
  }

  /** The plain numeric counters (not the per-object ones). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this)) if (typeof v === 'number') out[k] = v;
    return out;
  }
}
