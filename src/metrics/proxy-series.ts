// The proxy's counters as Envoy's series (and isobar's per virtual host
// and per route ones), for one worker's report. Runs in the worker at
// scrape time, never on the request path.
//
// Envoy's labels as its Prometheus exposition prints them with Contour's
// configuration: connection managers are ingress_http / ingress_https,
// listeners are named by address (0.0.0.0_8080), clusters by Contour's
// alt_stat_name namespace_service_port (what Contour's Grafana dashboards
// and Prometheus relabelling read).

import type { HistogramData } from './histogram.ts';
import type { RequestCounters } from './request-counters.ts';
import { SeriesWriter, type Labels, type WorkerMetrics } from './series.ts';
import type { UpstreamCounters } from './upstream-counters.ts';

export interface ProxyListenerMetrics {
  name: string;
  tls: boolean;
  /** Where it listens; absent when not bound. */
  address: { address: string; port: number } | undefined;
  cxTotal: number;
  cxActive: number;
  /** Connections closed at accept by the listener connection limit. */
  cxOverflow: number;
  /** Connections closed after listener.max-requests-per-connection requests. */
  cxMaxRequestsReached: number;
  /** Connections drained at timeouts.max-connection-duration. */
  cxMaxDurationReached: number;
  requests: RequestCounters;
}

export interface RouteSeriesKey {
  vhost: string;
  route: string;
  httpproxy: string;
}

export interface ProxyMetricsSource {
  listeners: ProxyListenerMetrics[];
  /** By Envoy stat name (namespace_service_port). */
  clusters: Iterable<[string, UpstreamCounters]>;
  membership: Iterable<{ cluster: string; healthy: number; total: number }>;
  vhosts: Iterable<[string, RequestCounters]>;
  routes: Iterable<[RouteSeriesKey, RequestCounters]>;
  /** Config applies taken, deltas refused (resync), applies that failed. */
  updates: { success: number; failure: number; rejected: number };
  /** True until the first config is applied. */
  warming: boolean;
  draining: boolean;
  /** The proxy's own event counters (isobar_proxy_<name>_total), snake_case names. */
  events: Record<string, number>;
  memory: { heapUsed: number; heapTotal: number };
}

export const HTTP_PREFIX = 'ingress_http';
export const HTTPS_PREFIX = 'ingress_https';

/** `worker`: the reporting process's worker index, for Envoy's per-worker listener series. */
export function proxySeries(p: ProxyMetricsSource, worker?: number): WorkerMetrics {
  const w = new SeriesWriter();
  for (const l of p.listeners) listenerSeries(w, l, worker);
  for (const prefix of [HTTP_PREFIX, HTTPS_PREFIX]) {
    const rds = { envoy_http_conn_manager_prefix: prefix, envoy_rds_route_config: prefix };
    w.counter('envoy_http_rds_update_success', rds, p.updates.success);
    w.counter('envoy_http_rds_update_failure', rds, p.updates.failure);
    w.counter('envoy_http_rds_update_rejected', rds, p.updates.rejected);
  }
  const bound = p.listeners.filter((l) => l.address !== undefined).length;
  w.view('envoy_listener_manager_total_listeners_active', {}, p.warming || p.draining ? 0 : bound);
  w.view('envoy_listener_manager_total_listeners_warming', {}, p.warming && !p.draining ? bound : 0);
  w.view('envoy_listener_manager_total_listeners_draining', {}, p.draining ? bound : 0);
  for (const mgr of ['envoy_listener_manager_lds', 'envoy_cluster_manager_cds']) {
    w.counter(`${mgr}_update_success`, {}, p.updates.success);
    w.counter(`${mgr}_update_failure`, {}, p.updates.failure);
    w.counter(`${mgr}_update_rejected`, {}, p.updates.rejected);
  }
  w.gauge('envoy_server_memory_allocated', {}, p.memory.heapUsed);
  w.gauge('envoy_server_memory_heap_size', {}, p.memory.heapTotal);
  for (const [name, c] of p.clusters) clusterSeries(w, name, c);
  for (const m of p.membership) {
    w.view('envoy_cluster_membership_healthy', { envoy_cluster_name: m.cluster }, m.healthy);
    w.view('envoy_cluster_membership_total', { envoy_cluster_name: m.cluster }, m.total);
  }
  for (const [vhost, c] of p.vhosts) requestSeries(w, 'isobar_vhost', { vhost }, c);
  for (const [key, c] of p.routes) requestSeries(w, 'isobar_route', { vhost: key.vhost, route: key.route, httpproxy: key.httpproxy }, c);
  for (const [name, v] of Object.entries(p.events)) w.counter(`isobar_proxy_${name}_total`, {}, v);
  return w.out;
}

