import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusWriter } from '../../src/kube/index.ts';
import type { ExtensionServiceStatus, HTTPProxyStatus, ServiceStatus } from '../../src/status/types.ts';
import type { TestApiServer } from './apiserver.ts';
import { startApi, waitFor } from './helpers.ts';

function proxy(api: TestApiServer, name: string, namespace = 'default') {
  api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name, namespace }, spec: { virtualhost: { fqdn: `${name}.example.com` } } });
}

function status(name: string, valid = true, namespace = 'default', generation = 1): HTTPProxyStatus {
  return {
    namespace,
    name,
    fqdn: `${name}.example.com`,
    currentStatus: valid ? 'valid' : 'invalid',
    description: valid ? 'Valid HTTPProxy' : 'At least one error present, see Errors for details',
    conditions: [
      {
        type: 'Valid',
        status: valid ? 'True' : 'False',
        observedGeneration: generation,
        reason: valid ? 'Valid' : 'ErrorPresent',
        message: valid ? 'Valid HTTPProxy' : 'At least one error present, see Errors for details',
        ...(valid ? {} : { errors: [{ type: 'ServiceError', status: 'True' as const, reason: 'ServiceUnresolvedReference', message: 'Spec.Routes unresolved service reference: service "default/x" not found' }] }),
      },
    ],
  };
}

function extension(api: TestApiServer, name: string, namespace = 'default') {
  api.put('extensionservices', { apiVersion: 'projectcontour.io/v1alpha1', kind: 'ExtensionService', metadata: { name, namespace }, spec: { services: [{ name: 'authz', port: 9443 }] } });
}

function extensionStatus(name: string, valid = true, generation = 1, namespace = 'default'): ExtensionServiceStatus {
  return {
    namespace,
    name,
    conditions: [
      {
        type: 'Valid',
        status: valid ? 'True' : 'False',
        observedGeneration: generation,
        reason: valid ? 'Valid' : 'ErrorPresent',
        message: valid ? 'Valid ExtensionService' : 'At least one error present, see Errors for details',
        ...(valid ? {} : { errors: [{ type: 'ServiceError', status: 'True' as const, reason: 'ServiceUnresolvedReference', message: 'unresolved service "default/authz"' }] }),
      },
    ],
  };
}

const extensionStatusOn = (api: TestApiServer, name: string, namespace = 'default') => api.get('extensionservices', namespace, name)?.status as Record<string, any> | undefined;
const statusOn = (api: TestApiServer, name: string, namespace = 'default') => api.get('httpproxies', namespace, name)?.status as Record<string, any> | undefined;
const patches = (api: TestApiServer) => api.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/status'));

test('status is written through the status subresource, only when it changed', async () => {
  const { api, kubeconfig } = await startApi();
  proxy(api, 'a');
  const w = new StatusWriter({ kubeconfig });
  api.recordRequests = true;
  try {
    w.setLeader(true);
    w.write([status('a', false)], []);
    await w.idle();
    const s = statusOn(api, 'a')!;
    assert.equal(s.currentStatus, 'invalid');
    assert.equal(s.conditions[0].errors[0].reason, 'ServiceUnresolvedReference');
    assert.equal(s.conditions[0].observedGeneration, 1);
    const t1 = s.conditions[0].lastTransitionTime;
    assert.equal(patches(api).length, 1);
    assert.ok(patches(api)[0]!.path.endsWith('/apis/projectcontour.io/v1/namespaces/default/httpproxies/a/status'));
    // Same status again: nothing is written.
    w.write([status('a', false)], []);
    await w.idle();
    assert.equal(patches(api).length, 1);
    // The spec is untouched by status writes.
    assert.deepEqual(api.get('httpproxies', 'default', 'a')!.spec, { virtualhost: { fqdn: 'a.example.com' } });
    // A change is written; errors disappear with it (arrays are replaced).
    w.write([status('a', true)], []);
    await w.idle();
    const s2 = statusOn(api, 'a')!;
    assert.equal(s2.currentStatus, 'valid');
    assert.equal(s2.conditions[0].errors, undefined);
    assert.ok(s2.conditions[0].lastTransitionTime >= t1);
  } finally {
    await w.stop();
    await api.stop();
  }
});

