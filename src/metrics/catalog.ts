// Every family the workers report: its type and help text. Envoy's and
// Contour's families keep their names and labels exactly (dashboards and
// alerts written for Contour + Envoy work unchanged); isobar's own are
// isobar_* and follow Prometheus' naming rules (counters end in _total,
// base units).

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export interface Family {
  type: FamilyType;
  help: string;
  /** Histograms kept in milliseconds and shown in seconds. */
  toSeconds?: boolean;
}

const envoy: Record<string, Family> = {
  envoy_http_downstream_rq_total: { type: 'counter', help: 'Total requests (http.<prefix>.downstream_rq_total).' },
  envoy_http_downstream_rq_active: { type: 'gauge', help: 'Requests being handled.' },
  envoy_http_downstream_rq_xx: { type: 'counter', help: 'Responses by status class (envoy_response_code_class).' },
  envoy_http_downstream_rq_time: { type: 'histogram', help: 'Request time, arrival to the last byte, in milliseconds.' },
  envoy_http_downstream_cx_total: { type: 'counter', help: 'Total downstream connections.' },
  envoy_http_downstream_cx_active: { type: 'gauge', help: 'Open downstream connections.' },
  envoy_http_downstream_cx_max_requests_reached: { type: 'counter', help: 'Connections closed after listener.max-requests-per-connection requests.' },
  envoy_http_downstream_cx_max_duration_reached: { type: 'counter', help: 'Connections drained at timeouts.max-connection-duration.' },
  envoy_http_rds_update_success: { type: 'counter', help: 'Route configurations applied.' },
  envoy_http_rds_update_failure: { type: 'counter', help: 'Route configuration deltas a worker could not take (it asked for the whole configuration).' },
  envoy_http_rds_update_rejected: { type: 'counter', help: 'Route configurations a worker failed to apply (it kept the one before).' },
  envoy_listener_downstream_cx_total: { type: 'counter', help: 'Connections accepted by the listener.' },
  envoy_listener_downstream_cx_active: { type: 'gauge', help: 'Open connections of the listener.' },
  envoy_listener_downstream_cx_overflow: { type: 'counter', help: 'Connections closed at accept by the listener connection limit (listener.max-connections-per-listener).' },
  envoy_listener_manager_total_listeners_active: { type: 'gauge', help: 'Listeners serving, as each worker sees them.' },
  envoy_listener_manager_total_listeners_warming: { type: 'gauge', help: 'Listeners waiting for their first configuration.' },
  envoy_listener_manager_total_listeners_draining: { type: 'gauge', help: 'Listeners draining.' },
  envoy_listener_manager_lds_update_success: { type: 'counter', help: 'Configurations applied by the proxy.' },
  envoy_listener_manager_lds_update_failure: { type: 'counter', help: 'Configuration deltas a worker could not take (it asked for the whole configuration).' },
  envoy_listener_manager_lds_update_rejected: { type: 'counter', help: 'Configurations a worker failed to apply (it kept the one before).' },
  envoy_cluster_manager_cds_update_success: { type: 'counter', help: 'Configurations applied by the proxy.' },
  envoy_cluster_manager_cds_update_failure: { type: 'counter', help: 'Configuration deltas a worker could not take (it asked for the whole configuration).' },
  envoy_cluster_manager_cds_update_rejected: { type: 'counter', help: 'Configurations a worker failed to apply (it kept the one before).' },
  envoy_server_memory_allocated: { type: 'gauge', help: 'JavaScript heap in use by the proxy workers, in bytes.' },
  envoy_server_memory_heap_size: { type: 'gauge', help: 'JavaScript heap reserved by the proxy workers, in bytes.' },
  envoy_cluster_upstream_rq_total: { type: 'counter', help: 'Requests sent upstream (each try counts).' },
  envoy_cluster_upstream_rq_xx: { type: 'counter', help: 'Upstream responses by status class (envoy_response_code_class).' },
  envoy_cluster_upstream_rq_time: { type: 'histogram', help: 'Upstream request time, request sent to the response end, in milliseconds.' },
  envoy_cluster_upstream_rq_retry: { type: 'counter', help: 'Requests retried.' },
  envoy_cluster_upstream_rq_timeout: { type: 'counter', help: 'Requests that timed out waiting for the upstream.' },
  envoy_cluster_upstream_rq_per_try_timeout: { type: 'counter', help: 'Tries that hit the per-try timeout.' },
  envoy_cluster_upstream_rq_pending_active: { type: 'gauge', help: 'Requests waiting for an upstream connection (max_pending_requests bounds them).' },
  envoy_cluster_upstream_rq_pending_overflow: { type: 'counter', help: 'Requests the circuit breakers refused (max_requests or max_pending_requests reached): 503 UO.' },
  envoy_cluster_upstream_rq_retry_overflow: { type: 'counter', help: 'Retries not made because max_retries were in progress.' },
  envoy_cluster_upstream_cx_overflow: { type: 'counter', help: 'TCP proxy connections refused by max_connections or per_host_max_connections.' },
  envoy_cluster_upstream_cx_total: { type: 'counter', help: 'Upstream connections opened.' },
  envoy_cluster_upstream_cx_active: { type: 'gauge', help: 'Open upstream connections.' },
  envoy_cluster_upstream_cx_connect_fail: { type: 'counter', help: 'Upstream connections that could not be made.' },
  envoy_cluster_upstream_cx_connect_timeout: { type: 'counter', help: 'Upstream connections that timed out connecting.' },
  envoy_cluster_ssl_handshake: { type: 'counter', help: 'Upstream TLS handshakes completed.' },
  envoy_cluster_ssl_connection_error: { type: 'counter', help: 'Upstream TLS connections that failed (handshake or validation).' },
  envoy_cluster_ssl_fail_verify_error: { type: 'counter', help: 'Upstream certificates that did not verify against the CA.' },
  envoy_cluster_ssl_fail_verify_san: { type: 'counter', help: 'Upstream certificates that matched none of the subject names.' },
  envoy_cluster_ext_authz_ok: { type: 'counter', help: 'Requests to this cluster the authorization server allowed.' },
  envoy_cluster_ext_authz_denied: { type: 'counter', help: 'Requests to this cluster the authorization server denied.' },
  envoy_cluster_ext_authz_error: { type: 'counter', help: 'Requests to this cluster whose Check failed (unreachable server, timeout, error status).' },
  envoy_cluster_ext_authz_failure_mode_allowed: { type: 'counter', help: 'Requests to this cluster whose Check failed and that failOpen let through (also counted as errors).' },
  envoy_cluster_ratelimit_ok: { type: 'counter', help: 'Requests to this cluster the rate limit service found under the limit.' },
  envoy_cluster_ratelimit_over_limit: { type: 'counter', help: 'Requests to this cluster the rate limit service found over the limit (answered 429).' },
  envoy_cluster_ratelimit_error: { type: 'counter', help: 'Requests to this cluster whose rate limit call failed (unreachable service, timeout, error status).' },
  envoy_cluster_ratelimit_failure_mode_allowed: { type: 'counter', help: 'Requests to this cluster whose rate limit call failed and that failOpen let through (also counted as errors).' },
  envoy_cluster_membership_healthy: { type: 'gauge', help: 'Healthy endpoints of the cluster (the least healthy worker view).' },
  envoy_cluster_membership_total: { type: 'gauge', help: 'Endpoints of the cluster.' },
};