function listenerSeries(w: SeriesWriter, l: ProxyListenerMetrics, worker: number | undefined): void {
  const prefix = { envoy_http_conn_manager_prefix: l.tls ? HTTPS_PREFIX : HTTP_PREFIX };
  const r = l.requests;
  w.counter('envoy_http_downstream_rq_total', prefix, r.total);
  w.gauge('envoy_http_downstream_rq_active', prefix, r.active);
  classSeries(w, 'envoy_http_downstream_rq_xx', prefix, r.byClass);
  w.histogram('envoy_http_downstream_rq_time', prefix, r.time.data());
  w.counter('envoy_http_downstream_cx_total', prefix, l.cxTotal);
  w.gauge('envoy_http_downstream_cx_active', prefix, l.cxActive);
  w.counter('envoy_http_downstream_cx_max_requests_reached', prefix, l.cxMaxRequestsReached);
  w.counter('envoy_http_downstream_cx_max_duration_reached', prefix, l.cxMaxDurationReached);
  if (l.address) {
    const at = { envoy_listener_address: `${l.address.address}_${l.address.port}` };
    w.counter('envoy_listener_downstream_cx_total', at, l.cxTotal);
    w.gauge('envoy_listener_downstream_cx_active', at, l.cxActive);
    w.counter('envoy_listener_downstream_cx_overflow', at, l.cxOverflow);
    if (worker !== undefined) {
      w.counter(`envoy_listener_worker_${worker}_downstream_cx_total`, at, l.cxTotal);
      w.gauge(`envoy_listener_worker_${worker}_downstream_cx_active`, at, l.cxActive);
    }
  }
}

function clusterSeries(w: SeriesWriter, name: string, c: UpstreamCounters): void {
  const cl = { envoy_cluster_name: name };
  w.counter('envoy_cluster_upstream_rq_total', cl, c.rqTotal);
  classSeries(w, 'envoy_cluster_upstream_rq_xx', cl, c.rqByClass);
  w.histogram('envoy_cluster_upstream_rq_time', cl, c.rqTime.data());
  w.counter('envoy_cluster_upstream_rq_retry', cl, c.rqRetry);
  w.counter('envoy_cluster_upstream_rq_timeout', cl, c.rqTimeout);
  w.counter('envoy_cluster_upstream_rq_per_try_timeout', cl, c.rqPerTryTimeout);
  w.gauge('envoy_cluster_upstream_rq_pending_active', cl, c.rqPendingActive);
  w.counter('envoy_cluster_upstream_rq_pending_overflow', cl, c.rqPendingOverflow);
  w.counter('envoy_cluster_upstream_rq_retry_overflow', cl, c.rqRetryOverflow);
  w.counter('envoy_cluster_upstream_cx_overflow', cl, c.cxOverflow);
  w.counter('envoy_cluster_upstream_cx_total', cl, c.cxTotal);
  w.gauge('envoy_cluster_upstream_cx_active', cl, c.cxActive);
  w.counter('envoy_cluster_upstream_cx_connect_fail', cl, c.cxConnectFail);
  w.counter('envoy_cluster_upstream_cx_connect_timeout', cl, c.cxConnectTimeout);
  w.counter('envoy_cluster_ssl_handshake', cl, c.sslHandshake);
  w.counter('envoy_cluster_ssl_connection_error', cl, c.sslConnectionError);
  w.counter('envoy_cluster_ssl_fail_verify_error', cl, c.sslFailVerifyError);
  w.counter('envoy_cluster_ssl_fail_verify_san', cl, c.sslFailVerifySan);
  w.counter('envoy_cluster_ext_authz_ok', cl, c.extAuthz.ok);
  w.counter('envoy_cluster_ext_authz_denied', cl, c.extAuthz.denied);
  w.counter('envoy_cluster_ext_authz_error', cl, c.extAuthz.error);
  w.counter('envoy_cluster_ext_authz_failure_mode_allowed', cl, c.extAuthz.failure_mode_allowed);
  w.counter('envoy_cluster_ratelimit_ok', cl, c.rateLimit.ok);
  w.counter('envoy_cluster_ratelimit_over_limit', cl, c.rateLimit.over_limit);
  w.counter('envoy_cluster_ratelimit_error', cl, c.rateLimit.error);
  w.counter('envoy_cluster_ratelimit_failure_mode_allowed', cl, c.rateLimit.failure_mode_allowed);
}

/** Envoy's label order: the class first, then the object's name. */
function classSeries(w: SeriesWriter, name: string, labels: Labels, byClass: readonly number[]): void {
  for (let i = 0; i < byClass.length; i++) w.counter(name, { envoy_response_code_class: String(i + 1), ...labels }, byClass[i]!);
}

function requestSeries(w: SeriesWriter, family: string, labels: Labels, c: RequestCounters): void {
  w.counter(`${family}_requests_total`, labels, c.total);
  for (let i = 0; i < c.byClass.length; i++) w.counter(`${family}_responses_total`, { ...labels, code_class: `${i + 1}xx` }, c.byClass[i]!);
  const h: HistogramData = c.time.data();
  w.histogram(`${family}_request_duration_seconds`, labels, h);
}
