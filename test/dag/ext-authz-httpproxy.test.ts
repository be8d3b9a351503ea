// External authorization through build(): HTTPProxy statuses, what lands in
// ProxyConfig (virtual hosts, routes, extension clusters, CA bundles),
// globalExtAuth, ExtensionService statuses and incremental rebuilds.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { build, DagBuilder, type DagResult } from '../../src/dag/index.ts';
import { validateObject, type AnyObject, type ExtensionService, type RejectedObject } from '../../src/objects/index.ts';
import {
  assertStatuses,
  caSecret,
  config,
  endpoints,
  invalidSame,
  proxy,
  service,
  snapshot,
  tlsSecret,
  vhost,
  VALID,
  type Err,
  type Expect,
} from './fixtures.ts';

const ca = await createCa('edge CA');
const pair = await ca.issue({ dnsNames: ['app.example.com'] });

function ext(name: string, spec: ExtensionService['spec'], namespace = 'auth'): ExtensionService {
  return { apiVersion: 'projectcontour.io/v1alpha1', kind: 'ExtensionService', metadata: { name, namespace }, spec };
}

const AUTHZ = ext('authz', { protocol: 'h2c', services: [{ name: 'authz', port: 9000 }] });
const BASE: AnyObject[] = [
  service('authz', [{ port: 9000 }], { namespace: 'auth' }),
  endpoints('authz', ['10.9.0.1'], 9000, 'auth'),
  service('app'),
  endpoints('app', ['10.0.0.1'], 8080),
  tlsSecret('app-tls', pair),
  caSecret('authz-ca', ca.certPem, 'auth'),
];

function run(objects: (AnyObject | RejectedObject)[], cfg = config()): DagResult {
  const snap = snapshot(objects);
  snap.extensionServices = objects.filter((o): o is ExtensionService => 'kind' in o && o.kind === 'ExtensionService' && 'apiVersion' in o);
  return build(snap, cfg);
}

const TLS = { secretName: 'app-tls' };
const ROUTES = [{ conditions: [{ prefix: '/' }], services: [{ name: 'app', port: 80 }] }];

function root(virtualhost: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return proxy('app', { virtualhost: { fqdn: 'app.example.com', ...virtualhost }, routes: ROUTES, ...extra } as never);
}

interface Row {
  name: string;
  objects: (AnyObject | RejectedObject)[];
  cfg?: ReturnType<typeof config>;
  expect: Expect;
  check?: (r: DagResult) => void;
}

const authErr = (reason: string, message: string): Err => ['AuthError', reason, message];

