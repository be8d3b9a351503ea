// Writes deploy/grafana/isobar-edge.json: the Grafana dashboard of what
// only isobar exports (load balancer flows after the NLB's CloudWatch
// metrics, certificate expiry, per virtual host and per route traffic, the
// control plane's timings). The Envoy and Contour dashboards beside it are
// Contour's own, adapted. Run: node scripts/grafana-dashboard.ts

import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../deploy/grafana/isobar-edge.json', import.meta.url));

interface Panel {
  title: string;
  unit: string;
  targets: { expr: string; legend: string }[];
}

const lb = 'load_balancer=~"$LoadBalancer"';
const vh = 'vhost=~"$VHost"';

const rows: { title: string; panels: Panel[] }[] = [
  {
    title: 'Load balancers (the NLB CloudWatch metrics)',
    panels: [
      { title: 'Active flows (ActiveFlowCount)', unit: 'short', targets: [{ expr: `sum(isobar_lb_active_flows{${lb}}) by (load_balancer, listener)`, legend: '{{load_balancer}} {{listener}}' }] },
      { title: 'New flows (NewFlowCount)', unit: 'cps', targets: [{ expr: `sum(rate(isobar_lb_new_flows_total{${lb}}[1m])) by (load_balancer, listener)`, legend: '{{load_balancer}} {{listener}}' }] },
      { title: 'Processed bytes (ProcessedBytes)', unit: 'Bps', targets: [{ expr: `sum(rate(isobar_lb_processed_bytes_total{${lb}}[1m])) by (load_balancer, listener)`, legend: '{{load_balancer}} {{listener}}' }] },
      {
        title: 'TLS negotiation errors',
        unit: 'ops',
        targets: [
          { expr: `sum(rate(isobar_lb_client_tls_negotiation_errors_total{${lb}}[1m])) by (load_balancer, listener)`, legend: 'client {{load_balancer}} {{listener}}' },
          { expr: `sum(rate(isobar_lb_target_tls_negotiation_errors_total{${lb}}[1m])) by (load_balancer, listener)`, legend: 'target {{load_balancer}} {{listener}}' },
        ],
      },
      {
        title: 'Target resets and connect errors',
        unit: 'ops',
        targets: [
          { expr: `sum(rate(isobar_lb_target_resets_total{${lb}}[1m])) by (load_balancer, listener)`, legend: 'resets {{load_balancer}} {{listener}}' },
          { expr: `sum(rate(isobar_lb_target_connect_errors_total{${lb}}[1m])) by (load_balancer, listener)`, legend: 'no target {{load_balancer}} {{listener}}' },
        ],
      },
      {
        title: 'Healthy and unhealthy targets',
        unit: 'short',
        targets: [
          { expr: `min(isobar_lb_healthy_targets{${lb}}) by (load_balancer, listener)`, legend: 'healthy {{load_balancer}} {{listener}}' },
          { expr: `max(isobar_lb_unhealthy_targets{${lb}}) by (load_balancer, listener)`, legend: 'unhealthy {{load_balancer}} {{listener}}' },
        ],
      },
      {
        title: 'Refused by source ranges, PROXY headers sent',
        unit: 'ops',
        targets: [
          { expr: `sum(rate(isobar_lb_refused_flows_total{${lb}}[1m])) by (load_balancer, listener)`, legend: 'refused {{load_balancer}} {{listener}}' },
          { expr: `sum(rate(isobar_lb_proxy_headers_sent_total{${lb}}[1m])) by (load_balancer, listener)`, legend: 'PROXY {{load_balancer}} {{listener}}' },
        ],
      },
    ],
  },
  {
    title: 'Certificates',
    panels: [{ title: 'Days to expiry (DaysToExpiry)', unit: 'd', targets: [{ expr: 'min(isobar_certificate_daystoexpiry) by (arn)', legend: '{{arn}}' }] }],
  },
  {
    title: 'Virtual hosts and routes',
    panels: [
      { title: 'Requests by virtual host', unit: 'reqps', targets: [{ expr: `sum(rate(isobar_vhost_requests_total{${vh}}[1m])) by (vhost)`, legend: '{{vhost}}' }] },
      {
        title: '5xx share by virtual host',
        unit: 'percentunit',
        targets: [
          {
            expr: `sum(rate(isobar_vhost_responses_total{${vh},code_class="5xx"}[1m])) by (vhost) / sum(rate(isobar_vhost_requests_total{${vh}}[1m])) by (vhost)`,
            legend: '{{vhost}}',
          },
        ],
      },
      { title: 'p99 latency by virtual host', unit: 's', targets: [{ expr: `histogram_quantile(0.99, sum(rate(isobar_vhost_request_duration_seconds_bucket{${vh}}[1m])) by (le, vhost))`, legend: '{{vhost}}' }] },
      { title: 'Requests by route', unit: 'reqps', targets: [{ expr: `sum(rate(isobar_route_requests_total{${vh}}[1m])) by (vhost, route, httpproxy)`, legend: '{{vhost}} {{route}} ({{httpproxy}})' }] },
      {
        title: 'Responses by route and class',
        unit: 'reqps',
        targets: [{ expr: `sum(rate(isobar_route_responses_total{${vh}}[1m])) by (vhost, route, code_class)`, legend: '{{vhost}} {{route}} {{code_class}}' }],
      },
      {
        title: 'p99 latency by route',
        unit: 's',
        targets: [{ expr: `histogram_quantile(0.99, sum(rate(isobar_route_request_duration_seconds_bucket{${vh}}[1m])) by (le, vhost, route))`, legend: '{{vhost}} {{route}}' }],
      },
    ],
  },
  {
    title: 'Control plane',
    panels: [
      { title: 'DAG rebuild time (p99)', unit: 's', targets: [{ expr: 'max(contour_dagrebuild_seconds{quantile="0.99"})', legend: 'rebuild' }] },
      { title: 'Configuration reaching the workers (p99)', unit: 's', targets: [{ expr: 'max(contour_cachehandler_onupdate_duration_seconds{quantile="0.99"})', legend: 'apply' }] },
      {
        title: 'Status updates',
        unit: 'ops',
        targets: [
          { expr: 'sum(rate(contour_status_update_success_total[5m])) by (kind)', legend: 'written {{kind}}' },
          { expr: 'sum(rate(contour_status_update_failed_total[5m])) by (kind)', legend: 'failed {{kind}}' },
        ],
      },
    ],
  },
];

