import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadText, combineFiles, formatIssue } from '../../src/objects/index.ts';
import type { FileLoadResult } from '../../src/objects/index.ts';

const validManifest = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: web
  namespace: apps
spec:
  virtualhost:
    fqdn: web.example.com
    tls: {secretName: web-tls}
  routes:
  - conditions: [{prefix: /api}]
    services:
    - name: web
      port: 443
      protocol: tls
      validation: {caSecret: ca, subjectName: web.apps.svc}
---
apiVersion: v1
kind: Secret
metadata: {name: ca, namespace: apps}
data: {ca.crt: ${Buffer.from('-----BEGIN CERTIFICATE-----').toString('base64')}}
stringData: {extra: x}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: apps}
  spec: {ports: [{name: https, port: 443, targetPort: 8443}]}
`;

function checkInvariants(r: FileLoadResult): void {
  for (const e of r.entries) {
    assert.ok((e.object === undefined) !== (e.rejected === undefined), 'each entry is either valid or rejected');
    assert.equal(typeof e.name, 'string');
    assert.ok(e.name.length > 0);
    assert.equal(typeof e.namespace, 'string');
    if (e.object) {
      assert.equal(e.object.metadata.name, e.name);
      assert.equal(e.object.metadata.namespace, e.namespace);
      if (e.object.kind === 'Secret') {
        for (const v of Object.values(e.object.data)) assert.equal(typeof v, 'string');
        assert.equal(typeof e.object.type, 'string');
      }
    } else {
      assert.ok(e.rejected!.errors.length > 0, 'a rejected object says why');
      assert.ok(r.errors.some((i) => i.object?.name === e.name && i.object.kind === e.kind), 'a rejected object is also a load error');
    }
  }
  for (const i of [...r.errors, ...r.warnings]) {
    assert.equal(typeof formatIssue(i), 'string');
    assert.equal(i.file, r.file);
  }
  // JSON-safe output (objects cross process boundaries)
  JSON.stringify(r.entries);
}

test('property: arbitrary YAML values never throw out of the loader', () => {
  fc.assert(
    fc.property(fc.array(fc.anything({ maxDepth: 4 }), { maxLength: 4 }), (docs) => {
      const text = docs.map((d) => stringify(d ?? null)).join('---\n');
      checkInvariants(loadText(text, 'a.yaml'));
    }),
    { numRuns: 300 },
  );
});

test('property: arbitrary JSON never throws out of the loader', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
      checkInvariants(loadText(JSON.stringify(v), 'a.json'));
    }),
    { numRuns: 300 },
  );
});

// Kubernetes-shaped values with random field contents reach the schema.
const kubeish = fc.record(
  {
    apiVersion: fc.constantFrom('v1', 'projectcontour.io/v1', 'discovery.k8s.io/v1', 'apps/v1', 7),
    kind: fc.constantFrom('HTTPProxy', 'TLSCertificateDelegation', 'Service', 'Secret', 'Endpoints', 'EndpointSlice', 'List', 'Deployment'),
    metadata: fc.record({ name: fc.oneof(fc.constantFrom('a', 'b', 'web'), fc.anything()), namespace: fc.oneof(fc.constantFrom('x', ''), fc.anything()) }, { requiredKeys: [] }),
    spec: fc.anything({ maxDepth: 5 }),
    data: fc.dictionary(fc.string(), fc.oneof(fc.base64String(), fc.string(), fc.anything())),
    stringData: fc.anything({ maxDepth: 2 }),
    items: fc.anything({ maxDepth: 3 }),
    subsets: fc.anything({ maxDepth: 4 }),
    endpoints: fc.anything({ maxDepth: 3 }),
    addressType: fc.anything({ maxDepth: 1 }),
    type: fc.anything({ maxDepth: 1 }),
  },
  { requiredKeys: ['apiVersion', 'kind', 'metadata'] },
);

test('property: Kubernetes-shaped objects with random contents never throw', () => {
  fc.assert(
    fc.property(fc.array(kubeish, { minLength: 1, maxLength: 4 }), (objs) => {
      const r = loadText(objs.map((o) => stringify(o)).join('---\n'), 'k.yaml');
      checkInvariants(r);
      const merged = combineFiles([r, { ...r, file: 'z.yaml' }]);
      // the second copy of every object is a duplicate
      const firsts = merged.objects.length + merged.rejected.length;
      assert.equal(firsts, new Set(r.entries.map((e) => `${e.kind}/${e.namespace}/${e.name}`)).size);
    }),
    { numRuns: 300 },
  );
});

test('property: mangled manifests (bytes deleted, inserted, replaced) never throw', () => {
  const mutation = fc.record({
    at: fc.nat(),
    del: fc.nat({ max: 8 }),
    ins: fc.string({ maxLength: 6, unit: fc.constantFrom(' ', '\n', ':', '-', '[', '{', '"', "'", '#', '&', '*', '!', '|', '>', 'a', '1', '\t', '---\n', '\u0000') }),
  });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
      let text = validManifest;
      for (const m of muts) {
        const at = m.at % (text.length + 1);
        text = text.slice(0, at) + m.ins + text.slice(at + m.del);
      }
      checkInvariants(loadText(text, 'm.yaml'));
      checkInvariants(loadText(text, 'm.json'));
    }),
    { numRuns: 500 },
  );
});

test('the unmangled manifest loads cleanly (so the properties above start from a valid input)', () => {
  const r = loadText(validManifest, 'm.yaml');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.entries.map((e) => `${e.kind}/${e.namespace}/${e.name}`), ['HTTPProxy/apps/web', 'Secret/apps/ca', 'Service/apps/web']);
});
