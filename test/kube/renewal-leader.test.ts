// Kubernetes mode, two replicas sharing a certificate store: only the Lease
// holder renews, and the replica that takes the Lease over renews what is
// due at once (it is poked when it starts leading, not a standby period
// later). Real Lease election against the test API server, the real
// renewer, the real store and local CA.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateStore } from '../../src/certs/index.ts';
import { quietRenewer } from '../support/renewer.ts';
import { KubeStatusSink } from '../../src/kube/index.ts';
import { startApi, waitFor } from './helpers.ts';

const ARN = 'arn:aws:acm:us-east-2:000000000000:certificate/1eade100-0000-4000-8000-000000000002';
// A Lease long enough that a loaded machine never lets it lapse by accident:
// b takes over because a releases it, retrying every 100 ms.
const timings = { leaseDurationMs: 20_000, renewDeadlineMs: 15_000, retryPeriodMs: 100 };

test('the replica that takes the Lease over renews a due certificate at once; the standby renews nothing', { timeout: 120_000 }, async (t) => {
  // Everything started is stopped even when the test fails half-way (an
  // elector left running would keep this file's process alive).
  const started: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const stop of started.reverse()) await stop();
  });
  const { kubeconfig, api } = await startApi();
  started.push(() => api.stop());
  const stateDir = await mkdtemp(join(tmpdir(), 'isobar-renewal-leader-'));
  started.push(() => rm(stateDir, { recursive: true, force: true }));
  const store = await CertificateStore.open(stateDir);
  const issued = await store.request({ domain: 'lease.example.test', arn: ARN });

  const le = (identity: string) => ({ namespace: 'projectcontour', name: 'isobar', identity, ...timings });
  const a = new KubeStatusSink({ kubeconfig, leaderElection: le('a') });
  started.push(() => a.stop());
  await waitFor('a leads', () => a.elector!.isLeader(), 30_000);
  const b = new KubeStatusSink({ kubeconfig, leaderElection: le('b') });
  started.push(() => b.stop());
  let bStarted = 0;
  b.onStartedLeading(() => bStarted++);
  // Replica b's renewer, wired as serve wires it; replica a renews nothing here.
  const renewer = quietRenewer(stateDir, () => b.isLeader());
  started.push(() => renewer.stop());
  b.onStartedLeading(renewer.poke);

  await store.updateRecord(ARN, (r) => ({ ...r, renewAt: new Date(Date.now() - 60_000).toISOString() }));
  renewer.poke();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(b.isLeader(), false);
  assert.equal((await store.get(ARN))!.fingerprint, issued.fingerprint, 'the standby renews nothing');

  await a.stop(); // releases the Lease
  const tookOver = Date.now();
  const renewed = await waitFor('b to take over and renew', async () => {
    const r = await store.get(ARN);
    return r && r.fingerprint !== issued.fingerprint ? r : undefined;
  }, 28_000, 50);
  assert.equal(bStarted, 1, 'b started leading once');
  // Without the poke the renewer would look again only after its 30 s standby.
  assert.ok(Date.now() - tookOver < 28_000, `renewed ${Date.now() - tookOver} ms after the Lease was released`);
  assert.deepEqual(renewed.domains, ['lease.example.test']);
});
