// The text a scrape returns: Prometheus' format as prom-client writes it,
// with Envoy's label order, cumulative histogram buckets on Envoy's bounds,
// isobar's latency histograms in seconds, escaped label values; and every
// series the workers can report has a family (type and help).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BalancerCounters,
  RequestCounters,
  UpstreamCounters,
  balancerSeries,
  exposition,
  familyOf,
  parseSeriesKey,
  proxySeries,
  SeriesWriter,
  type ProxyMetricsSource,
} from '../../src/metrics/index.ts';

function proxySource(): ProxyMetricsSource {
  const http = new RequestCounters();
  http.start();
  http.end(200, 3);
  http.start();
  http.end(503, 40);
  const upstream = new UpstreamCounters();
  upstream.rqTotal = 2;
  upstream.response(200);
  upstream.rqTime.observe(2);
  const vhost = new RequestCounters();
  vhost.record(200, 3);
  return {
    listeners: [
      { name: 'http', tls: false, address: { address: '0.0.0.0', port: 8080 }, cxTotal: 4, cxActive: 1, cxOverflow: 2, cxMaxRequestsReached: 0, cxMaxDurationReached: 0, requests: http },
      { name: 'https', tls: true, address: undefined, cxTotal: 0, cxActive: 0, cxOverflow: 0, cxMaxRequestsReached: 0, cxMaxDurationReached: 0, requests: new RequestCounters() },
    ],
    clusters: [['default_echo_80', upstream]],
    membership: [{ cluster: 'default_echo_80', healthy: 1, total: 2 }],
    vhosts: [['echo.example.com', vhost]],
    routes: [[{ vhost: 'echo.example.com', route: 'prefix:/', httpproxy: 'default/echo' }, vhost]],
    updates: { success: 3, failure: 1, rejected: 0 },
    warming: false,
    draining: false,
    events: { no_route: 2 },
    memory: { heapUsed: 10, heapTotal: 20 },
  };
}

