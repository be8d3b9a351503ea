// The Gateway API kinds require what the upstream CRDs' openAPIV3Schema
// mark required (config/crd/{standard,experimental}/gateway.networking.k8s.io_*.yaml),
// at every level and in every version isobar reads, free-form parts
// included: a manifest without such a field is rejected naming its path, as
// the API server would reject it; the complete manifest loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../src/objects/index.ts';
import type { FieldError } from '../../src/objects/index.ts';

const GW = 'gateway.networking.k8s.io';
const V1 = `${GW}/v1`;
const V1BETA1 = `${GW}/v1beta1`;
const V1ALPHA2 = `${GW}/v1alpha2`;
const V1ALPHA3 = `${GW}/v1alpha3`;

type Obj = Record<string, unknown>;
type Path = readonly (string | number)[];

const caRefs = (name: string) => [{ group: '', kind: 'ConfigMap', name }];
const extensionRef = { group: 'example.com', kind: 'Filter', name: 'f' };

/** A manifest of each kind with every field the rows take away. */
const complete: Record<string, Obj> = {
  GatewayClass: {
    kind: 'GatewayClass',
    metadata: { name: 'isobar' },
    spec: { controllerName: 'example.com/isobar', parametersRef: { group: 'example.com', kind: 'Config', name: 'cfg' } },
  },
  Gateway: {
    kind: 'Gateway',
    metadata: { name: 'gw', namespace: 'infra' },
    spec: {
      gatewayClassName: 'isobar',
      listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } }],
      infrastructure: { parametersRef: { group: '', kind: 'ConfigMap', name: 'params' } },
      allowedListeners: { namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] } } },
      tls: {
        backend: { clientCertificateRef: { name: 'client' } },
        frontend: {
          default: { validation: { caCertificateRefs: caRefs('ca') } },
          perPort: [{ port: 443, tls: { validation: { caCertificateRefs: caRefs('ca-443') } } }],
        },
      },
    },
  },
  HTTPRoute: {
    kind: 'HTTPRoute',
    metadata: { name: 'r', namespace: 'apps' },
    spec: {
      parentRefs: [{ name: 'gw', namespace: 'infra' }],
      rules: [
        {
          filters: [
            { type: 'ExtensionRef', extensionRef },
            { type: 'ExternalAuth', externalAuth: { backendRef: { name: 'auth', port: 9000 }, protocol: 'HTTP', http: { path: '/check' } } },
          ],
          backendRefs: [{ name: 's', port: 80, filters: [{ type: 'ExtensionRef', extensionRef }] }],
          sessionPersistence: { type: 'Header', header: { name: 'X-Session' } },
        },
      ],
    },
  },
  GRPCRoute: {
    kind: 'GRPCRoute',
    metadata: { name: 'g', namespace: 'apps' },
    spec: {
      parentRefs: [{ name: 'gw', namespace: 'infra' }],
      rules: [
        {
          filters: [{ type: 'ExtensionRef', extensionRef }],
          backendRefs: [{ name: 's', port: 50051, filters: [{ type: 'ExtensionRef', extensionRef }] }],
          sessionPersistence: { type: 'Header', header: { name: 'x-session' } },
        },
      ],
    },
  },
  TLSRoute: {
    kind: 'TLSRoute',
    metadata: { name: 't', namespace: 'apps' },
    spec: { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: ['db.example.com'], rules: [{ backendRefs: [{ name: 'db', port: 443 }] }] },
  },
  TCPRoute: {
    kind: 'TCPRoute',
    metadata: { name: 'c', namespace: 'apps' },
    spec: { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'db', port: 5432 }] }] },
  },
};

const VERSIONS: Record<string, readonly string[]> = {
  GatewayClass: [V1, V1BETA1],
  Gateway: [V1, V1BETA1],
  HTTPRoute: [V1, V1BETA1],
  GRPCRoute: [V1],
  TLSRoute: [V1, V1ALPHA3, V1ALPHA2],
  TCPRoute: [V1, V1ALPHA2],
};

function manifest(kind: string, apiVersion: string): Obj {
  return { apiVersion, ...structuredClone(complete[kind]!) };
}

