// From YAML manifests through the loader and ObjectCache to build(): the
// documented upstream TLS example, and a schema-rejected HTTPProxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { ObjectCache, combineFiles, loadText } from '../../src/objects/index.ts';
import { build } from '../../src/dag/index.ts';
import { defaultConfig } from '../../src/config/types.ts';

const ca = await createCa('docs CA');
const indent = (pem: string) => pem.trim().split('\n').map((l) => `    ${l}`).join('\n');

function buildFrom(yaml: string) {
  const cache = new ObjectCache();
  const loaded = combineFiles([loadText(yaml, 'manifests.yaml')]);
  cache.replaceAll(loaded.objects, loaded.rejected);
  return build(cache.snapshot(), defaultConfig());
}

const docsExample = (withSecret: boolean) => `
apiVersion: v1
kind: Service
metadata:
  name: tls-nginx
  namespace: default
  annotations:
    projectcontour.io/upstream-protocol.tls: "443"
spec:
  selector:
    app: tls-nginx
  ports:
  - name: https
    port: 443
    targetPort: 8443
---
apiVersion: v1
kind: Endpoints
metadata:
  name: tls-nginx
  namespace: default
subsets:
- addresses:
  - ip: 127.0.0.1
  ports:
  - name: https
    port: 8443
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: secure-backend
  namespace: default
  generation: 2
spec:
  virtualhost:
    fqdn: www.example.com
  routes:
  - services:
    - name: tls-nginx
      port: 443
      validation:
        caSecret: my-certificate-authority
        subjectName: backend.example.com
${
  withSecret
    ? `---
apiVersion: v1
kind: Secret
metadata:
  name: my-certificate-authority
  namespace: default
type: Opaque
stringData:
  ca.crt: |
${indent(ca.certPem)}
`
    : ''
}`;

test('the documented upstream TLS example without its CA secret reads as documented', () => {
  const r = buildFrom(docsExample(false));
  assert.equal(r.statuses.length, 1);
  const s = r.statuses[0]!;
  assert.equal(s.currentStatus, 'invalid');
  assert.equal(s.description, 'route "/": service "tls-nginx": upstreamValidation requested but secret not found or misconfigured');
  assert.equal(s.conditions[0]!.observedGeneration, 2);
  assert.deepEqual(s.conditions[0]!.errors, [
    {
      type: 'ServiceError',
      status: 'True',
      reason: 'TLSUpstreamValidation',
      message: 'Service [tls-nginx:443] TLS upstream validation policy error: invalid CA Secret "default/my-certificate-authority": Secret not found',
    },
  ]);
  assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);
});

test('the documented upstream TLS example with its CA secret routes to a validated TLS cluster', () => {
  const r = buildFrom(docsExample(true));
  assert.equal(r.statuses[0]!.currentStatus, 'valid');
  const [c] = r.proxyConfig.clusters;
  assert.equal(c!.protocol, 'tls');
  assert.deepEqual(c!.endpoints, [{ address: '127.0.0.1', port: 8443 }]);
  assert.deepEqual(c!.tls, {
    minVersion: '1.2',
    maxVersion: '1.3',
    sni: 'backend.example.com',
    validation: { caBundleId: 'default/my-certificate-authority', subjectNames: ['backend.example.com'] },
  });
  assert.equal(r.proxyConfig.caBundles[0]!.caPem.trim(), ca.certPem.trim());
});

test('a schema-rejected HTTPProxy is invalid with the field path, and is never routed', () => {
  const r = buildFrom(`
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: broken
spec:
  virtualhost:
    fqdn: broken.example.com
  routes:
  - services:
    - name: s
      port: 70000
`);
  const s = r.statuses.find((x) => x.name === 'broken')!;
  assert.equal(s.currentStatus, 'invalid');
  assert.match(s.description, /^spec\.routes\[0\]\.services\[0\]\.port: /);
  assert.equal(s.conditions[0]!.errors![0]!.reason, 'SchemaInvalid');
  assert.equal(s.conditions[0]!.errors![0]!.type, 'SpecError');
  assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);
});