test("Envoy's series with Envoy's names, labels and label order", async () => {
  const text = await exposition(proxySeries(proxySource()), []);
  assert.match(text, /^# TYPE envoy_http_downstream_rq_total counter$/m);
  assert.match(text, /^envoy_http_downstream_rq_total\{envoy_http_conn_manager_prefix="ingress_http"\} 2$/m);
  assert.match(text, /^envoy_http_downstream_rq_xx\{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"\} 1$/m);
  assert.match(text, /^envoy_http_downstream_rq_xx\{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress_http"\} 1$/m);
  assert.match(text, /^envoy_http_downstream_cx_active\{envoy_http_conn_manager_prefix="ingress_http"\} 1$/m);
  assert.match(text, /^envoy_listener_downstream_cx_total\{envoy_listener_address="0.0.0.0_8080"\} 4$/m);
  assert.doesNotMatch(text, /envoy_listener_address="undefined/, 'an unbound listener has no address series');
  assert.match(text, /^envoy_cluster_upstream_rq_total\{envoy_cluster_name="default_echo_80"\} 2$/m);
  assert.match(text, /^envoy_cluster_upstream_rq_xx\{envoy_response_code_class="2",envoy_cluster_name="default_echo_80"\} 1$/m);
  assert.match(text, /^envoy_cluster_membership_healthy\{envoy_cluster_name="default_echo_80"\} 1$/m);
  assert.match(text, /^envoy_cluster_membership_total\{envoy_cluster_name="default_echo_80"\} 2$/m);
  assert.match(text, /^envoy_listener_manager_lds_update_success 3$/m);
  assert.match(text, /^envoy_cluster_manager_cds_update_failure 1$/m);
  assert.match(text, /^isobar_proxy_no_route_total 2$/m);
});

test("Envoy's per-worker listener series: the worker in the family name, the listener's address as the label", async () => {
  const text = await exposition(proxySeries(proxySource(), 1), []);
  assert.match(text, /^# TYPE envoy_listener_worker_1_downstream_cx_active gauge$/m);
  assert.match(text, /^envoy_listener_worker_1_downstream_cx_active\{envoy_listener_address="0.0.0.0_8080"\} 1$/m);
  assert.match(text, /^# TYPE envoy_listener_worker_1_downstream_cx_total counter$/m);
  assert.match(text, /^envoy_listener_worker_1_downstream_cx_total\{envoy_listener_address="0.0.0.0_8080"\} 4$/m);
  assert.doesNotMatch(text, /envoy_listener_worker_0_/);
  // Without a worker index (a process that is no worker): none.
  assert.doesNotMatch(await exposition(proxySeries(proxySource()), []), /envoy_listener_worker_/);
});

test('histograms: cumulative buckets on Envoy bounds in ms, +Inf, _sum and _count; isobar latency in seconds', async () => {
  const text = await exposition(proxySeries(proxySource()), []);
  const prefix = 'envoy_http_conn_manager_prefix="ingress_http"';
  assert.match(text, /^# TYPE envoy_http_downstream_rq_time histogram$/m);
  assert.match(text, new RegExp(`^envoy_http_downstream_rq_time_bucket\\{${prefix},le="1"\\} 0$`, 'm'));
  assert.match(text, new RegExp(`^envoy_http_downstream_rq_time_bucket\\{${prefix},le="5"\\} 1$`, 'm'));
  assert.match(text, new RegExp(`^envoy_http_downstream_rq_time_bucket\\{${prefix},le="50"\\} 2$`, 'm'));
  assert.match(text, new RegExp(`^envoy_http_downstream_rq_time_bucket\\{${prefix},le="3600000"\\} 2$`, 'm'));
  assert.match(text, new RegExp(`^envoy_http_downstream_rq_time_bucket\\{${prefix},le="\\+Inf"\\} 2$`, 'm'));
  assert.match(text, new RegExp(`^envoy_http_downstream_rq_time_sum\\{${prefix}\\} 43$`, 'm'));
  assert.match(text, new RegExp(`^envoy_http_downstream_rq_time_count\\{${prefix}\\} 2$`, 'm'));
  assert.match(text, /^isobar_vhost_request_duration_seconds_bucket\{vhost="echo.example.com",le="0.005"\} 1$/m);
  assert.match(text, /^isobar_vhost_request_duration_seconds_sum\{vhost="echo.example.com"\} 0.003$/m);
  assert.match(text, /^isobar_route_responses_total\{vhost="echo.example.com",route="prefix:\/",httpproxy="default\/echo",code_class="2xx"\} 1$/m);
});

test('load balancer series after the NLB metrics, by load balancer and listener', async () => {
  const c = new BalancerCounters();
  c.newFlows = 3;
  c.processedBytes = 1200;
  c.proxyHeadersSent = 3;
  const text = await exposition(
    balancerSeries([{ id: 'default/web:443', protocol: 'TLS', counters: c, activeFlows: 1, refused: 2, healthyTargets: 2, unhealthyTargets: 1 }]),
    [],
  );
  const l = 'load_balancer="default/web",listener="TLS:443"';
  assert.match(text, new RegExp(`^isobar_lb_new_flows_total\\{${l}\\} 3$`, 'm'));
  assert.match(text, new RegExp(`^isobar_lb_processed_bytes_total\\{${l}\\} 1200$`, 'm'));
  assert.match(text, new RegExp(`^isobar_lb_active_flows\\{${l}\\} 1$`, 'm'));
  assert.match(text, new RegExp(`^isobar_lb_refused_flows_total\\{${l}\\} 2$`, 'm'));
  assert.match(text, new RegExp(`^isobar_lb_healthy_targets\\{${l}\\} 2$`, 'm'));
  assert.match(text, new RegExp(`^isobar_lb_unhealthy_targets\\{${l}\\} 1$`, 'm'));
  assert.match(text, new RegExp(`^isobar_lb_proxy_headers_sent_total\\{${l}\\} 3$`, 'm'));
});

test('label values are escaped; series of unknown families are left out', async () => {
  const w = new SeriesWriter();
  w.counter('isobar_vhost_requests_total', { vhost: 'a"b\\c\nd' }, 1);
  w.counter('not_a_family', {}, 1);
  const text = await exposition(w.out, []);
  assert.ok(text.includes('isobar_vhost_requests_total{vhost="a\\"b\\\\c\\nd"} 1'), text);
  assert.doesNotMatch(text, /not_a_family/);
});

test('every series the workers report belongs to a family with a type and help', () => {
  const c = new BalancerCounters();
  const all = [proxySeries(proxySource(), 3), balancerSeries([{ id: 'a/b:80', protocol: 'TCP', counters: c, activeFlows: 0, refused: 0, healthyTargets: 0, unhealthyTargets: 0 }])];
  const missing: string[] = [];
  for (const m of all) {
    for (const key of [...Object.keys(m.counters), ...Object.keys(m.gauges), ...Object.keys(m.views), ...Object.keys(m.histograms)]) {
      const { name } = parseSeriesKey(key);
      if (!familyOf(name)) missing.push(name);
    }
  }
  assert.deepEqual([...new Set(missing)], []);
});
