// The load balancer's counters as isobar_lb_* series, after the NLB's
// CloudWatch metrics, labelled by load balancer (the Service,
// namespace/name) and listener (protocol:port). Runs in the balancer
// worker at scrape time.

import type { BalancerCounters } from './balancer-counters.ts';
import { SeriesWriter, type WorkerMetrics } from './series.ts';

export interface BalancerListenerMetrics {
  /** The listener id, "namespace/name:port". */
  id: string;
  protocol: string;
  counters: BalancerCounters;
  activeFlows: number;
  refused: number;
  healthyTargets: number;
  unhealthyTargets: number;
}

export function balancerSeries(listeners: BalancerListenerMetrics[]): WorkerMetrics {
  const w = new SeriesWriter();
  for (const l of listeners) {
    const colon = l.id.lastIndexOf(':');
    const labels = { load_balancer: colon > 0 ? l.id.slice(0, colon) : l.id, listener: `${l.protocol}:${colon > 0 ? l.id.slice(colon + 1) : ''}` };
    const c = l.counters;
    w.gauge('isobar_lb_active_flows', labels, l.activeFlows);
    w.counter('isobar_lb_new_flows_total', labels, c.newFlows);
    w.counter('isobar_lb_processed_bytes_total', labels, c.processedBytes);
    w.counter('isobar_lb_client_tls_negotiation_errors_total', labels, c.clientTlsNegotiationErrors);
    w.counter('isobar_lb_target_tls_negotiation_errors_total', labels, c.targetTlsNegotiationErrors);
    w.counter('isobar_lb_target_resets_total', labels, c.targetResets);
    w.counter('isobar_lb_target_connect_errors_total', labels, c.targetConnectErrors);
    w.counter('isobar_lb_refused_flows_total', labels, l.refused);
    w.counter('isobar_lb_proxy_headers_sent_total', labels, c.proxyHeadersSent);
    w.view('isobar_lb_healthy_targets', labels, l.healthyTargets);
    w.view('isobar_lb_unhealthy_targets', labels, l.unhealthyTargets);
  }
  return w.out;
}