const ROWS: Row[] = [
  {
    name: 'a TLS virtual host with authorization: both listeners checked, routes carry the vhost context',
    objects: [...BASE, AUTHZ, root({ tls: TLS, authorization: { extensionRef: { name: 'authz', namespace: 'auth' }, responseTimeout: '1s', authPolicy: { context: { realm: 'staff' } } } })],
    expect: VALID,
    check: (r) => {
      const want = { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 1000, failOpen: false };
      assert.deepEqual(vhost(r, 'app.example.com', true)?.authorization, want);
      assert.deepEqual(vhost(r, 'app.example.com')?.authorization, want);
      assert.deepEqual(vhost(r, 'app.example.com', true)?.routes[0]?.authorization, { disabled: false, context: { realm: 'staff' } });
      assert.deepEqual(r.proxyConfig.extensionClusters?.map((c) => c.name), ['extension/auth/authz']);
      assert.deepEqual(r.extensionServices.map((s) => [s.name, s.conditions[0]!.status]), [['authz', 'True']]);
    },
  },
  {
    name: 'authorization without TLS',
    objects: [...BASE, AUTHZ, root({ authorization: { extensionRef: { name: 'authz', namespace: 'auth' } } })],
    expect: invalidSame(authErr('AuthNotPermitted', 'Spec.VirtualHost.Authorization.ExtensionServiceRef can only be defined for root HTTPProxies that terminate TLS')),
  },
  {
    name: 'an ExtensionService that does not exist',
    objects: [...BASE, root({ tls: TLS, authorization: { extensionRef: { name: 'authz' } } })],
    expect: invalidSame(authErr('ExtensionServiceNotFound', 'Spec.Virtualhost.Authorization.ServiceRef extension service "default/authz" not found')),
    check: (r) => assert.equal(vhost(r, 'app.example.com', true), undefined, 'nothing served'),
  },
  {
    name: 'an invalid ExtensionService is not found either',
    objects: [...BASE, ext('authz', { protocol: 'h2c', services: [{ name: 'gone', port: 1 }] }), root({ tls: TLS, authorization: { extensionRef: { name: 'authz', namespace: 'auth' } } })],
    expect: invalidSame(authErr('ExtensionServiceNotFound', 'Spec.Virtualhost.Authorization.ServiceRef extension service "auth/authz" not found')),
    check: (r) => {
      assert.equal(r.proxyConfig.extensionClusters, undefined);
      assert.equal(r.extensionServices[0]!.conditions[0]!.errors![0]!.reason, 'ServiceUnresolvedReference');
    },
  },
  {
    name: 'an HTTP authorization server is refused, never served unprotected',
    objects: [...BASE, AUTHZ, root({ tls: TLS, authorization: { extensionRef: { name: 'authz', namespace: 'auth' }, serviceType: 'http' } })],
    expect: invalidSame(
      authErr('AuthServiceTypeNotSupported', 'Spec.Virtualhost.Authorization.ServiceType "http" is not supported by isobar: only gRPC authorization servers (serviceType: grpc) are'),
    ),
  },
  {
    name: 'authorization on TLS passthrough cannot be enforced',
    objects: [
      ...BASE,
      AUTHZ,
      proxy('app', { virtualhost: { fqdn: 'app.example.com', tls: { passthrough: true }, authorization: { extensionRef: { name: 'authz', namespace: 'auth' } } }, tcpproxy: { services: [{ name: 'app', port: 80 }] } } as never),
    ],
    expect: invalidSame(authErr('AuthNotSupported', 'Spec.VirtualHost.Authorization cannot be enforced on a TLS passthrough virtual host: isobar does not see its requests')),
  },
  {
    name: 'authorization and the fallback certificate are incompatible (Contour)',
    objects: [...BASE, AUTHZ, root({ tls: { ...TLS, enableFallbackCertificate: true }, authorization: { extensionRef: { name: 'authz', namespace: 'auth' } } })],
    cfg: config((c) => (c.tls.fallbackCertificate = { namespace: 'default', name: 'app-tls' })),
    expect: invalidSame(['TLSError', 'TLSIncompatibleFeatures', 'Spec.Virtualhost.TLS fallback & client authorization are incompatible']),
  },
  {
    name: 'route policies: disabled, and context over the vhost context',
    objects: [
      ...BASE,
      AUTHZ,
      proxy('app', {
        virtualhost: { fqdn: 'app.example.com', tls: TLS, authorization: { extensionRef: { name: 'authz', namespace: 'auth' }, authPolicy: { context: { a: '1', b: '2' } } } },
        routes: [
          { conditions: [{ prefix: '/public' }], services: [{ name: 'app', port: 80 }], authPolicy: { disabled: true } },
          { conditions: [{ prefix: '/' }], services: [{ name: 'app', port: 80 }], authPolicy: { context: { b: 'route' } } },
        ],
      }),
    ],
    expect: VALID,
    check: (r) => {
      const routes = vhost(r, 'app.example.com', true)!.routes;
      const byPath = Object.fromEntries(routes.map((x) => [x.path.value, x.authorization]));
      assert.deepEqual(byPath, { '/public': { disabled: true, context: { a: '1', b: '2' } }, '/': { disabled: false, context: { a: '1', b: 'route' } } });
    },
  },
  {
    name: 'globalExtAuth: every virtual host, TLS or not, is checked with the global context',
    objects: [...BASE, AUTHZ, root({})],
    cfg: config((c) => (c.globalExtAuth = { extensionService: 'auth/authz', failOpen: true, authPolicy: { context: { g: '1' } } })),
    expect: VALID,
    check: (r) => {
      assert.deepEqual(vhost(r, 'app.example.com')?.authorization, { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 200, failOpen: true });
      assert.deepEqual(vhost(r, 'app.example.com')?.routes[0]?.authorization, { disabled: false, context: { g: '1' } });
    },
  },
  {
    name: 'globalExtAuth naming a missing ExtensionService: nothing is served',
    objects: [...BASE, root({ tls: TLS })],
    cfg: config((c) => (c.globalExtAuth = { extensionService: 'auth/missing' })),
    expect: invalidSame(authErr('ExtensionServiceNotFound', 'Spec.Virtualhost.Authorization.ServiceRef extension service "auth/missing" not found')),
  },
  {
    name: 'a virtual host opting out of globalExtAuth',
    objects: [...BASE, AUTHZ, root({ authorization: { authPolicy: { disabled: true } } })],
    cfg: config((c) => (c.globalExtAuth = { extensionService: 'auth/authz' })),
    expect: VALID,
    check: (r) => assert.deepEqual(vhost(r, 'app.example.com')?.routes[0]?.authorization, { disabled: true, context: {} }),
  },
  {
    name: 'a TLS ExtensionService adds its CA bundle to the config',
    objects: [...BASE, ext('authz', { services: [{ name: 'authz', port: 9000 }], validation: { caSecret: 'authz-ca', subjectName: 'authz.auth.svc' } }), root({ tls: TLS, authorization: { extensionRef: { name: 'authz', namespace: 'auth' } } })],
    expect: VALID,
    check: (r) => {
      assert.ok(r.proxyConfig.caBundles.some((b) => b.id === 'auth/authz-ca'));
      assert.equal(r.proxyConfig.extensionClusters?.[0]?.tls?.sni, 'authz.auth.svc');
    },
  },
];