function at(o: unknown, path: Path): Obj {
  let node = o;
  for (const seg of path) node = (node as Record<string | number, unknown>)[seg];
  return node as Obj;
}

function without(o: Obj, path: Path): Obj {
  delete at(o, path.slice(0, -1))[path.at(-1) as string];
  return o;
}

/** Loads one manifest as the loader does: its errors, or [] when it loaded. */
function load(o: Obj): FieldError[] {
  const r = loadText(JSON.stringify(o), 'manifests/m.yaml');
  assert.equal(r.entries.length, 1, `read as an object isobar knows: ${JSON.stringify(r.errors)}`);
  const [entry] = r.entries;
  if (entry!.rejected) return entry!.rejected.errors;
  assert.ok(entry!.object);
  assert.deepEqual(r.errors, []);
  return [];
}

// Kind, path of the field taken away (from the object), the versions where the
// CRD requires it (all that isobar reads when absent).
const required: [kind: string, path: Path, versions?: readonly string[]][] = [
  ['HTTPRoute', ['spec']],
  ['GRPCRoute', ['spec']],
  ['TLSRoute', ['spec']],
  ['TCPRoute', ['spec']],

  ['GatewayClass', ['spec', 'parametersRef', 'group']],
  ['GatewayClass', ['spec', 'parametersRef', 'kind']],
  ['GatewayClass', ['spec', 'parametersRef', 'name']],

  ['Gateway', ['spec', 'infrastructure', 'parametersRef', 'group']],
  ['Gateway', ['spec', 'infrastructure', 'parametersRef', 'kind']],
  ['Gateway', ['spec', 'infrastructure', 'parametersRef', 'name']],
  ['Gateway', ['spec', 'allowedListeners', 'namespaces', 'selector', 'matchExpressions', 0, 'key']],
  ['Gateway', ['spec', 'allowedListeners', 'namespaces', 'selector', 'matchExpressions', 0, 'operator']],
  ['Gateway', ['spec', 'tls', 'backend', 'clientCertificateRef', 'name']],
  ['Gateway', ['spec', 'tls', 'frontend', 'default']],
  ['Gateway', ['spec', 'tls', 'frontend', 'default', 'validation', 'caCertificateRefs']],
  ['Gateway', ['spec', 'tls', 'frontend', 'default', 'validation', 'caCertificateRefs', 0, 'group']],
  ['Gateway', ['spec', 'tls', 'frontend', 'default', 'validation', 'caCertificateRefs', 0, 'kind']],
  ['Gateway', ['spec', 'tls', 'frontend', 'default', 'validation', 'caCertificateRefs', 0, 'name']],
  ['Gateway', ['spec', 'tls', 'frontend', 'perPort', 0, 'port']],
  ['Gateway', ['spec', 'tls', 'frontend', 'perPort', 0, 'tls']],
  ['Gateway', ['spec', 'tls', 'frontend', 'perPort', 0, 'tls', 'validation', 'caCertificateRefs']],
  ['Gateway', ['spec', 'tls', 'frontend', 'perPort', 0, 'tls', 'validation', 'caCertificateRefs', 0, 'group']],
  ['Gateway', ['spec', 'tls', 'frontend', 'perPort', 0, 'tls', 'validation', 'caCertificateRefs', 0, 'kind']],
  ['Gateway', ['spec', 'tls', 'frontend', 'perPort', 0, 'tls', 'validation', 'caCertificateRefs', 0, 'name']],

  ['HTTPRoute', ['spec', 'rules', 0, 'filters', 0, 'extensionRef', 'group']],
  ['HTTPRoute', ['spec', 'rules', 0, 'filters', 0, 'extensionRef', 'kind']],
  ['HTTPRoute', ['spec', 'rules', 0, 'filters', 0, 'extensionRef', 'name']],
  ['HTTPRoute', ['spec', 'rules', 0, 'backendRefs', 0, 'filters', 0, 'extensionRef', 'group']],
  ['HTTPRoute', ['spec', 'rules', 0, 'backendRefs', 0, 'filters', 0, 'extensionRef', 'kind']],
  ['HTTPRoute', ['spec', 'rules', 0, 'backendRefs', 0, 'filters', 0, 'extensionRef', 'name']],
  ['HTTPRoute', ['spec', 'rules', 0, 'filters', 1, 'externalAuth', 'backendRef']],
  ['HTTPRoute', ['spec', 'rules', 0, 'filters', 1, 'externalAuth', 'backendRef', 'name']],
  ['HTTPRoute', ['spec', 'rules', 0, 'filters', 1, 'externalAuth', 'protocol']],
  ['HTTPRoute', ['spec', 'rules', 0, 'sessionPersistence', 'header', 'name']],

  ['GRPCRoute', ['spec', 'rules', 0, 'filters', 0, 'extensionRef', 'group']],
  ['GRPCRoute', ['spec', 'rules', 0, 'filters', 0, 'extensionRef', 'kind']],
  ['GRPCRoute', ['spec', 'rules', 0, 'filters', 0, 'extensionRef', 'name']],
  ['GRPCRoute', ['spec', 'rules', 0, 'backendRefs', 0, 'filters', 0, 'extensionRef', 'name']],
  ['GRPCRoute', ['spec', 'rules', 0, 'sessionPersistence', 'header', 'name']],

  ['TLSRoute', ['spec', 'rules']],
  ['TLSRoute', ['spec', 'rules', 0, 'backendRefs']],
  // v1's hostnames are not required: see tlsRouteSchema.
  ['TLSRoute', ['spec', 'hostnames'], []],
  ['TCPRoute', ['spec', 'rules']],
  ['TCPRoute', ['spec', 'rules', 0, 'backendRefs']],
];

