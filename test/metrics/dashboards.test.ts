// Every metric the shipped Grafana dashboards query is one isobar exports:
// Contour's dashboards (adapted) and isobar's own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlaneMetrics, FAMILIES } from '../../src/metrics/index.ts';
import { dashboardQueries, metricNames, withAllVariables } from './dashboard-queries.ts';

function exported(): Set<string> {
  const names = new Set<string>();
  const add = (name: string, type: string): void => {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  };
  for (const [name, f] of Object.entries(FAMILIES)) add(name, f.type);
  for (const m of new ControlPlaneMetrics({ version: 'test' }).registry.getMetricsAsArray()) add(m.name, String(m.type));
  return names;
}

test('the metric names of a PromQL expression', () => {
  assert.deepEqual(metricNames('histogram_quantile(0.9, sum(rate(envoy_cluster_upstream_rq_time_bucket{service=~"$S"}[1m])) by (le, service))'), ['envoy_cluster_upstream_rq_time_bucket']);
  assert.deepEqual(metricNames('avg(a_total{x="1"}) by (ns) / avg(b) by (ns) - c'), ['a_total', 'b', 'c']);
  assert.equal(withAllVariables('x{namespace=~"$Namespace",service=~"$Service"}'), 'x{namespace=~".*",service=~".*"}');
});

test('every metric the shipped dashboards query is exported', () => {
  const queries = dashboardQueries();
  const dashboards = new Set(queries.map((q) => q.dashboard));
  assert.deepEqual([...dashboards].sort(), ['contour-apiserver.json', 'contour-httpproxies.json', 'envoy.json', 'isobar-edge.json']);
  assert.ok(queries.length >= 60, `${queries.length} queries`);
  const have = exported();
  const missing = queries.flatMap((q) => metricNames(q.expr).filter((n) => !have.has(n)).map((n) => `${q.dashboard} "${q.title}": ${n}`));
  assert.deepEqual(missing, []);
});