test('status writes survive 409 Conflicts: re-read and retry', async () => {
  const { api, kubeconfig } = await startApi();
  for (let i = 0; i < 20; i++) proxy(api, `p${i}`);
  api.injectConflicts({ count: 30, method: 'PATCH', pathIncludes: '/status' });
  const w = new StatusWriter({ kubeconfig, conflictRetries: 3 });
  try {
    w.setLeader(true);
    w.write(Array.from({ length: 20 }, (_, i) => status(`p${i}`)), []);
    await w.idle();
    for (let i = 0; i < 20; i++) assert.equal(statusOn(api, `p${i}`)?.currentStatus, 'valid', `p${i}`);
    assert.equal(w.stats.conflicts, 30);
    assert.equal(w.stats.written, 20);
  } finally {
    await w.stop();
    await api.stop();
  }
});

test('only the leader writes; losing the lease drops queued writes at once', async () => {
  const { api, kubeconfig } = await startApi();
  for (let i = 0; i < 40; i++) proxy(api, `p${i}`);
  api.recordRequests = true;
  const w = new StatusWriter({ kubeconfig, qps: 50, burst: 2, concurrency: 2 });
  try {
    const all = Array.from({ length: 40 }, (_, i) => status(`p${i}`));
    w.write(all, []);
    await w.idle();
    assert.equal(patches(api).length, 0, 'a follower writes nothing');
    w.setLeader(true);
    await waitFor('some written', () => w.stats.written >= 3);
    w.setLeader(false);
    assert.equal(w.stats.queued, 0);
    const atLoss = patches(api).length;
    await w.idle();
    // Only requests already on the wire may land after the loss.
    assert.ok(patches(api).length <= atLoss + 2);
    const written = all.filter((s) => statusOn(api, s.name)).length;
    assert.ok(written < 40, `queued writes were dropped (${written} of 40 written)`);
    // Leading again writes what is still missing.
    w.setLeader(true);
    await w.idle();
    assert.equal(all.filter((s) => statusOn(api, s.name)).length, 40);
  } finally {
    await w.stop();
    await api.stop();
  }
});

test('a new leader does not rewrite statuses already on the server, and keeps their lastTransitionTime', async () => {
  const { api, kubeconfig } = await startApi();
  proxy(api, 'a');
  proxy(api, 'b');
  const first = new StatusWriter({ kubeconfig });
  first.setLeader(true);
  first.write([status('a'), status('b', false)], []);
  await first.idle();
  await first.stop();
  const observed = (k: string, ns: string, n: string) => (k === 'HTTPProxy' ? statusOn(api, n, ns) : undefined);
  const t = statusOn(api, 'a')!.conditions[0].lastTransitionTime;
  api.recordRequests = true;
  const second = new StatusWriter({ kubeconfig, observedStatus: observed });
  try {
    second.write([status('a'), status('b')], []);
    second.setLeader(true);
    await second.idle();
    assert.deepEqual(patches(api).map((r) => r.path.split('/').at(-2)), ['b'], 'only the changed one is written');
    assert.equal(statusOn(api, 'a')!.conditions[0].lastTransitionTime, t);
  } finally {
    await second.stop();
    await api.stop();
  }
});

test('Service status.loadBalancer.ingress is written, and cleared when the balancer stops serving it', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'envoy', namespace: 'projectcontour' }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } });
  const svc: ServiceStatus = {
    namespace: 'projectcontour',
    name: 'envoy',
    listeners: [],
    ingress: [{ hostname: 'envoy-0123.elb.local.amazonaws.com', ip: '127.0.0.1', ports: [{ port: 443, protocol: 'TCP' }] }],
    problems: [],
  };
  const w = new StatusWriter({ kubeconfig });
  try {
    w.setLeader(true);
    w.write([], [svc]);
    await w.idle();
    const lb = (api.get('services', 'projectcontour', 'envoy')!.status as any).loadBalancer;
    assert.deepEqual(lb, { ingress: [{ ip: '127.0.0.1', hostname: 'envoy-0123.elb.local.amazonaws.com', ports: [{ port: 443, protocol: 'TCP' }] }] });
    w.write([], []);
    await w.idle();
    assert.deepEqual((api.get('services', 'projectcontour', 'envoy')!.status as any).loadBalancer, {});
  } finally {
    await w.stop();
    await api.stop();
  }
});

