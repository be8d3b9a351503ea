// contour_status_update_*: the Kubernetes status writer reports each
// update as Contour's metrics count them (written, no-op, 409 conflict,
// failed), and the control plane's counters follow, against the test API
// server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusWriter } from '../../src/kube/index.ts';
import { ControlPlaneMetrics } from '../../src/metrics/index.ts';
import type { HTTPProxyStatus } from '../../src/status/index.ts';
import { startApi } from '../kube/helpers.ts';

function status(name: string, valid: boolean): HTTPProxyStatus {
  return {
    namespace: 'default',
    name,
    fqdn: `${name}.example.com`,
    currentStatus: valid ? 'valid' : 'invalid',
    description: valid ? 'Valid HTTPProxy' : 'At least one error present, see Errors for details',
    conditions: [{ type: 'Valid', status: valid ? 'True' : 'False', observedGeneration: 1, reason: valid ? 'Valid' : 'ErrorPresent', message: 'm' }],
  };
}

test('writes, no-ops and conflicts reach contour_status_update_* by kind', async () => {
  const { api, kubeconfig } = await startApi();
  for (const name of ['a', 'b']) {
    api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name, namespace: 'default' }, spec: { virtualhost: { fqdn: `${name}.example.com` } } });
  }
  const metrics = new ControlPlaneMetrics({ version: 'test' });
  const w = new StatusWriter({ kubeconfig, onUpdate: metrics.statusUpdate });
  try {
    w.setLeader(true);
    w.write([status('a', true), status('b', false)], []);
    await w.idle();
    // The same statuses again: nothing to write, two no-ops.
    w.write([status('a', true), status('b', false)], []);
    await w.idle();
    // One change that meets a 409 first.
    api.injectConflicts({ count: 1, method: 'PATCH', pathIncludes: '/status' });
    w.write([status('a', true), status('b', true)], []);
    await w.idle();
    const text = await metrics.registry.metrics();
    const v = (series: string): number => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(v('contour_status_update_total{kind="HTTPProxy"}'), 6, '3 written, 3 no-ops');
    assert.equal(v('contour_status_update_success_total{kind="HTTPProxy"}'), 6);
    assert.equal(v('contour_status_update_noop_total{kind="HTTPProxy"}'), 3);
    assert.equal(v('contour_status_update_conflict_total{kind="HTTPProxy"}'), 1);
    assert.equal(v('contour_status_update_failed_total{kind="HTTPProxy"}'), 0);
    assert.equal(v('contour_status_update_duration_seconds_count{kind="HTTPProxy",error="false"}'), 3);
    assert.equal(v('contour_status_update_total{kind="Service"}'), 0);
  } finally {
    await w.stop();
    await api.stop();
  }
});
