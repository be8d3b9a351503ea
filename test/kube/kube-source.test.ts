import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource } from '../../src/kube/index.ts';
import { kubectl, startApi, waitFor } from './helpers.ts';

const PROXY = (name: string, fqdn: string, secret?: string) => `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: ${name}
  namespace: default
spec:
  virtualhost:
    fqdn: ${fqdn}
${secret ? `    tls:\n      secretName: ${secret}\n` : ''}  routes:
  - services:
    - name: web
      port: 80
`;

test('kubectl-created objects reach the cache; only referenced Secrets carry data', async () => {
  const { api, kubeconfig } = await startApi();
  const cache = new ObjectCache();
  const src = new KubeSource(cache, { kubeconfig, holdoffMs: 10, holdoffMaxMs: 50 });
  api.recordRequests = true;
  let changes = 0;
  src.on('change', () => changes++);
  try {
    await src.start();
    await waitFor('ready', () => src.ready());
    await kubectl(kubeconfig, ['create', '--validate=false', '-f', '-'], `${PROXY('web', 'web.example.com', 'web-tls')}---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: v1
kind: Secret
metadata:
  name: web-tls
type: kubernetes.io/tls
stringData:
  tls.crt: CERT
  tls.key: KEY
---
apiVersion: v1
kind: Secret
metadata:
  name: unrelated
stringData:
  password: hunter2
`);
    await waitFor('proxy, service and referenced secret in the cache', () =>
      cache.get('HTTPProxy', 'default', 'web') && cache.get('Service', 'default', 'web') && cache.get('Secret', 'default', 'web-tls'),
    );
    const secret = cache.get('Secret', 'default', 'web-tls')!.object;
    assert.equal(secret.kind, 'Secret');
    assert.deepEqual((secret as { data: Record<string, string> }).data, { 'tls.crt': 'CERT', 'tls.key': 'KEY' });
    assert.equal(cache.get('Secret', 'default', 'unrelated'), undefined, 'unreferenced secret is not held');
    // Secret data crosses the wire only for the referenced one: the list and
    // watch ask for metadata, the one referenced Secret is read by name.
    const secretReqs = api.requests.filter((r) => r.method === 'GET' && (r.path.endsWith('/secrets') || r.path.includes('/secrets/')));
    for (const r of secretReqs.filter((r) => r.path === '/api/v1/secrets')) assert.match(r.accept, /as=PartialObjectMetadata/, `${r.path}${r.query}`);
    assert.deepEqual(secretReqs.filter((r) => r.path !== '/api/v1/secrets').map((r) => r.path), ['/api/v1/namespaces/default/secrets/web-tls']);
    assert.ok(changes >= 1);

    // Referencing the other secret fetches it; dropping the reference forgets the first.
    await kubectl(kubeconfig, ['replace', '--validate=false', '-f', '-'], PROXY('web', 'web.example.com', 'unrelated'));
    await waitFor('newly referenced secret fetched', () => cache.get('Secret', 'default', 'unrelated'));
    await waitFor('unreferenced secret dropped', () => cache.get('Secret', 'default', 'web-tls') === undefined);

    // A schema-invalid object is rejected, naming the field.
    api.put('httpproxies', { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: { name: 'bad', namespace: 'default' }, spec: { virtualhost: { fqdn: 'bad.example.com' }, routes: [{ services: [{ name: 'x', port: 'eighty' }] }] } });
    await waitFor('rejected proxy', () => cache.snapshot().rejected.find((r) => r.name === 'bad'));
    const rej = cache.snapshot().rejected.find((r) => r.name === 'bad')!;
    assert.match(rej.errors.map((e) => e.path).join(','), /spec\.routes\[0\]\.services\[0\]\.port/);

    await kubectl(kubeconfig, ['delete', '-f', '-'], PROXY('web', 'web.example.com'));
    await waitFor('proxy removed', () => cache.get('HTTPProxy', 'default', 'web') === undefined);
    await waitFor('secret forgotten with its last reference', () => cache.get('Secret', 'default', 'unrelated') === undefined);
  } finally {
    await src.stop();
    await api.stop();
  }
});

test('--namespace restricts every watch to those namespaces; Endpoints only when asked for', async () => {
  const { api, kubeconfig } = await startApi();
  for (const ns of ['a', 'b', 'c']) {
    api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: ns }, spec: { ports: [{ port: 80 }] } } as never);
    api.put('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 's', namespace: ns }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }] } as never);
  }
  api.recordRequests = true;
  const cache = new ObjectCache();
  const src = new KubeSource(cache, { kubeconfig, namespaces: ['a', 'c'], endpoints: true, holdoffMs: 5 });
  try {
    await src.start();
    await waitFor('ready', () => src.ready());
    const services = cache.snapshot().services.map((s) => s.metadata.namespace);
    assert.deepEqual(services, ['a', 'c']);
    assert.deepEqual(cache.snapshot().endpoints.map((e) => e.metadata.namespace), ['a', 'c']);
    // Discovery (is the Gateway API served?) reads no objects.
    const discovery = (p: string) => /^\/apis\/[^/]+\/[^/]+$/.test(p);
    assert.ok(api.requests.every((r) => discovery(r.path) || r.path.includes('/namespaces/a/') || r.path.includes('/namespaces/c/')), 'no cluster-wide request');
    api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 't', namespace: 'b' }, spec: { ports: [{ port: 80 }] } } as never);
    api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 't', namespace: 'c' }, spec: { ports: [{ port: 80 }] } } as never);
    await waitFor('c/t', () => cache.get('Service', 'c', 't'));
    assert.equal(cache.get('Service', 'b', 't'), undefined);
  } finally {
    await src.stop();
    await api.stop();
  }
});
