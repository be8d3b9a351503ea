// Real requests through a proxy runtime, read back as the worker reports
// them at scrape time: per listener and per cluster, upstream connections
// and TLS failures by reason, retries and timeouts, per virtual host and
// route.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa, type Ca } from '../support/pki.ts';
import { cluster, config, ep, get, httpBackend, httpsBackend, route, startProxy, upstreamTls, vhost, type Backend, type Started } from '../proxy/fixtures.ts';
import { proxySeries, seriesKey, type Labels, type WorkerMetrics } from '../../src/metrics/index.ts';

let ca: Ca;
let good: Backend;
let wrongSan: Backend;
let flaky: Backend;
let slow: Backend;
let wrongCa: Backend;
let p: Started;
let flakyCalls = 0;

before(async () => {
  ca = await createCa('metrics CA');
  const other = await createCa('other CA');
  good = await httpsBackend('good', await ca.issue({ dnsNames: ['backend.example.test'] }));
  wrongSan = await httpsBackend('wrongsan', await ca.issue({ dnsNames: ['other.example.test'] }));
  wrongCa = await httpsBackend('wrongca', await other.issue({ dnsNames: ['backend.example.test'] }));
  flaky = await httpBackend('flaky', (_req, res) => {
    flakyCalls++;
    res.writeHead(flakyCalls % 2 === 1 ? 503 : 200).end('x');
  });
  slow = await httpBackend('slow', (_req, res) => {
    setTimeout(() => res.writeHead(200).end('late'), 2000).unref();
  });
  const V = { caBundleId: 'ca', subjectNames: ['backend.example.test'] };
  const tls = (name: string, b: Backend) =>
    cluster(name, [ep(b)], { namespace: 'shop', service: name, servicePort: 443, protocol: 'tls', tls: upstreamTls({ sni: 'backend.example.test', validation: V }) });
  p = await startProxy(
    config({
      caBundles: [{ id: 'ca', caPem: ca.certPem }],
      clusters: [
        tls('good', good),
        tls('wrongsan', wrongSan),
        tls('wrongca', wrongCa),
        cluster('flaky', [ep(flaky)], { namespace: 'shop', service: 'flaky', servicePort: 80 }),
        cluster('slow', [ep(slow)], { namespace: 'shop', service: 'slow', servicePort: 80 }),
        cluster('down', [{ address: '127.0.0.1', port: 1 }], { namespace: 'shop', service: 'down', servicePort: 80 }),
      ],
      httpVirtualHosts: [
        vhost('shop.test', [
          route({ path: { kind: 'prefix', value: '/good' }, to: 'good', origin: { namespace: 'shop', name: 'web' } }),
          route({ path: { kind: 'prefix', value: '/wrongsan' }, to: 'wrongsan' }),
          route({ path: { kind: 'prefix', value: '/wrongca' }, to: 'wrongca' }),
          route({ path: { kind: 'prefix', value: '/flaky' }, to: 'flaky', retry: { retryOn: ['5xx'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [] } }),
          route({ path: { kind: 'prefix', value: '/slow' }, to: 'slow', timeouts: { responseMs: 200, idleMs: null } }),
          route({ path: { kind: 'prefix', value: '/down' }, to: 'down' }),
        ]),
      ],
    }),
  );
});

after(async () => {
  await p.close();
  await Promise.all([good, wrongSan, wrongCa, flaky, slow].map((b) => b.close()));
});

function scrape(): WorkerMetrics {
  return proxySeries(p.proxy.metricsSource(0));
}
const counter = (m: WorkerMetrics, name: string, labels: Labels): number | undefined => m.counters[seriesKey(name, labels)];
const cl = (name: string): Labels => ({ envoy_cluster_name: `shop_${name}_${name === 'good' || name.startsWith('wrong') ? 443 : 80}` });

test('requests per connection manager and per cluster, upstream connections and handshakes', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await get(p.port(), '/good', { host: 'shop.test' })).status, 200);
  assert.equal((await get(p.port(), '/nowhere', { host: 'unknown.test' })).status, 404);
  const m = scrape();
  const http = { envoy_http_conn_manager_prefix: 'ingress_http' };
  assert.equal(counter(m, 'envoy_http_downstream_rq_total', http), 4);
  assert.equal(counter(m, 'envoy_http_downstream_rq_xx', { envoy_response_code_class: '2', ...http }), 3);
  assert.equal(counter(m, 'envoy_http_downstream_rq_xx', { envoy_response_code_class: '4', ...http }), 1);
  assert.equal(m.histograms[seriesKey('envoy_http_downstream_rq_time', http)]!.count, 4);
  assert.equal(counter(m, 'envoy_http_downstream_cx_total', http), 4, 'one connection per request (no agent)');
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_total', cl('good')), 3);
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_xx', { envoy_response_code_class: '2', ...cl('good') }), 3);
  assert.equal(m.histograms[seriesKey('envoy_cluster_upstream_rq_time', cl('good'))]!.count, 3);
  assert.equal(counter(m, 'envoy_cluster_upstream_cx_total', cl('good')), 1, 'kept alive upstream');
  assert.equal(counter(m, 'envoy_cluster_ssl_handshake', cl('good')), 1);
  assert.equal(m.gauges[seriesKey('envoy_cluster_upstream_cx_active', cl('good'))], 1);
  assert.equal(m.views[seriesKey('envoy_cluster_membership_total', cl('good'))], 1);
  assert.equal(m.views[seriesKey('envoy_cluster_membership_healthy', cl('good'))], 1);
  assert.equal(counter(m, 'isobar_vhost_requests_total', { vhost: 'shop.test' }), 3, 'the 404 for an unknown host is no virtual host\'s');
  assert.equal(counter(m, 'isobar_route_requests_total', { vhost: 'shop.test', route: 'prefix:/good', httpproxy: 'shop/web' }), 3);
  assert.equal(counter(m, 'isobar_proxy_no_route_total', {}), 1);
});

