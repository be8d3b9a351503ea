// Counters the runtime keeps; plain numeric fields so the hot path pays one
// property increment per event.
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
  mirrored = 0;
  websocketUpgrades = 0;
  passthroughConnections = 0;
  tcpProxyConnections = 0;
  healthCheckFailures = 0;
  outlierEjections = 0;
  configApplies = 0;

  countStatus(status: number): void {
    if (status < 300) this.responses2xx++;
    else if (status < 400) this.responses3xx++;
    else if (status < 500) this.responses4xx++;
    else this.responses5xx++;
  }

  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
