// /metrics through the whole chain: `isobar serve` with two workers of
// each kind serves the walkthrough, traffic goes client → load balancer
// (TLS) → proxy → backend (validated TLS), and the scrape counts it, with
// Envoy's, Contour's and isobar's names; a killed worker does not take its
// counts with it; promtool accepts the exposition; and a real Prometheus
// (Debian's package) scrapes the running serve and answers every query of
// the shipped Grafana dashboards with series.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { parse } from 'yaml';
import { EDGE_ARN, FQDN, prepareQuickstart } from '../../scripts/quickstart-lib.ts';
import { dashboardQueries, withAllVariables } from '../metrics/dashboard-queries.ts';
import { waitFor, freeOffset, freePort, httpsGet, ROOT, startSecureBackend, startServe, workerPids, type ServeProcess } from './support.ts';

const CLUSTER = 'envoy_cluster_name="demo_secure-backend_8443"';
const LB = 'load_balancer="projectcontour/envoy",listener="TLS:443"';

/** The value of one series line of a scrape (`name{labels}`), or undefined. */
function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function need(binary: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
  assert.ok(found, `${binary} is not installed: install the Debian package prometheus (apt-get install prometheus; .ci/run does)`);
}

const ORPHAN = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: nobody-includes-me
  namespace: demo
spec:
  routes:
    - services:
        - name: secure-backend
          port: 8443
