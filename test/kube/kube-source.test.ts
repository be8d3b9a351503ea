import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectCache } from '../../src/objects/index.ts';
import { KubeSource } from '../../src/sources/kube/index.ts';
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