for (const row of ROWS) {
  test(`HTTPProxy authorization: ${row.name}`, () => {
    const r = run(row.objects, row.cfg);
    assertStatuses(r, { app: row.expect });
    row.check?.(r);
  });
}

test('an ExtensionService the schema rejects has an invalid status naming the field', () => {
  const bad = validateObject('ExtensionService', { apiVersion: 'projectcontour.io/v1alpha1', kind: 'ExtensionService', metadata: { name: 'x', namespace: 'auth' }, spec: { services: [], protocol: 'tcp' } });
  assert.deepEqual(bad.errors.map((e) => e.path).sort(), ['spec.protocol', 'spec.services']);
  const rejected: RejectedObject = { kind: 'ExtensionService', namespace: 'auth', name: 'x', source: { file: 'x.yaml', line: 1 }, errors: bad.errors };
  const r = run([rejected]);
  assert.deepEqual(r.extensionServices.map((s) => [s.name, s.conditions[0]!.status, s.conditions[0]!.errors!.map((e) => e.reason)]), [['x', 'False', ['SchemaInvalid', 'SchemaInvalid']]]);
  const http = validateObject('HTTPProxy', {
    apiVersion: 'projectcontour.io/v1',
    kind: 'HTTPProxy',
    metadata: { name: 'p', namespace: 'default' },
    spec: { virtualhost: { fqdn: 'a.example.com', authorization: { extensionRef: { name: 'authz' }, httpSettings: {}, withRequestBody: { maxRequestBytes: 0 } } } },
  });
  assert.deepEqual(http.errors.map((e) => e.message), ['must be >= 1', "httpSettings can only be set when serviceType is 'http'"]);
});

test('an ExtensionService appearing later brings back the HTTPProxy that names it (incremental builds)', () => {
  const dag = new DagBuilder();
  const cfg = config();
  const p = root({ tls: TLS, authorization: { extensionRef: { name: 'authz', namespace: 'auth' } } });
  const snap = snapshot([...BASE, p]);
  snap.extensionServices = [];
  assert.equal(dag.build(snap, cfg).statuses[0]!.currentStatus, 'invalid');
  const withExt = snapshot([...BASE, p]);
  withExt.extensionServices = [AUTHZ];
  const r = dag.build(withExt, cfg);
  assert.equal(r.statuses[0]!.currentStatus, 'valid');
  assert.equal(vhost(r, 'app.example.com', true)?.authorization?.extensionCluster, 'extension/auth/authz');
  // Its Service losing its endpoints changes the cluster, not the HTTPProxy's validity.
  const noEndpoints = snapshot([...BASE.filter((o) => !(o.kind === 'Endpoints' && o.metadata.name === 'authz')), p]);
  noEndpoints.extensionServices = [AUTHZ];
  const r2 = dag.build(noEndpoints, cfg);
  assert.deepEqual(r2.proxyConfig.extensionClusters?.[0]?.services[0]?.endpoints, []);
  // And going away makes it invalid again.
  const gone = snapshot([...BASE, p]);
  gone.extensionServices = [];
  assert.equal(dag.build(gone, cfg).statuses[0]!.currentStatus, 'invalid');
});