`;

test('/metrics counts the chain across workers, survives a worker restart, and a real Prometheus answers the dashboards', { timeout: 180_000 }, async () => {
  need('prometheus');
  need('promtool');
  const work = await mkdtemp(join(tmpdir(), 'isobar-metrics-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  await writeFile(join(files.manifests, 'orphan.yaml'), ORPHAN);
  let backendRequests = 0;
  const backend = await startSecureBackend(files, backendPort);
  backend.server.on('request', () => backendRequests++);
  const offset = await freeOffset([80, 443]);
  let serve: ServeProcess | undefined;
  let prometheus: ChildProcess | undefined;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    serve = await startServe(
      [files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '2', '--no-access-log'],
      await freePort(),
    );
    const admin = `http://127.0.0.1:${serve.adminPort}`;
    const scrape = async (): Promise<string> => {
      const res = await fetch(`${admin}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return res.text();
    };
    const ca = await readFile(files.edgeCa, 'utf8');
    const port = 443 + offset;
    const before = await scrape();

    // 20 requests on one kept-alive connection, 3 for a host no valid HTTPProxy serves.
    for (let i = 0; i < 20; i++) assert.equal((await httpsGet({ host: FQDN, port, ca, agent, path: `/n/${i}` })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await httpsGet({ host: 'missing-ca.example.test', port, ca })).status, 404);
    assert.equal(backendRequests, 20);
    agent.destroy();
    const after = await waitFor('the closed flows counted', async () => {
      const t = await scrape();
      return value(t, `isobar_lb_active_flows{${LB}}`) === 0 ? t : undefined;
    });
    const delta = (series: string): number => (value(after, series) ?? NaN) - (value(before, series) ?? 0);

    // The proxy, as Envoy's exposition prints it (summed over both proxy workers).
    assert.equal(delta(`envoy_cluster_upstream_rq_total{${CLUSTER}}`), 20);
    assert.equal(delta(`envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",${CLUSTER}}`), 20);
    assert.equal(delta(`envoy_cluster_upstream_rq_time_count{${CLUSTER}}`), 20);
    assert.equal(delta('envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress_http"}'), 23, 'TLS ends at the load balancer: the proxy sees plain HTTP');
    assert.equal(delta('envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"}'), 20);
    assert.equal(delta('envoy_http_downstream_rq_xx{envoy_response_code_class="4",envoy_http_conn_manager_prefix="ingress_http"}'), 3);
    assert.equal(delta('envoy_http_downstream_rq_time_bucket{envoy_http_conn_manager_prefix="ingress_http",le="+Inf"}'), 23);
    assert.ok(delta(`envoy_cluster_upstream_cx_total{${CLUSTER}}`) >= 1);
    assert.equal(value(after, `envoy_cluster_ssl_connection_error{${CLUSTER}}`), 0, 'upstream TLS validated');
    assert.equal(value(after, `envoy_cluster_membership_total{${CLUSTER}}`), 1);
    assert.equal(delta(`isobar_vhost_requests_total{vhost="${FQDN}"}`), 20);
    assert.equal(delta(`isobar_route_responses_total{vhost="${FQDN}",route="prefix:/",httpproxy="demo/tls-demo",code_class="2xx"}`), 20);
    // The load balancer, after the NLB's metrics: one flow for the kept-alive
    // connection, one per request without an agent, each with a PROXY header.
    assert.equal(delta(`isobar_lb_new_flows_total{${LB}}`), 4);
    assert.equal(delta(`isobar_lb_proxy_headers_sent_total{${LB}}`), 4);
    assert.ok(delta(`isobar_lb_processed_bytes_total{${LB}}`) > 20 * 100);
    assert.equal(value(after, `isobar_lb_client_tls_negotiation_errors_total{${LB}}`), 0);
    // The control plane, with Contour's names.
    assert.equal(value(after, 'contour_httpproxy{namespace="demo"}'), 3);
    assert.equal(value(after, `contour_httpproxy_valid{namespace="demo",vhost="${FQDN}"}`), 1);
    assert.equal(value(after, 'contour_httpproxy_invalid{namespace="demo",vhost="missing-ca.example.test"}'), 1);
    assert.equal(value(after, 'contour_httpproxy_orphaned{namespace="demo"}'), 1);
    assert.equal(value(after, 'contour_eventhandler_operation_total{op="add",kind="HTTPProxy"}'), 3);
    assert.ok((value(after, 'contour_dagrebuild_total') ?? 0) >= 1);
    assert.equal(value(after, 'envoy_server_live'), 1);
    const days = value(after, `isobar_certificate_daystoexpiry{arn="${EDGE_ARN}"}`);
    assert.ok(days !== undefined && days > 30, `days to expiry: ${days}`);

    // A proxy worker killed: it is forked again, and no counter goes back.
    const proxies = workerPids(serve.child.pid!, 'proxy-worker.ts');
    assert.equal(proxies.length, 2);
    const settled = await scrape();
    process.kill(proxies[0]!, 'SIGKILL');
    await waitFor(
      'a new proxy worker',
      async () => {
        const now = workerPids(serve!.child.pid!, 'proxy-worker.ts');
        return now.length === 2 && !now.includes(proxies[0]!) && (await fetch(`${admin}/readyz`)).status === 200 ? true : undefined;
      },
      30_000,
    );
    for (let i = 0; i < 5; i++) assert.equal((await httpsGet({ host: FQDN, port, ca, path: `/again/${i}` })).status, 200);
    const restarted = await scrape();
    const series = `envoy_cluster_upstream_rq_total{${CLUSTER}}`;
    assert.equal(value(restarted, series), value(settled, series)! + 5, 'the dead worker\'s counts kept, the new one\'s added');
    for (const line of settled.split('\n')) {
      const m = /^(\S+_total(?:\{[^}]*\})?) (\S+)$/.exec(line);
      if (!m || line.startsWith('#')) continue;
      const now = value(restarted, m[1]!);
      assert.ok(now !== undefined && now >= Number(m[2]), `${m[1]} went from ${m[2]} to ${now}`);
    }

    // promtool parses the exposition; its only remarks are on Envoy's own
    // names (counters without _total, the membership_total gauge), which
    // Envoy's /stats/prometheus prints the same: every isobar_* and
    // contour_* series passes its lint.
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: restarted, encoding: 'utf8' });
    assert.ok(lint.status === 0 || lint.status === 3, `promtool: exit ${lint.status}: ${lint.stderr}${lint.stdout}`);
    const remarks = `${lint.stdout}${lint.stderr}`.split('\n').filter((l) => l.trim() !== '');
    const unexpected = remarks.filter((l) => !/^envoy_\S+ (counter metrics should have "_total" suffix|non-counter metrics should not have "_total" suffix)$/.test(l));
    assert.deepEqual(unexpected, []);

    // A real Prometheus scrapes the running serve with the shipped
    // relabelling, and every dashboard query gets series back.
    const shipped = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { metric_relabel_configs: unknown[] }[] };
    const promPort = await freePort();
    const promConfig = join(work, 'prometheus.yml');
    await writeFile(
      promConfig,
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [
          {
            job_name: 'isobar',
            metrics_path: '/metrics',
            static_configs: [{ targets: [`127.0.0.1:${serve.adminPort}`], labels: { kubernetes_pod_name: 'isobar-e2e', kubernetes_namespace: 'projectcontour' } }],
            metric_relabel_configs: shipped.scrape_configs[0]!.metric_relabel_configs,
          },
        ],
      }),
    );
    execFileSync('promtool', ['check', 'config', promConfig]);
    let promOutput = '';
    prometheus = spawn('prometheus', [`--config.file=${promConfig}`, `--storage.tsdb.path=${join(work, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    prometheus.stdout!.on('data', (d: Buffer) => (promOutput += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (promOutput += d.toString()));
    const api = `http://127.0.0.1:${promPort}/api/v1`;
    const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      assert.equal(body.status, 'success', `${expr}: ${body.error}`);
      return body.data.result;
    };
    await waitFor('Prometheus scraping isobar', async () => ((await query('up{job="isobar"} == 1')).length === 1 ? true : undefined), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${promOutput.slice(-2000)}`);
    });
    // Traffic while Prometheus watches, so the dashboards' rates have something to show.
    for (let i = 0; i < 10; i++) await httpsGet({ host: FQDN, port, ca, path: `/watched/${i}` });
    await waitFor('five scrapes in Prometheus', async () => ((await query('count_over_time(up{job="isobar"}[1m]) >= 5')).length === 1 ? true : undefined), 60_000);
    const relabelled = await query('envoy_cluster_upstream_rq_total{namespace="demo",service="secure-backend",port="8443"}');
    assert.equal(relabelled.length, 1, 'namespace, service and port split from envoy_cluster_name as Contour relabels it');
    assert.ok(Number(relabelled[0]!.value[1]) >= 35);

    const empty: string[] = [];
    const queries = dashboardQueries();
    for (const q of queries) {
      const result = await query(withAllVariables(q.expr));
      if (result.length === 0) empty.push(`${q.dashboard} "${q.title}": ${q.expr}`);
    }
    assert.deepEqual(empty, [], 'every dashboard query returns series');
    assert.ok(queries.length >= 60);
  } finally {
    agent.destroy();
    prometheus?.kill('SIGTERM');
    if (prometheus && prometheus.exitCode === null) await new Promise((r) => prometheus!.once('exit', r));
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0, 'SIGTERM drains and exits 0');
  }
});

test('--co-located: each worker reports its balancer and its proxy in one answer', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-metrics-coloc-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const backend = await startSecureBackend(files, backendPort);
  const offset = await freeOffset([80, 443]);
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '2', '--co-located', '--no-access-log'],
      await freePort(),
    );
    const ca = await readFile(files.edgeCa, 'utf8');
    for (let i = 0; i < 6; i++) assert.equal((await httpsGet({ host: FQDN, port: 443 + offset, ca })).status, 200);
    const text = await waitFor('the closed flows counted', async () => {
      const t = await (await fetch(`http://127.0.0.1:${serve!.adminPort}/metrics`)).text();
      return value(t, `isobar_lb_active_flows{${LB}}`) === 0 ? t : undefined;
    });
    assert.equal(value(text, `envoy_cluster_upstream_rq_total{${CLUSTER}}`), 6);
    assert.equal(value(text, `isobar_lb_new_flows_total{${LB}}`), 6);
    assert.equal(value(text, `isobar_lb_proxy_headers_sent_total{${LB}}`), 6, 'handed to the proxy in-process, PROXY header first');
    assert.equal(value(text, 'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress_http"}'), 6);
    assert.equal(value(text, 'envoy_listener_manager_total_listeners_active'), 4, 'each worker runs the four proxy listeners');
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