test('1,000 HTTPProxies changing at once all get their status; a hot object starves nobody', async (t) => {
  const { api, kubeconfig } = await startApi();
  const N = 1000; // 5,000 against the default rate limit: bench/kube.ts
  for (let i = 0; i < N; i++) proxy(api, `p${i}`, `ns${i % 50}`);
  const w = new StatusWriter({ kubeconfig, qps: 20_000, burst: 20_000, concurrency: 64 });
  try {
    w.setLeader(true);
    const all = Array.from({ length: N }, (_, i) => status(`p${i}`, true, `ns${i % 50}`));
    const started = performance.now();
    w.write(all, []);
    // Keep flipping one object while the rest drain.
    for (let k = 0; k < 20; k++) {
      all[0] = status('p0', k % 2 === 1, 'ns0');
      w.write(all, []);
      await new Promise((r) => setImmediate(r));
    }
    await w.idle();
    const ms = performance.now() - started;
    let missing = 0;
    for (let i = 0; i < N; i++) if (statusOn(api, `p${i}`, `ns${i % 50}`)?.currentStatus !== 'valid') missing++; // p0 ends valid (k = 19)
    assert.equal(missing, 0);
    t.diagnostic(`${N} statuses written in ${ms.toFixed(0)} ms (rate limit off, 64 in flight, server in the same process)`);
  } finally {
    await w.stop();
    await api.stop();
  }
});

test('HTTPProxy status.loadBalancer carries the ingress Service address, as Contour writes it', async () => {
  const { api, kubeconfig } = await startApi();
  proxy(api, 'a');
  let ingress = [{ hostname: 'k8s-projectc-envoy-0123456789.elb.local.amazonaws.com' }];
  const observed = (k: string, ns: string, n: string) => (k === 'HTTPProxy' ? statusOn(api, n, ns) : undefined);
  const w = new StatusWriter({ kubeconfig, proxyIngress: () => ingress, observedStatus: observed });
  try {
    w.setLeader(true);
    w.write([status('a')], []);
    await w.idle();
    assert.deepEqual(statusOn(api, 'a')!.loadBalancer, { ingress: [{ hostname: 'k8s-projectc-envoy-0123456789.elb.local.amazonaws.com' }] });
    // The address changes: every proxy's status follows.
    ingress = [{ ip: '127.0.0.2' } as never];
    w.write([status('a')], []);
    await w.idle();
    assert.deepEqual(statusOn(api, 'a')!.loadBalancer, { ingress: [{ ip: '127.0.0.2' }] });
    // No address: the field is emptied.
    ingress = [];
    w.write([status('a')], []);
    await w.idle();
    assert.deepEqual(statusOn(api, 'a')!.loadBalancer, {});
    // A new writer sees the server already matches and writes nothing.
    const w2 = new StatusWriter({ kubeconfig, proxyIngress: () => ingress, observedStatus: observed });
    api.recordRequests = true;
    w2.write([status('a')], []);
    w2.setLeader(true);
    await w2.idle();
    assert.equal(patches(api).length, 0);
    await w2.stop();
  } finally {
    await w.stop();
    await api.stop();
  }
});

test('whatever the sequence of builds, leadership changes and conflicts, the last build is what ends up on the server (property)', async () => {
  const fc = (await import('fast-check')).default;
  const { api, kubeconfig } = await startApi();
  const names = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
  for (const n of names) proxy(api, n);
  const observed = (k: string, ns: string, n: string) => (k === 'HTTPProxy' ? statusOn(api, n, ns) : undefined);
  type Step = { op: 'write'; valid: boolean[] } | { op: 'leader'; on: boolean } | { op: 'conflicts'; count: number } | { op: 'yield' };
  const step: import('fast-check').Arbitrary<Step> = fc.oneof(
    fc.record({ op: fc.constant('write' as const), valid: fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }) }),
    fc.record({ op: fc.constant('leader' as const), on: fc.boolean() }),
    fc.record({ op: fc.constant('conflicts' as const), count: fc.integer({ min: 1, max: 4 }) }),
    fc.constant({ op: 'yield' as const }),
  );
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 20 }), fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }), async (steps, final) => {
        const w = new StatusWriter({ kubeconfig, observedStatus: observed, concurrency: 3 });
        try {
          for (const s of steps) {
            if (s.op === 'write') w.write(names.map((n, i) => status(n, s.valid[i])), []);
            else if (s.op === 'leader') w.setLeader(s.on);
            else if (s.op === 'conflicts') api.injectConflicts({ count: s.count, method: 'PATCH', pathIncludes: '/status' });
            else await new Promise((r) => setTimeout(r, 1));
          }
          w.write(names.map((n, i) => status(n, final[i])), []);
          w.setLeader(true);
          await w.idle();
          for (const [i, n] of names.entries()) assert.equal(statusOn(api, n)?.currentStatus, final[i] ? 'valid' : 'invalid', n);
        } finally {
          await w.stop();
        }
      }),
      { numRuns: 25 },
    );
  } finally {
    await api.stop();
  }
});