test('upstream TLS failures by reason: subject name, CA; connection failures', async () => {
  assert.equal((await get(p.port(), '/wrongsan', { host: 'shop.test' })).status, 503);
  assert.equal((await get(p.port(), '/wrongca', { host: 'shop.test' })).status, 503);
  assert.equal((await get(p.port(), '/down', { host: 'shop.test' })).status, 503);
  const m = scrape();
  assert.equal(counter(m, 'envoy_cluster_ssl_connection_error', cl('wrongsan')), 1);
  assert.equal(counter(m, 'envoy_cluster_ssl_fail_verify_san', cl('wrongsan')), 1);
  assert.equal(counter(m, 'envoy_cluster_ssl_fail_verify_error', cl('wrongsan')), 0);
  assert.equal(counter(m, 'envoy_cluster_ssl_connection_error', cl('wrongca')), 1);
  assert.equal(counter(m, 'envoy_cluster_ssl_fail_verify_error', cl('wrongca')), 1);
  assert.equal(counter(m, 'envoy_cluster_ssl_fail_verify_san', cl('wrongca')), 0);
  assert.equal(counter(m, 'envoy_cluster_upstream_cx_total', cl('wrongca')), 0, 'no connection was made');
  assert.equal(m.gauges[seriesKey('envoy_cluster_upstream_cx_active', cl('wrongca'))], 0);
  assert.ok(counter(m, 'envoy_cluster_upstream_cx_connect_fail', cl('down'))! >= 1);
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_total', cl('down')), 1);
});

test('retries and timeouts per cluster', async () => {
  assert.equal((await get(p.port(), '/flaky', { host: 'shop.test' })).status, 200, 'the 503 was retried');
  assert.equal((await get(p.port(), '/slow', { host: 'shop.test' })).status, 504);
  const m = scrape();
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_total', cl('flaky')), 2, 'both tries');
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_xx', { envoy_response_code_class: '5', ...cl('flaky') }), 1);
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_xx', { envoy_response_code_class: '2', ...cl('flaky') }), 1);
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_retry', cl('flaky')), 1);
  assert.equal(counter(m, 'envoy_cluster_upstream_rq_timeout', cl('slow')), 1);
});
