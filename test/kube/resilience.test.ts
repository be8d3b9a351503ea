// Dropped watches, API server restarts and expired resourceVersions must not
// lose updates; API failures are problems with retries, never crashes, and
// the cache keeps serving what it had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource } from '../../src/kube/index.ts';
import type { TestApiServer } from './apiserver.ts';
import { startApi, waitFor } from './helpers.ts';

/** One watch per kind the source reads: HTTPProxy, TLSCertificateDelegation,
 *  ExtensionService, Service, Secret, EndpointSlice, Ingress, IngressClass. */
const WATCHES = 8;
const svc = (name: string, port: number) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port }] } });
const portOf = (cache: ObjectCache, name: string) => (cache.get('Service', 'default', name)?.object as { spec: { ports: { port: number }[] } } | undefined)?.spec.ports[0]?.port;

async function setup(api: TestApiServer, kubeconfig: string) {
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, holdoffMs: 5, holdoffMaxMs: 20, backoff: { baseMs: 20, maxMs: 200 } });
  const problems: string[] = [];
  source.on('problem', (m: { message: string }) => problems.push(m.message));
  await source.start();
  await waitFor('ready', () => source.ready());
  return { cache, source, problems };
}

test('a dropped watch loses no update: changes made while disconnected arrive', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('services', svc('a', 80));
  const { cache, source } = await setup(api, kubeconfig);
  try {
    await waitFor('a', () => portOf(cache, 'a') === 80);
    await waitFor('all watches open', () => api.watchCount === WATCHES);
    assert.equal(api.dropWatches(), WATCHES);
    // Written before the informers re-watch: they must resume from their version.
    api.put('services', svc('a', 81));
    api.put('services', svc('b', 90));
    api.delete('services', 'default', 'a');
    api.put('services', svc('a', 82));
    await waitFor('updates after the drop', () => portOf(cache, 'a') === 82 && portOf(cache, 'b') === 90);
    await waitFor('watches back', () => api.watchCount === WATCHES);
    api.put('services', svc('c', 100));
    await waitFor('later updates', () => portOf(cache, 'c') === 100);
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('an API server restart loses no update and the cache keeps serving meanwhile', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('services', svc('a', 80));
  const { cache, source, problems } = await setup(api, kubeconfig);
  try {
    await waitFor('a', () => portOf(cache, 'a') === 80);
    const port = api.port;
    await api.stop();
    // While it is down, the last good objects stay in the cache.
    await waitFor('a problem reported', () => problems.find((p) => p.includes('cannot reach the Kubernetes API server')));
    assert.equal(portOf(cache, 'a'), 80);
    assert.equal(source.ready(), false);
    // Changes made "while down" (stored state survives, as in etcd).
    api.put('services', svc('a', 81));
    api.put('services', svc('d', 70));
    await api.start(port);
    await waitFor('updates after restart', () => portOf(cache, 'a') === 81 && portOf(cache, 'd') === 70);
    await waitFor('ready again', () => source.ready());
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('410 Gone on the watch re-lists: deletions missed in the gap are noticed', async () => {
  const { api, kubeconfig } = await startApi({ historyLimit: 1000 });
  api.put('services', svc('a', 80));
  api.put('services', svc('b', 80));
  const { cache, source } = await setup(api, kubeconfig);
  try {
    await waitFor('a and b', () => portOf(cache, 'a') === 80 && portOf(cache, 'b') === 80);
    await waitFor('all watches open', () => api.watchCount === WATCHES);
    api.recordRequests = true;
    api.dropWatches();
    api.delete('services', 'default', 'b');
    api.put('services', svc('a', 99));
    api.compact(); // the informers' resourceVersion is now too old
    await waitFor('re-listed state', () => portOf(cache, 'a') === 99 && cache.get('Service', 'default', 'b') === undefined);
    assert.ok(
      api.requests.some((r) => r.path === '/api/v1/services' && !r.query.includes('watch=true')),
      'services were listed again',
    );
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('410 as a watch ERROR event on an open stream re-lists too', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('services', svc('a', 80));
  const { cache, source } = await setup(api, kubeconfig);
  try {
    await waitFor('watches open', () => api.watchCount === WATCHES);
    api.compact(); // open watches receive {"type":"ERROR", code 410}
    api.put('services', svc('a', 81));
    await waitFor('update after expiry', () => portOf(cache, 'a') === 81);
    await waitFor('watches back', () => api.watchCount === WATCHES);
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('401 (expired credentials): clear problem, not ready, cache kept, recovers when fixed', async () => {
  const { api, kubeconfig } = await startApi();
  api.put('services', svc('a', 80));
  const { cache, source, problems } = await setup(api, kubeconfig);
  try {
    api.revokeToken();
    await waitFor('401 problem', () => problems.find((p) => p.includes('401 Unauthorized')));
    assert.match(problems.find((p) => p.includes('401'))!, /expired or invalid.*retrying in/);
    assert.equal(source.ready(), false);
    assert.equal(portOf(cache, 'a'), 80, 'last good objects keep serving');
    api.put('services', svc('a', 81));
    api.restoreToken();
    await waitFor('recovered', () => source.ready() && portOf(cache, 'a') === 81);
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('403 (RBAC forbids a kind): the problem names the resource and the fix; never ready until allowed', async () => {
  const { api, kubeconfig } = await startApi();
  api.forbid('secrets');
  const cache = new ObjectCache();
  const source = new KubeSource(cache, { kubeconfig, holdoffMs: 5, backoff: { baseMs: 20, maxMs: 100 } });
  const problems: string[] = [];
  source.on('problem', (m: { message: string }) => problems.push(m.message));
  try {
    await source.start();
    await waitFor('403 problem', () => problems.find((p) => p.includes('403')));
    const p = problems.find((x) => x.includes('403'))!;
    assert.match(p, /RBAC forbids isobar to list\/watch secrets/);
    assert.match(p, /deploy\/rbac\.yaml/);
    assert.equal(source.ready(), false);
    api.allow('secrets');
    await waitFor('ready once allowed', () => source.ready());
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('no kubeconfig server: start() fails with a message saying how to fix it', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const f = join(mkdtempSync(join(tmpdir(), 'isobar-kc-')), 'kubeconfig');
  writeFileSync(f, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  const source = new KubeSource(new ObjectCache(), { kubeconfig: f });
  await assert.rejects(source.start(), /names no API server.*--kubeconfig/);
  const missing = new KubeSource(new ObjectCache(), { kubeconfig: join(tmpdir(), 'does-not-exist-kubeconfig') });
  await assert.rejects(missing.start(), /cannot read kubeconfig .*does-not-exist/);
  await source.stop();
  await missing.stop();
});

test('CRDs not installed (404): the problem says to install deploy/crds.yaml', async () => {
  const { api, kubeconfig } = await startApi();
  const cache = new ObjectCache();
  // The server stops serving httpproxies, as when the CRD is not installed.
  const origRoute = api.resource('httpproxies');
  const saved = origRoute.plural;
  origRoute.plural = 'httpproxies-not-installed';
  const source = new KubeSource(cache, { kubeconfig, backoff: { baseMs: 20, maxMs: 100 } });
  const problems: string[] = [];
  source.on('problem', (m: { message: string }) => problems.push(m.message));
  try {
    await source.start();
    await waitFor('404 problem', () => problems.find((p) => p.includes('404')));
    assert.match(problems.find((p) => p.includes('404'))!, /kubectl apply -f deploy\/crds\.yaml/);
    assert.equal(source.ready(), false);
    origRoute.plural = saved;
    await waitFor('ready once installed', () => source.ready());
  } finally {
    origRoute.plural = saved;
    await source.stop();
    await api.stop();
  }
});

test('malformed watch events are skipped; the stream and later events still work', async () => {
  const { api, kubeconfig } = await startApi();
  const { cache, source } = await setup(api, kubeconfig);
  try {
    await waitFor('watches open', () => api.watchCount === WATCHES);
    const garbage = [
      'not json at all',
      '{"type":"ADDED"}',
      '{"type":"ADDED","object":null}',
      '{"type":"ADDED","object":[1,2]}',
      '{"type":"MODIFIED","object":{"kind":"Service"}}',
      '{"type":"ADDED","object":{"metadata":{"name":""}}}',
      '{"type":"BOOKMARK","object":{"metadata":{}}}',
      '{"type":7,"object":{"metadata":{"name":"x"}}}',
      '{"type":"ADDED","object":{"metadata":{"name":"odd","namespace":"default"},"spec":{"ports":"eighty"}}}',
      '{"type":"ADDED","object":{"metadata":{"name":"torn"',
    ];
    assert.equal(api.injectWatchLines('services', garbage), 1);
    api.put('services', svc('after', 8080));
    await waitFor('a valid event after the garbage', () => portOf(cache, 'after') === 8080);
    // The schema-invalid one is recorded as rejected, naming the field.
    const rej = cache.snapshot().rejected.find((r) => r.name === 'odd');
    assert.ok(rej);
    assert.ok(rej.errors.some((e) => e.path.startsWith('spec.ports')));
    assert.equal(source.ready(), true);
  } finally {
    await source.stop();
    await api.stop();
  }
});