/** ['spec', 'rules', 0, 'backendRefs'] -> "spec.rules[0].backendRefs" */
const pathText = (p: Path) => p.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('').slice(1);

for (const kind of Object.keys(complete)) {
  for (const apiVersion of VERSIONS[kind]!) {
    test(`${kind} ${apiVersion}: the complete manifest loads`, () => {
      assert.deepEqual(load(manifest(kind, apiVersion)), []);
    });
  }
}

for (const [kind, path, versions] of required) {
  const field = pathText(path);
  for (const apiVersion of VERSIONS[kind]!) {
    const isRequired = versions === undefined || versions.includes(apiVersion);
    test(`${kind} ${apiVersion}: ${field} ${isRequired ? 'is required' : 'may be left out'}`, () => {
      const errors = load(without(manifest(kind, apiVersion), path));
      if (isRequired) assert.ok(errors.some((e) => e.path === field && e.message === 'is required'), `expected "${field}: is required" in ${JSON.stringify(errors)}`);
      else assert.deepEqual(errors, []);
    });
  }
}

// Bounds of the CRDs on required paths: [name, kind, apiVersion, change, the error, or none].
const bounds: [string, string, string, (o: Obj) => void, FieldError | null][] = [
  // An object stored through v1alpha2 comes back at v1 without v1's limits: they are left to the dag.
  ['no hostname in v1', 'TLSRoute', V1, (o) => (at(o, ['spec'])['hostnames'] = []), null],
  ['no hostname in v1alpha2', 'TLSRoute', V1ALPHA2, (o) => (at(o, ['spec'])['hostnames'] = []), null],
  ['two rules in v1', 'TLSRoute', V1, (o) => (at(o, ['spec'])['rules'] = [{ backendRefs: [{ name: 'a', port: 443 }] }, { backendRefs: [{ name: 'b', port: 443 }] }]), null],
  ['two rules in v1', 'TCPRoute', V1, (o) => (at(o, ['spec'])['rules'] = [{ backendRefs: [{ name: 'a', port: 1 }] }, { backendRefs: [{ name: 'b', port: 2 }] }]), null],
  ['more than 16 hostnames (the CRD allows 1024)', 'TLSRoute', V1, (o) => (at(o, ['spec'])['hostnames'] = Array.from({ length: 40 }, (_, i) => `h${i}.example.com`)), null],
  ['1025 hostnames', 'TLSRoute', V1, (o) => (at(o, ['spec'])['hostnames'] = Array.from({ length: 1025 }, (_, i) => `h${i}.example.com`)), { path: 'spec.hostnames', message: 'must have at most 1024 items' }],
  ['no rule', 'TLSRoute', V1ALPHA2, (o) => (at(o, ['spec'])['rules'] = []), { path: 'spec.rules', message: 'must have at least 1 item(s)' }],
  ['two rules in v1alpha2', 'TLSRoute', V1ALPHA2, (o) => (at(o, ['spec'])['rules'] = [{ backendRefs: [{ name: 'a', port: 443 }] }, { backendRefs: [{ name: 'b', port: 443 }] }]), null],
  ['a rule without backends', 'TLSRoute', V1, (o) => (at(o, ['spec', 'rules', 0])['backendRefs'] = []), { path: 'spec.rules[0].backendRefs', message: 'must have at least 1 item(s)' }],
  ['no rule', 'TCPRoute', V1, (o) => (at(o, ['spec'])['rules'] = []), { path: 'spec.rules', message: 'must have at least 1 item(s)' }],
  ['two rules in v1alpha2', 'TCPRoute', V1ALPHA2, (o) => (at(o, ['spec'])['rules'] = [{ backendRefs: [{ name: 'a', port: 1 }] }, { backendRefs: [{ name: 'b', port: 2 }] }]), null],
  ['a rule without backends', 'TCPRoute', V1ALPHA2, (o) => (at(o, ['spec', 'rules', 0])['backendRefs'] = []), { path: 'spec.rules[0].backendRefs', message: 'must have at least 1 item(s)' }],
  [
    'a filter type the CRD does not have',
    'HTTPRoute',
    V1,
    (o) => (at(o, ['spec', 'rules', 0, 'filters', 0])['type'] = 'Bogus'),
    { path: 'spec.rules[0].filters[0].type', message: 'unsupported value "Bogus": supported values: "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef", "CORS", "ExternalAuth"' },
  ],
  [
    'an HTTPRoute filter type on a GRPCRoute',
    'GRPCRoute',
    V1,
    (o) => (at(o, ['spec', 'rules', 0, 'backendRefs', 0, 'filters', 0])['type'] = 'URLRewrite'),
    { path: 'spec.rules[0].backendRefs[0].filters[0].type', message: 'unsupported value "URLRewrite": supported values: "ResponseHeaderModifier", "RequestHeaderModifier", "RequestMirror", "ExtensionRef"' },
  ],
  [
    'an externalAuth protocol the CRD does not have',
    'HTTPRoute',
    V1,
    (o) => (at(o, ['spec', 'rules', 0, 'filters', 1, 'externalAuth'])['protocol'] = 'SOAP'),
    { path: 'spec.rules[0].filters[1].externalAuth.protocol', message: 'unsupported value "SOAP": supported values: "HTTP", "GRPC"' },
  ],
];

