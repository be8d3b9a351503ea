// Manifests -> ObjectCache -> dag.build() -> ProxyRuntime: the config the
// DAG really produces drives real traffic (upstream TLS validation with SNI,
// TLS termination with a Secret, the port-80 redirect, weights).
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { defaultConfig } from '../../src/config/types.ts';
import { build } from '../../src/dag/index.ts';
import { ObjectCache, combineFiles, loadText } from '../../src/objects/index.ts';
import { createCa, type Ca } from '../support/pki.ts';
import { get, httpBackend, httpsBackend, startProxy, type Backend, type Started } from './fixtures.ts';

let backendCa: Ca;
let edgeCa: Ca;
let tlsBackend: Backend;
let plain: Backend;
let p: Started;

const indent = (pem: string, n = 4) =>
  pem
    .trim()
    .split('\n')
    .map((l) => `${' '.repeat(n)}${l}`)
    .join('\n');

function manifests(): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: secure, namespace: default, annotations: { projectcontour.io/upstream-protocol.tls: "443" } }
spec: { ports: [ { name: https, port: 443, targetPort: ${tlsBackend.port} } ] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: secure, namespace: default }
subsets: [ { addresses: [ { ip: 127.0.0.1 } ], ports: [ { name: https, port: ${tlsBackend.port} } ] } ]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { ports: [ { port: 80, targetPort: ${plain.port} } ] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: web, namespace: default }
subsets: [ { addresses: [ { ip: 127.0.0.1 } ], ports: [ { port: ${plain.port} } ] } ]
---
apiVersion: v1
kind: Secret
metadata: { name: backend-ca, namespace: default }
type: Opaque
stringData:
  ca.crt: |
${indent(backendCa.certPem)}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: app, namespace: default }
spec:
  virtualhost:
    fqdn: app.example.test
    tls: { secretName: app-tls }
  routes:
  - conditions: [ { prefix: /secure } ]
    services:
    - name: secure
      port: 443
      validation: { caSecret: backend-ca, subjectName: backend.example.test }
  - services: [ { name: web, port: 80 } ]
`;
}

before(async () => {
  backendCa = await createCa('backend CA');
  edgeCa = await createCa('edge CA');
  tlsBackend = await httpsBackend('secure', await backendCa.issue({ dnsNames: ['backend.example.test'] }));
  plain = await httpBackend('web');
  const edge = await edgeCa.issue({ dnsNames: ['app.example.test'] });
  const secretYaml = `
---
apiVersion: v1
kind: Secret
metadata: { name: app-tls, namespace: default }
type: kubernetes.io/tls
stringData:
  tls.crt: |
${indent(edge.certPem)}
  tls.key: |
${indent(edge.keyPem)}
`;
  const cache = new ObjectCache();
  const loaded = combineFiles([loadText(manifests() + secretYaml, 'manifests.yaml')]);
  cache.replaceAll(loaded.objects, loaded.rejected);
  const result = build(cache.snapshot(), defaultConfig());
  assert.deepEqual(
    result.statuses.map((s) => [s.name, s.currentStatus, s.description]),
    [['app', 'valid', 'Valid HTTPProxy']],
  );
  p = await startProxy(result.proxyConfig, [{ name: 'http' }, { name: 'https', tls: true }]);
});

after(async () => {
  await p.close();
  await tlsBackend.close();
  await plain.close();
});

function hget(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: p.port('https'), path, servername: 'app.example.test', headers: { host: 'app.example.test' }, ca: edgeCa.certPem, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS request reaches the validated TLS backend with the DAG-chosen SNI', async () => {
  const r = await hget('/secure/x');
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { backend: string; servername: string; headers: Record<string, string> };
  assert.equal(seen.backend, 'secure');
  assert.equal(seen.servername, 'backend.example.test');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
});

test('other paths go to the plain service', async () => {
  const r = await hget('/');
  assert.equal(JSON.parse(r.body).backend, 'web');
});

test('port 80 answers 301 to https for the TLS virtual host', async () => {
  const r = await get(p.port('http'), '/page', { host: 'app.example.test' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'https://app.example.test/page');
});
