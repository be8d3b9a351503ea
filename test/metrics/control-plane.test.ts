// Contour's control-plane series: HTTPProxy counts as Contour's
// calculateRouteMetric makes them, object changes by op and kind between
// builds, status updates, rebuild timestamps, and certificate expiry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlaneMetrics, indexSnapshot, objectChanges } from '../../src/metrics/index.ts';
import type { HTTPProxyStatus } from '../../src/status/index.ts';
import type { Snapshot } from '../../src/objects/index.ts';

function proxy(namespace: string, name: string, fqdn: string, currentStatus: HTTPProxyStatus['currentStatus']): HTTPProxyStatus {
  return { namespace, name, fqdn, currentStatus, description: '', conditions: [] };
}

function snapshot(objects: { kind: string; name: string; rv?: string; spec?: unknown }[]): Snapshot {
  const s: Snapshot = { httpproxies: [], delegations: [], services: [], secrets: [], endpoints: [], endpointSlices: [], rejected: [] };
  for (const o of objects) {
    const obj = { apiVersion: 'v1', kind: o.kind, metadata: { namespace: 'default', name: o.name, resourceVersion: o.rv }, spec: o.spec ?? {} };
    (o.kind === 'HTTPProxy' ? s.httpproxies : o.kind === 'Service' ? s.services : s.secrets).push(obj as never);
  }
  return s;
}

test('HTTPProxy gauges: total and roots by namespace, valid and invalid by namespace and vhost, orphaned by namespace', async () => {
  const m = new ControlPlaneMetrics({ version: '9.9.9' });
  m.statuses([
    proxy('a', 'root', 'a.example.com', 'valid'),
    proxy('a', 'child', '', 'valid'),
    proxy('a', 'bad', 'b.example.com', 'invalid'),
    proxy('b', 'lost', '', 'orphaned'),
  ]);
  const text = await m.registry.metrics();
  assert.match(text, /^contour_build_info\{branch="unknown",revision="unknown",version="9.9.9"\} 1$/m);
  assert.match(text, /^contour_httpproxy\{namespace="a"\} 3$/m);
  assert.match(text, /^contour_httpproxy\{namespace="b"\} 1$/m);
  assert.match(text, /^contour_httpproxy_root\{namespace="a"\} 2$/m);
  assert.match(text, /^contour_httpproxy_valid\{namespace="a",vhost="a.example.com"\} 1$/m);
  assert.match(text, /^contour_httpproxy_valid\{namespace="a",vhost=""\} 1$/m);
  assert.match(text, /^contour_httpproxy_invalid\{namespace="a",vhost="b.example.com"\} 1$/m);
  assert.match(text, /^contour_httpproxy_orphaned\{namespace="b"\} 1$/m);
  // The next build replaces the counts: nothing of b is left.
  m.statuses([proxy('a', 'root', 'a.example.com', 'valid')]);
  const after = await m.registry.metrics();
  assert.doesNotMatch(after, /namespace="b"/);
  assert.match(after, /^contour_httpproxy\{namespace="a"\} 1$/m);
});

test('object changes between builds, by op and kind (two edits of one object between builds count once)', () => {
  const first = indexSnapshot(snapshot([{ kind: 'HTTPProxy', name: 'p' }, { kind: 'Service', name: 's', rv: '1' }, { kind: 'Secret', name: 'k' }]));
  assert.deepEqual(objectChanges(undefined, first), [
    { op: 'add', kind: 'HTTPProxy', count: 1 },
    { op: 'add', kind: 'Secret', count: 1 },
    { op: 'add', kind: 'Service', count: 1 },
  ]);
  const second = indexSnapshot(snapshot([{ kind: 'HTTPProxy', name: 'p', spec: { changed: true } }, { kind: 'Service', name: 's', rv: '1' }, { kind: 'Service', name: 't' }]));
  assert.deepEqual(objectChanges(first, second), [
    { op: 'update', kind: 'HTTPProxy', count: 1 },
    { op: 'delete', kind: 'Secret', count: 1 },
    { op: 'add', kind: 'Service', count: 1 },
  ]);
});

test('rebuilds, status updates and certificate expiry', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const m = new ControlPlaneMetrics({ version: '1', now: () => now });
  m.rebuilt(snapshot([{ kind: 'HTTPProxy', name: 'p' }]), 0.02, now);
  m.rebuilt(snapshot([{ kind: 'HTTPProxy', name: 'p' }, { kind: 'Service', name: 's' }]), 0.04, now + 5000);
  m.statusUpdate({ kind: 'HTTPProxy', outcome: 'success', seconds: 0.01 });
  m.statusUpdate({ kind: 'HTTPProxy', outcome: 'conflict' });
  m.statusUpdate({ kind: 'HTTPProxy', outcome: 'noop' });
  m.statusUpdate({ kind: 'Service', outcome: 'failed', seconds: 0.2 });
  m.certificates([{ arn: 'arn:aws:acm:us-east-1:000000000000:certificate/x', notAfter: '2026-01-31T12:00:00Z' }]);
  now += 10_000;
  const text = await m.registry.metrics();
  assert.match(text, /^contour_dagrebuild_total 2$/m);
  assert.match(text, new RegExp(`^contour_dagrebuild_timestamp ${Math.floor((now - 5000) / 1000)}$`, 'm'));
  assert.match(text, /^contour_dagrebuild_seconds_count 2$/m);
  assert.match(text, /^contour_dagrebuild_seconds\{quantile="0.5"\} /m);
  assert.match(text, /^contour_eventhandler_operation_total\{op="add",kind="HTTPProxy"\} 1$/m);
  assert.match(text, /^contour_eventhandler_operation_total\{op="add",kind="Service"\} 1$/m);
  assert.match(text, /^contour_dag_cache_object\{kind="Service"\} 1$/m);
  assert.match(text, /^contour_status_update_total\{kind="HTTPProxy"\} 2$/m);
  assert.match(text, /^contour_status_update_success_total\{kind="HTTPProxy"\} 2$/m);
  assert.match(text, /^contour_status_update_noop_total\{kind="HTTPProxy"\} 1$/m);
  assert.match(text, /^contour_status_update_conflict_total\{kind="HTTPProxy"\} 1$/m);
  assert.match(text, /^contour_status_update_failed_total\{kind="Service"\} 1$/m);
  assert.match(text, /^contour_status_update_duration_seconds_count\{kind="Service",error="true"\} 1$/m);
  assert.match(text, /^envoy_server_live 1$/m);
  assert.match(text, /^envoy_server_uptime 10$/m);
  const arn = 'arn="arn:aws:acm:us-east-1:000000000000:certificate/x"';
  assert.match(text, new RegExp(`^isobar_certificate_expiry_timestamp_seconds\\{${arn}\\} ${Date.parse('2026-01-31T12:00:00Z') / 1000}$`, 'm'));
  assert.match(text, new RegExp(`^isobar_certificate_daystoexpiry\\{${arn}\\} 30$`, 'm'));
});