const isobar: Record<string, Family> = {
  isobar_vhost_requests_total: { type: 'counter', help: 'Requests by virtual host (bounded: see the README).' },
  isobar_vhost_responses_total: { type: 'counter', help: 'Responses by virtual host and status class.' },
  isobar_vhost_request_duration_seconds: { type: 'histogram', help: 'Request time by virtual host, in seconds.', toSeconds: true },
  isobar_route_requests_total: { type: 'counter', help: 'Requests by route (bounded: see the README).' },
  isobar_route_responses_total: { type: 'counter', help: 'Responses by route and status class.' },
  isobar_route_request_duration_seconds: { type: 'histogram', help: 'Request time by route, in seconds.', toSeconds: true },
  isobar_lb_active_flows: { type: 'gauge', help: 'Open flows (ActiveFlowCount).' },
  isobar_lb_new_flows_total: { type: 'counter', help: 'Flows accepted (NewFlowCount).' },
  isobar_lb_processed_bytes_total: { type: 'counter', help: 'Bytes processed in both directions, counted as flows end (ProcessedBytes).' },
  isobar_lb_client_tls_negotiation_errors_total: { type: 'counter', help: 'TLS handshakes with clients that failed (ClientTLSNegotiationErrorCount).' },
  isobar_lb_target_tls_negotiation_errors_total: { type: 'counter', help: 'TLS handshakes with targets that failed (TargetTLSNegotiationErrorCount).' },
  isobar_lb_target_resets_total: { type: 'counter', help: 'Flows a target ended with a reset (TCP_Target_Reset_Count).' },
  isobar_lb_target_connect_errors_total: { type: 'counter', help: 'Flows closed because no target could be connected.' },
  isobar_lb_refused_flows_total: { type: 'counter', help: 'Connections refused by the source ranges (SecurityGroupBlockedFlowCount_Inbound).' },
  isobar_lb_proxy_headers_sent_total: { type: 'counter', help: 'PROXY protocol v2 headers sent to targets.' },
  isobar_lb_healthy_targets: { type: 'gauge', help: 'Healthy targets (HealthyHostCount, the least healthy worker view).' },
  isobar_lb_unhealthy_targets: { type: 'gauge', help: 'Targets not healthy (UnHealthyHostCount, the least healthy worker view).' },
};

export const FAMILIES: Record<string, Family> = { ...envoy, ...isobar };

/** isobar_proxy_<event>_total: the proxy's own event counters. */
export function proxyEventFamily(name: string): Family | undefined {
  if (!/^isobar_proxy_[a-z0-9_]+_total$/.test(name)) return undefined;
  return { type: 'counter', help: `Proxy events: ${name.slice('isobar_proxy_'.length, -'_total'.length).replace(/_/g, ' ')}.` };
}

/** Envoy's per-worker listener stats (listener.<address>.worker_<id>.downstream_cx_*,
 *  Envoy's Prometheus name keeps the worker in the family name). */
export function perWorkerFamily(name: string): Family | undefined {
  const m = /^envoy_listener_worker_(\d+)_downstream_cx_(active|total)$/.exec(name);
  if (!m) return undefined;
  return m[2] === 'active'
    ? { type: 'gauge', help: `Open connections of the listener on proxy worker ${m[1]}.` }
    : { type: 'counter', help: `Connections the listener accepted on proxy worker ${m[1]}.` };
}

export function familyOf(name: string): Family | undefined {
  return FAMILIES[name] ?? proxyEventFamily(name) ?? perWorkerFamily(name);
}