for (const [name, kind, apiVersion, change, error] of bounds) {
  test(`${kind} ${apiVersion}: ${name} ${error ? 'is rejected' : 'loads'}`, () => {
    const o = manifest(kind, apiVersion);
    change(o);
    const errors = load(o);
    if (error) assert.ok(errors.some((e) => e.path === error.path && e.message === error.message), `expected ${JSON.stringify(error)} in ${JSON.stringify(errors)}`);
    else assert.deepEqual(errors, []);
  });
}

test('the free-form parts stay free-form: fields isobar does not check are kept, not pruned', () => {
  const o = manifest('Gateway', V1);
  const tls = at(o, ['spec', 'tls']);
  tls['options'] = { x: 1 };
  at(o, ['spec', 'tls', 'frontend', 'default', 'validation'])['mode'] = 'AllowInsecureFallback';
  at(o, ['spec', 'infrastructure', 'parametersRef'])['extra'] = 'kept';
  const r = loadText(JSON.stringify(o), 'manifests/gw.yaml');
  assert.deepEqual(r.warnings, []);
  const spec = (r.entries[0]!.object as unknown as { spec: Obj }).spec;
  assert.deepEqual(at(spec, ['tls', 'options']), { x: 1 });
  assert.equal(at(spec, ['tls', 'frontend', 'default', 'validation'])['mode'], 'AllowInsecureFallback');
  assert.equal(at(spec, ['infrastructure', 'parametersRef'])['extra'], 'kept');
});
