// Ingress and IngressClass validation: what the API server would refuse
// (its schema and pkg/apis/networking/validation's code rules), each row a
// malformed manifest with the exact field and message; IngressClass is
// cluster-scoped; other Ingress apiVersions are skipped; and a property:
// no mangled Ingress makes the validator or the loader throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateObject } from '../../src/objects/schema.ts';
import { loadText } from '../../src/objects/index.ts';

const ing = (spec: unknown) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', namespace: 'default' }, spec });
const svc = { service: { name: 's', port: { number: 80 } } };
const path = (p: Record<string, unknown>) => ({ rules: [{ host: 'a.example.com', http: { paths: [{ pathType: 'Prefix', path: '/', backend: svc, ...p }] } }] });

const rows: { name: string; spec: unknown; errors: [string, string | RegExp][] }[] = [
  { name: 'a valid Ingress', spec: path({}), errors: [] },
  { name: 'neither rules nor a default backend', spec: {}, errors: [['spec', 'either `defaultBackend` or `rules` must be specified']] },
  { name: 'pathType is required', spec: path({ pathType: undefined }), errors: [['spec.rules[0].http.paths[0].pathType', 'is required']] },
  { name: 'an unknown pathType', spec: path({ pathType: 'Regex' }), errors: [['spec.rules[0].http.paths[0].pathType', 'unsupported value "Regex": supported values: "Exact", "Prefix", "ImplementationSpecific"']] },
  { name: 'a Prefix path must be absolute', spec: path({ path: 'api' }), errors: [['spec.rules[0].http.paths[0].path', 'must be an absolute path, found "api"']] },
  { name: 'an Exact path must not hold //', spec: path({ pathType: 'Exact', path: '/a//b' }), errors: [['spec.rules[0].http.paths[0].path', "must not contain '//'"]] },
  { name: 'a Prefix path must not end in /..', spec: path({ path: '/a/..' }), errors: [['spec.rules[0].http.paths[0].path', "must not contain '/..'"]] },
  { name: 'an ImplementationSpecific path may hold // but must start with /', spec: path({ pathType: 'ImplementationSpecific', path: 'x//' }), errors: [['spec.rules[0].http.paths[0].path', 'must be an absolute path, found "x//"']] },
  { name: 'a backend is required', spec: path({ backend: undefined }), errors: [['spec.rules[0].http.paths[0].backend', 'is required']] },
  { name: 'service and resource backends together', spec: path({ backend: { ...svc, resource: { kind: 'Bucket', name: 'b' } } }), errors: [['spec.rules[0].http.paths[0].backend', 'cannot set both service and resource backends']] },
  { name: 'a backend of neither kind', spec: path({ backend: {} }), errors: [['spec.rules[0].http.paths[0].backend', 'one backend type (service or resource) must be specified']] },
  { name: 'a service port needs a name or a number', spec: path({ backend: { service: { name: 's' } } }), errors: [['spec.rules[0].http.paths[0].backend.service.port', 'port name or number is required']] },
  { name: 'not both a port name and a number', spec: path({ backend: { service: { name: 's', port: { name: 'http', number: 80 } } } }), errors: [['spec.rules[0].http.paths[0].backend.service.port', 'cannot set both port name & port number']] },
  { name: 'a port number out of range', spec: path({ backend: { service: { name: 's', port: { number: 70000 } } } }), errors: [['spec.rules[0].http.paths[0].backend.service.port.number', /65535/]] },
  { name: 'a host must not be an IP address', spec: { rules: [{ host: '10.0.0.1', http: { paths: [{ pathType: 'Prefix', path: '/', backend: svc }] } }] }, errors: [['spec.rules[0].host', 'must be a DNS name, not an IP address: "10.0.0.1"']] },
  { name: 'a host must be a lowercase DNS name', spec: { rules: [{ host: 'A_B.example.com' }] }, errors: [['spec.rules[0].host', 'invalid host "A_B.example.com": a lowercase DNS name, optionally starting with "*."']] },
  { name: 'a wildcard only as the first label', spec: { rules: [{ host: 'a.*.example.com' }] }, errors: [['spec.rules[0].host', /^invalid host "a\.\*\.example\.com"/]] },
  { name: 'tls hosts are checked like rule hosts', spec: { defaultBackend: svc, tls: [{ hosts: ['*.example.com', '::1'], secretName: 'x' }] }, errors: [['spec.tls[0].hosts[1]', 'must be a DNS name, not an IP address: "::1"']] },
  { name: 'rules must be a list', spec: { rules: { host: 'a' } }, errors: [['spec.rules', /must be of type array/]] },
  { name: 'http.paths must not be empty', spec: { rules: [{ host: 'a.example.com', http: { paths: [] } }] }, errors: [['spec.rules[0].http.paths', /at least 1/]] },
];

for (const row of rows) {
  test(`Ingress schema: ${row.name}`, () => {
    const r = validateObject('Ingress', structuredClone(ing(row.spec)) as Record<string, unknown>);
    assert.equal(r.errors.length, row.errors.length, JSON.stringify(r.errors));
    row.errors.forEach(([p, m], i) => {
      assert.equal(r.errors[i]!.path, p);
      if (typeof m === 'string') assert.equal(r.errors[i]!.message, m);
      else assert.match(r.errors[i]!.message, m);
    });
  });
}

test('IngressClass is cluster-scoped: its namespace is "" whatever the manifest says, and messages name it without one', () => {
  const f = loadText('apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: public, namespace: apps}\nspec: {controller: projectcontour.io/ingress-controller}\n---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: bad}\nspec: {controller: 5}\n', 'c.yaml');
  assert.equal(f.entries[0]!.namespace, '');
  assert.equal(f.entries[0]!.object?.metadata.namespace, '');
  assert.match(f.errors[0]!.message, /^IngressClass bad: spec\.controller: must be of type string/);
});

test('Ingresses of removed apiVersions are skipped with a warning, not read', () => {
  const f = loadText('apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec: {backend: {serviceName: s, servicePort: 80}}\n', 'old.yaml');
  assert.deepEqual(f.entries, []);
  assert.match(f.warnings[0]!.message, /skipping Ingress \(extensions\/v1beta1\): isobar does not read this kind/);
});

test('property: mangled Ingresses never make the validator or the loader throw', () => {
  const value = fc.oneof(fc.anything(), fc.constantFrom('', '/', '//', '*', '*.a.com', 'Prefix', 'Exact', 'ImplementationSpecific', 80, -1, 70000, null));
  const spec = fc.record(
    {
      ingressClassName: value,
      defaultBackend: fc.oneof(value, fc.record({ service: fc.oneof(value, fc.record({ name: value, port: fc.oneof(value, fc.record({ name: value, number: value })) })), resource: value })),
      tls: fc.oneof(value, fc.array(fc.record({ hosts: fc.oneof(value, fc.array(value)), secretName: value }))),
      rules: fc.oneof(value, fc.array(fc.record({ host: value, http: fc.oneof(value, fc.record({ paths: fc.oneof(value, fc.array(fc.record({ path: value, pathType: value, backend: value }))) })) }))),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(spec, (s) => {
      const r = validateObject('Ingress', ing(s) as Record<string, unknown>);
      for (const e of r.errors) assert.equal(typeof e.message, 'string');
      loadText(JSON.stringify(ing(s)), 'x.json');
    }),
    { numRuns: 400 },
  );
});
