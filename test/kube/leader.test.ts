import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderElector } from '../../src/kube/index.ts';
import { startApi, waitFor } from './helpers.ts';

// Short, but with room for a loaded test machine's timer delays.
const timings = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 };

function elector(kubeconfig: string, identity: string) {
  const e = new LeaderElector({ namespace: 'isobar-system', name: 'isobar-leader', identity, kubeconfig, ...timings });
  const events: string[] = [];
  e.on('started-leading', () => events.push('started'));
  e.on('stopped-leading', () => events.push('stopped'));
  return { e, events };
}

test('two replicas elect exactly one leader; the Lease names it', async () => {
  const { api, kubeconfig } = await startApi();
  const a = elector(kubeconfig, 'replica-a');
  const b = elector(kubeconfig, 'replica-b');
  try {
    a.e.start();
    b.e.start();
    await waitFor('a leader', () => a.e.isLeader() || b.e.isLeader());
    // Several renew rounds later there is still exactly one.
    const lease0 = api.get('leases', 'isobar-system', 'isobar-leader')!;
    await waitFor('renewals', () => api.get('leases', 'isobar-system', 'isobar-leader')!.metadata.resourceVersion !== lease0.metadata.resourceVersion);
    assert.equal(Number(a.e.isLeader()) + Number(b.e.isLeader()), 1);
    const lease = api.get('leases', 'isobar-system', 'isobar-leader')! as unknown as { spec: Record<string, unknown> };
    const leader = a.e.isLeader() ? 'replica-a' : 'replica-b';
    assert.equal(lease.spec.holderIdentity, leader);
    assert.equal(lease.spec.leaseDurationSeconds, 2); // 1500 ms, rounded up to whole seconds
    assert.match(String(lease.spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(lease.spec.leaseTransitions, 0);
  } finally {
    await a.e.stop();
    await b.e.stop();
    await api.stop();
  }
});

test('a leader that dies (cut off, no release) steps down before the other replica takes over', async () => {
  const { api, kubeconfig } = await startApi();
  api.addToken('token-a');
  const seq: string[] = [];
  const a = elector(api.kubeconfig('token-a'), 'replica-a');
  const b = elector(kubeconfig, 'replica-b');
  a.e.on('started-leading', () => seq.push('a+'));
  a.e.on('stopped-leading', () => seq.push('a-'));
  b.e.on('started-leading', () => seq.push('b+'));
  b.e.on('stopped-leading', () => seq.push('b-'));
  try {
    a.e.start();
    await waitFor('a leads', () => a.e.isLeader());
    b.e.start();
    const rv = api.get('leases', 'isobar-system', 'isobar-leader')!.metadata.resourceVersion;
    await waitFor('a renews', () => api.get('leases', 'isobar-system', 'isobar-leader')!.metadata.resourceVersion !== rv);
    assert.equal(b.e.isLeader(), false, 'b follows while a renews');
    // a is cut off from the API server: it can neither renew nor release.
    api.revokeToken('token-a');
    await waitFor('b takes over', () => b.e.isLeader(), 4000);
    assert.deepEqual(seq, ['a+', 'a-', 'b+'], 'a stepped down (renew deadline) before b took over (lease expiry)');
    const lease = api.get('leases', 'isobar-system', 'isobar-leader')! as unknown as { spec: Record<string, unknown> };
    assert.equal(lease.spec.holderIdentity, 'replica-b');
    assert.equal(lease.spec.leaseTransitions, 1);
  } finally {
    await a.e.stop();
    await b.e.stop();
    await api.stop();
  }
});

test('a leader that stops releases the Lease and the other replica takes over at once', async () => {
  const { api, kubeconfig } = await startApi();
  const a = elector(kubeconfig, 'replica-a');
  const b = elector(kubeconfig, 'replica-b');
  try {
    a.e.start();
    await waitFor('a leads', () => a.e.isLeader());
    b.e.start();
    await a.e.stop();
    assert.deepEqual(a.events, ['started', 'stopped']);
    await waitFor('b leads', () => b.e.isLeader(), 2000);
  } finally {
    await b.e.stop();
    await api.stop();
  }
});

test('a leader that finds another holder stops leading at once', async () => {
  const { api, kubeconfig } = await startApi();
  const a = elector(kubeconfig, 'replica-a');
  try {
    a.e.start();
    await waitFor('a leads', () => a.e.isLeader());
    const lease = api.get('leases', 'isobar-system', 'isobar-leader')! as unknown as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    api.put('leases', { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: new Date().toISOString() } } as never);
    await waitFor('a stopped', () => a.events.includes('stopped'));
    assert.equal(a.e.isLeader(), false);
  } finally {
    await a.e.stop();
    await api.stop();
  }
});

test('bad timings are refused with a message naming the rule', () => {
  assert.throws(
    () => new LeaderElector({ namespace: 'n', name: 'l', identity: 'i', leaseDurationMs: 1000, renewDeadlineMs: 2000, retryPeriodMs: 100 }),
    /leaseDuration > renewDeadline > retryPeriod/,
  );
  assert.throws(() => new LeaderElector({ namespace: '', name: 'l', identity: 'i' }), /namespace/);
});