test('ExtensionService status is written through its status subresource: conditions only, lastTransitionTime kept while the status holds', async () => {
  const { api, kubeconfig } = await startApi();
  extension(api, 'authz');
  const w = new StatusWriter({ kubeconfig });
  api.recordRequests = true;
  try {
    w.write([], [], [extensionStatus('authz', false)]);
    await w.idle();
    assert.equal(patches(api).length, 0, 'a follower writes nothing');
    assert.equal(extensionStatusOn(api, 'authz'), undefined);
    w.setLeader(true);
    await w.idle();
    const s = extensionStatusOn(api, 'authz')!;
    assert.deepEqual(Object.keys(s), ['conditions']);
    assert.equal(s.conditions[0].status, 'False');
    assert.equal(s.conditions[0].reason, 'ErrorPresent');
    assert.equal(s.conditions[0].errors[0].reason, 'ServiceUnresolvedReference');
    assert.equal(s.conditions[0].observedGeneration, 1);
    const t1 = s.conditions[0].lastTransitionTime as string;
    assert.match(t1, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(patches(api).map((r) => r.path), ['/apis/projectcontour.io/v1alpha1/namespaces/default/extensionservices/authz/status']);
    assert.deepEqual(api.get('extensionservices', 'default', 'authz')!.spec, { services: [{ name: 'authz', port: 9443 }] }, 'the spec is untouched');
    // The same status again: nothing is sent.
    w.write([], [], [extensionStatus('authz', false)]);
    await w.idle();
    assert.equal(patches(api).length, 1);
    // A new generation with the same condition status: written, the transition time kept.
    await new Promise((r) => setTimeout(r, 1100));
    w.write([], [], [extensionStatus('authz', false, 2)]);
    await w.idle();
    assert.equal(patches(api).length, 2);
    assert.equal(extensionStatusOn(api, 'authz')!.conditions[0].observedGeneration, 2);
    assert.equal(extensionStatusOn(api, 'authz')!.conditions[0].lastTransitionTime, t1);
    // Valid now: the status flips, so does the transition time; errors go.
    w.write([], [], [extensionStatus('authz', true, 2)]);
    await w.idle();
    const s3 = extensionStatusOn(api, 'authz')!;
    assert.equal(s3.conditions[0].status, 'True');
    assert.equal(s3.conditions[0].errors, undefined);
    assert.ok(s3.conditions[0].lastTransitionTime > t1);
    // Losing the lease: a changed status is not written.
    w.setLeader(false);
    w.write([], [], [extensionStatus('authz', false, 3)]);
    await w.idle();
    assert.equal(patches(api).length, 3);
    assert.equal(extensionStatusOn(api, 'authz')!.conditions[0].status, 'True');
  } finally {
    await w.stop();
    await api.stop();
  }
});

test('ExtensionService statuses: a new leader leaves what the server shows, and retries on 409', async () => {
  const { api, kubeconfig } = await startApi();
  extension(api, 'a');
  extension(api, 'b');
  // Same namespace and name as an ExtensionService: tracked apart.
  proxy(api, 'a');
  const first = new StatusWriter({ kubeconfig });
  first.setLeader(true);
  first.write([status('a')], [], [extensionStatus('a'), extensionStatus('b')]);
  await first.idle();
  await first.stop();
  const t = extensionStatusOn(api, 'a')!.conditions[0].lastTransitionTime;
  const observed = (k: string, ns: string, n: string) => (k === 'ExtensionService' ? extensionStatusOn(api, n, ns) : k === 'HTTPProxy' ? statusOn(api, n, ns) : undefined);
  api.recordRequests = true;
  api.injectConflicts({ count: 2, method: 'PATCH', pathIncludes: '/extensionservices/' });
  const second = new StatusWriter({ kubeconfig, observedStatus: observed });
  try {
    second.write([status('a')], [], [extensionStatus('a'), extensionStatus('b', false)]);
    second.setLeader(true);
    await second.idle();
    assert.deepEqual([...new Set(patches(api).map((r) => r.path))], ['/apis/projectcontour.io/v1alpha1/namespaces/default/extensionservices/b/status'], 'only the changed one is written');
    assert.equal(second.stats.conflicts, 2);
    assert.equal(second.stats.written, 1);
    assert.equal(extensionStatusOn(api, 'b')!.conditions[0].status, 'False');
    assert.equal(extensionStatusOn(api, 'a')!.conditions[0].lastTransitionTime, t);
  } finally {
    await second.stop();
    await api.stop();
  }
});