function dashboard(): unknown {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({ type: 'row', title: row.title, id: id++, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((p, i) => {
      panels.push({
        type: 'timeseries',
        title: p.title,
        id: id++,
        datasource: { type: 'prometheus', uid: '${DS_PROMETHEUS}' },
        gridPos: { h: 8, w: 8, x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8 },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi' } },
        targets: p.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), expr: t.expr, legendFormat: t.legend, datasource: { type: 'prometheus', uid: '${DS_PROMETHEUS}' } })),
      });
    });
    y += Math.ceil(row.panels.length / 3) * 8;
  }
  const variable = (name: string, query: string) => ({
    name,
    label: name,
    type: 'query',
    datasource: { type: 'prometheus', uid: '${DS_PROMETHEUS}' },
    query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
  });
  return {
    __inputs: [{ name: 'DS_PROMETHEUS', label: 'prometheus', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    title: 'isobar - Edge',
    uid: 'isobar-edge',
    description: "What only isobar exports: load balancer flows (after the NLB's CloudWatch metrics), certificate expiry, traffic by virtual host and route, control-plane timings.",
    editable: true,
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    tags: ['isobar'],
    templating: { list: [variable('LoadBalancer', 'label_values(isobar_lb_new_flows_total, load_balancer)'), variable('VHost', 'label_values(isobar_vhost_requests_total, vhost)')] },
    panels,
  };
}

await writeFile(OUT, JSON.stringify(dashboard(), null, 2) + '\n');
console.log(`wrote ${OUT}`);
