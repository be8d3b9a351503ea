// ExtensionService status and cluster (Contour's extension_processor.go),
// and the authorization settings of virtual hosts and routes
// (httpproxy_processor.go), one row per rule, with Contour's wording.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { CacheView } from '../../src/dag/cache-view.ts';
import { processExtensionServices, type ExtensionCluster, type ExtensionResult } from '../../src/dag/extension-processor.ts';
import {
  computeAuthorization,
  globalAuthorization,
  insecureVirtualHostAuthorization,
  readAuthorization,
  readAuthPolicy,
  routeAuthorization,
  secureVirtualHostAuthorization,
  unenforceableAuthorization,
  type ExternalAuthorization,
} from '../../src/dag/authorization.ts';
import { Condition } from '../../src/dag/status.ts';
import type { AnyObject } from '../../src/objects/types.ts';
import { caSecret, config, delegation, endpoints, secret, service, snapshot, tlsSecret, type Err } from './fixtures.ts';

const ca = await createCa('authz CA');
const envoyClient = await ca.issue({ commonName: 'envoy', client: true });

function ext(name: string, spec: Record<string, unknown>, namespace = 'auth', generation = 3): Record<string, unknown> {
  return { apiVersion: 'projectcontour.io/v1alpha1', kind: 'ExtensionService', metadata: { name, namespace, generation }, spec };
}

const AUTH_OBJECTS: AnyObject[] = [
  service('authz', [{ port: 9443 }], { namespace: 'auth' }),
  endpoints('authz', ['10.1.0.5', '10.1.0.4'], 9000, 'auth'),
  service('authz-b', [{ port: 9443 }], { namespace: 'auth' }),
  endpoints('authz-b', ['10.1.0.9'], 9000, 'auth'),
  caSecret('authz-ca', ca.certPem, 'auth'),
  caSecret('shared-ca', ca.certPem, 'certs'),
  secret('not-a-ca', { 'tls.crt': 'x' }, 'Opaque', 'auth'),
  service('external', [{ port: 443 }], { namespace: 'auth', type: 'ExternalName', externalName: 'auth.example.com' }),
  tlsSecret('envoy-client', envoyClient, 'projectcontour'),
];

const VALIDATION = { caSecret: 'authz-ca', subjectName: 'authz.auth.svc' };

function run(exts: unknown[], objects: AnyObject[] = AUTH_OBJECTS, cfg = config()): ExtensionResult[] {
  return processExtensionServices(exts, new CacheView(snapshot(objects)), cfg).results;
}

interface ExtExpect {
  valid: boolean;
  errors?: Err[];
  warnings?: Err[];
}

function assertStatus(r: ExtensionResult, e: ExtExpect): void {
  const c = r.status.conditions;
  assert.equal(c.length, 1);
  assert.deepEqual(
    { ...c[0]!, errors: c[0]!.errors!.map((x) => [x.type, x.reason, x.message]), warnings: c[0]!.warnings!.map((x) => [x.type, x.reason, x.message]) },
    {
      type: 'Valid',
      status: e.valid ? 'True' : 'False',
      observedGeneration: 3,
      reason: e.valid ? 'Valid' : 'ErrorPresent',
      message: e.valid ? 'Valid ExtensionService' : 'At least one error present, see Errors for details',
      errors: e.errors ?? [],
      warnings: e.warnings ?? [],
    },
  );
  assert.equal(r.cluster === null, !e.valid, 'a cluster exactly when valid');
}

interface ExtRow {
  name: string;
  spec: Record<string, unknown>;
  objects?: AnyObject[];
  cfg?: ReturnType<typeof config>;
  expect: ExtExpect;
  check?: (c: ExtensionCluster, r: ExtensionResult) => void;
}

const TIMEOUT_ERR = 'spec.timeoutPolicy failed to parse: error parsing response timeout: unable to parse timeout string "soon": time: invalid duration "soon"';

const EXT_ROWS: ExtRow[] = [
  {
    name: 'h2 with validation: TLS with SNI from the subject name, CA bundle, endpoints per service',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: VALIDATION },
    expect: { valid: true },
    check: (c, r) => {
      assert.deepEqual(c, {
        name: 'extension/auth/authz',
        namespace: 'auth',
        extensionService: 'authz',
        protocol: 'h2',
        services: [{ service: 'authz', port: 9443, weight: 0, endpoints: [{ address: '10.1.0.4', port: 9000 }, { address: '10.1.0.5', port: 9000 }] }],
        tls: { minVersion: '1.2', maxVersion: '1.3', sni: 'authz.auth.svc', validation: { caBundleId: 'auth/authz-ca', subjectNames: ['authz.auth.svc'] } },
        loadBalancer: 'RoundRobin',
        connectTimeoutMs: 2000,
        idleConnectionTimeoutMs: 3_600_000,
      });
      assert.deepEqual(r.caBundles, [{ id: 'auth/authz-ca', caPem: ca.certPem }]);
    },
  },
  {
    name: 'h2c, weights, load balancer strategy and response timeout',
    spec: {
      protocol: 'h2c',
      services: [{ name: 'authz', port: 9443, weight: 90 }, { name: 'authz-b', port: 9443, weight: 10 }],
      loadBalancerPolicy: { strategy: 'Random' },
      timeoutPolicy: { response: '750ms', idleConnection: '30s' },
    },
    expect: { valid: true },
    check: (c) => {
      assert.equal(c.protocol, 'h2c');
      assert.equal(c.tls, undefined);
      assert.deepEqual(c.services.map((s) => [s.service, s.weight, s.endpoints.length]), [['authz', 90, 2], ['authz-b', 10, 1]]);
      assert.equal(c.loadBalancer, 'Random');
      assert.equal(c.responseTimeoutMs, 750);
      assert.equal(c.idleConnectionTimeoutMs, 30_000);
    },
  },
  {
    name: 'response timeout infinity',
    spec: { protocol: 'h2c', services: [{ name: 'authz', port: 9443 }], timeoutPolicy: { response: 'infinity' } },
    expect: { valid: true },
    check: (c) => assert.equal(c.responseTimeoutMs, null),
  },
  {
    name: 'h2 without validation encrypts without verifying',
    spec: { services: [{ name: 'authz', port: 9443 }] },
    expect: { valid: true },
    check: (c) => assert.deepEqual(c.tls, { minVersion: '1.2', maxVersion: '1.3' }),
  },
  {
    name: 'the Envoy client certificate is presented to the extension',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: VALIDATION },
    cfg: config((c) => (c.tls.envoyClientCertificate = { namespace: 'projectcontour', name: 'envoy-client' })),
    expect: { valid: true },
    check: (c, r) => {
      assert.equal(c.tls?.clientCertificateId, 'projectcontour/envoy-client');
      assert.deepEqual(r.secrets.map((s) => s.id), ['projectcontour/envoy-client']);
    },
  },
  {
    name: 'a missing Envoy client certificate',
    spec: { services: [{ name: 'authz', port: 9443 }] },
    cfg: config((c) => (c.tls.envoyClientCertificate = { namespace: 'projectcontour', name: 'missing' })),
    expect: { valid: false, errors: [['TLSError', 'SecretNotValid', 'tls.envoy-client-certificate Secret "projectcontour/missing" is invalid: Secret not found']] },
  },
  {
    name: 'a CA in another namespace with a delegation',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: { caSecret: 'certs/shared-ca', subjectName: 'authz.auth.svc' } },
    objects: [...AUTH_OBJECTS, delegation('d', 'certs', [{ secretName: 'shared-ca', targetNamespaces: ['auth'] }])],
    expect: { valid: true },
    check: (c) => assert.equal(c.tls?.validation?.caBundleId, 'certs/shared-ca'),
  },
  {
    name: 'a CA in another namespace without a delegation',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: { caSecret: 'certs/shared-ca', subjectName: 'authz.auth.svc' } },
    expect: { valid: false, errors: [['TLSError', 'CACertificateNotDelegated', 'service.UpstreamValidation.CACertificate Secret "certs/shared-ca" is not configured for certificate delegation']] },
  },
  {
    name: 'the validation CA secret is missing',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: { caSecret: 'nope', subjectName: 'authz.auth.svc' } },
    expect: { valid: false, errors: [['SpecError', 'TLSUpstreamValidation', 'TLS upstream validation policy error: invalid CA Secret "auth/nope": Secret not found']] },
  },
  {
    name: 'the validation CA secret has no ca.crt',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: { caSecret: 'not-a-ca', subjectName: 'authz.auth.svc' } },
    expect: { valid: false, errors: [['SpecError', 'TLSUpstreamValidation', 'TLS upstream validation policy error: invalid CA Secret "auth/not-a-ca": empty "ca.crt" key']] },
  },
  {
    name: 'validation without a subject name',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: { caSecret: 'authz-ca' } },
    expect: { valid: false, errors: [['SpecError', 'TLSUpstreamValidation', 'TLS upstream validation policy error: missing subject alternative name']] },
  },
  {
    name: 'subjectNames must start with subjectName',
    spec: { services: [{ name: 'authz', port: 9443 }], validation: { caSecret: 'authz-ca', subjectName: 'a.svc', subjectNames: ['b.svc', 'a.svc'] } },
    expect: { valid: false, errors: [['SpecError', 'TLSUpstreamValidation', 'TLS upstream validation policy error: first entry of SubjectNames (b.svc) does not match SubjectName (a.svc)']] },
  },
  {
    name: 'validation with h2c',
    spec: { protocol: 'h2c', services: [{ name: 'authz', port: 9443 }], validation: VALIDATION },
    expect: { valid: false, errors: [['SpecError', 'InconsistentProtocol', 'upstream TLS validation not supported for "h2c" protocol']] },
  },
  {
    name: 'protocol http/1.1 cannot carry gRPC',
    spec: { protocol: 'http/1.1', services: [{ name: 'authz', port: 9443 }] },
    expect: { valid: false, errors: [['SpecError', 'UnsupportedProtocol', 'Spec.Protocol "http/1.1" is not supported: the authorization API is gRPC, use h2 or h2c']] },
  },
  {
    name: 'protocolVersion v2',
    spec: { protocol: 'h2c', protocolVersion: 'v2', services: [{ name: 'authz', port: 9443 }] },
    expect: { valid: false, errors: [['SpecError', 'UnsupportedProtocolVersion', 'Spec.ProtocolVersion "v2" is not supported: the only version is "v3"']] },
  },
  {
    name: 'a missing service',
    spec: { protocol: 'h2c', services: [{ name: 'gone', port: 9443 }, { name: 'authz', port: 9443 }] },
    expect: { valid: false, errors: [['ServiceError', 'ServiceUnresolvedReference', 'unresolved service "auth/gone": service "auth/gone" not found']] },
  },
  {
    name: 'a port the service does not have',
    spec: { protocol: 'h2c', services: [{ name: 'authz', port: 1234 }] },
    expect: { valid: false, errors: [['ServiceError', 'ServiceUnresolvedReference', 'unresolved service "auth/authz": port "1234" on service "auth/authz" not matched']] },
  },
  {
    name: 'a service in another namespace is never reached (only the ExtensionService namespace counts)',
    spec: { protocol: 'h2c', services: [{ name: 's', port: 80 }] },
    objects: [...AUTH_OBJECTS, service('s')],
    expect: { valid: false, errors: [['ServiceError', 'ServiceUnresolvedReference', 'unresolved service "auth/s": service "auth/s" not found']] },
  },
  {
    name: 'an ExternalName service',
    spec: { protocol: 'h2c', services: [{ name: 'external', port: 443 }] },
    expect: { valid: false, errors: [['ServiceError', 'UnsupportedServiceType', 'Service "auth/external" is of unsupported type "ExternalName".']] },
  },
  {
    name: 'an ExternalName service while ExternalName services are enabled',
    spec: { protocol: 'h2c', services: [{ name: 'external', port: 443 }] },
    cfg: config((c) => (c.enableExternalNameService = true)),
    expect: { valid: false, errors: [['ServiceError', 'UnsupportedServiceType', 'Service "auth/external" is of unsupported type "ExternalName".']] },
  },
  {
    name: 'no services at all',
    spec: { protocol: 'h2c', services: [] },
    expect: { valid: false, errors: [['ServiceError', 'ServicesNotSpecified', 'Spec.Services must name at least one Service']] },
  },
  {
    name: 'a bad response timeout (processing goes on, as in Contour)',
    spec: { protocol: 'h2c', services: [{ name: 'gone', port: 1 }], timeoutPolicy: { response: 'soon' } },
    expect: {
      valid: false,
      errors: [
        ['SpecError', 'TimeoutPolicyNotValid', TIMEOUT_ERR],
        ['ServiceError', 'ServiceUnresolvedReference', 'unresolved service "auth/gone": service "auth/gone" not found'],
      ],
    },
  },
  {
    name: 'a bad idle connection timeout',
    spec: { protocol: 'h2c', services: [{ name: 'authz', port: 9443 }], timeoutPolicy: { idleConnection: '1 h' } },
    expect: {
      valid: false,
      errors: [['SpecError', 'TimeoutPolicyNotValid', 'spec.timeoutPolicy failed to parse: error parsing idle connection timeout: unable to parse timeout string "1 h": time: unknown unit " h" in duration "1 h"']],
    },
  },
  {
    name: 'Cookie and RequestHash load balancing are ignored with a warning',
    spec: { protocol: 'h2c', services: [{ name: 'authz', port: 9443 }], loadBalancerPolicy: { strategy: 'Cookie' } },
    expect: {
      valid: true,
      warnings: [['SpecError', 'IgnoredField', 'ignoring field ".Spec.LoadBalancerPolicy"; Cookie load balancer policy is not supported for ExtensionClusters']],
    },
    check: (c) => assert.equal(c.loadBalancer, 'RoundRobin'),
  },
  {
    name: 'an idle timeout is ignored with a warning',
    spec: { protocol: 'h2c', services: [{ name: 'authz', port: 9443 }], timeoutPolicy: { idle: '10s' } },
    expect: { valid: true, warnings: [['SpecError', 'IgnoredField', 'ignoring field ".Spec.TimeoutPolicy.Idle"; idle timeouts are not supported for ExtensionClusters']] },
  },
  {
    name: 'a circuit breaker budget is not enforced yet: invalid, never ignored',
    spec: { protocol: 'h2c', services: [{ name: 'authz', port: 9443 }], circuitBreakerPolicy: { maxConnections: 10 } },
    expect: { valid: false, errors: [['SpecError', 'NotSupported', 'Spec.CircuitBreakerPolicy is not supported by isobar; this ExtensionService is not served, rather than served without it']] },
  },
  {
    name: 'upstream-tls.require-validation refuses h2 without validation',
    spec: { services: [{ name: 'authz', port: 9443 }] },
    cfg: config((c) => (c.upstreamTls.requireValidation = true)),
    expect: {
      valid: false,
      errors: [['SpecError', 'UpstreamValidationRequired', 'Spec.Protocol h2 without Spec.Validation, which upstream-tls.require-validation forbids: add validation.caSecret and validation.subjectName']],
    },
  },
];

for (const row of EXT_ROWS) {
  test(`ExtensionService: ${row.name}`, () => {
    const [r] = run([ext('authz', row.spec)], row.objects, row.cfg);
    assert.ok(r);
    assertStatus(r, row.expect);
    if (row.check) row.check(r.cluster!, r);
  });
}

test('ExtensionServices are reported in namespace/name order, one per identity; only valid ones have a cluster', () => {
  const good = { protocol: 'h2c', services: [{ name: 'authz', port: 9443 }] };
  const results = processExtensionServices(
    [ext('zeta', good), ext('alpha', { protocol: 'h2c', services: [] }), ext('zeta', { protocol: 'h2c', services: [] }), ext('mid', good, 'a-ns'), { kind: 'ExtensionService' }],
    new CacheView(snapshot(AUTH_OBJECTS)),
    config(),
  );
  assert.deepEqual(results.results.map((r) => `${r.namespace}/${r.name}`), ['a-ns/mid', 'auth/alpha', 'auth/zeta']);
  assert.deepEqual([...results.clusters.keys()], ['auth/zeta'].map((k) => `extension/${k}`));
  assert.equal(results.results[0]!.status.conditions[0]!.status, 'False', 'a-ns has no Service "authz"');
});

// ---- virtual host and route authorization ----

const CLUSTER: ExtensionCluster = {
  name: 'extension/auth/authz',
  namespace: 'auth',
  extensionService: 'authz',
  protocol: 'h2c',
  services: [],
  loadBalancer: 'RoundRobin',
  connectTimeoutMs: 2000,
  idleConnectionTimeoutMs: null,
};
const lookup = (name: string) => (name === CLUSTER.name ? CLUSTER : name === 'extension/auth/slow' ? { ...CLUSTER, name, responseTimeoutMs: 1500 } : undefined);

interface AuthRow {
  name: string;
  authorization: Record<string, unknown>;
  namespace?: string;
  errors?: Err[];
  expect?: ExternalAuthorization;
}

const REF = { name: 'authz', namespace: 'auth' };

const AUTH_ROWS: AuthRow[] = [
  { name: 'defaults: Envoy 200 ms timeout, failClosed', authorization: { extensionRef: REF }, expect: { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 200, failOpen: false } },
  {
    name: 'explicit apiVersion, timeout, failOpen, body with the default size',
    authorization: { extensionRef: { ...REF, apiVersion: 'projectcontour.io/v1alpha1' }, responseTimeout: '1s', failOpen: true, withRequestBody: { packAsBytes: true } },
    expect: { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 1000, failOpen: true, withRequestBody: { maxRequestBytes: 1024, allowPartialMessage: false, packAsBytes: true } },
  },
  {
    name: 'the ExtensionService timeout applies when the HTTPProxy sets none',
    authorization: { extensionRef: { name: 'slow', namespace: 'auth' }, withRequestBody: { maxRequestBytes: 64, allowPartialMessage: true } },
    expect: { extensionCluster: 'extension/auth/slow', responseTimeoutMs: 1500, failOpen: false, withRequestBody: { maxRequestBytes: 64, allowPartialMessage: true, packAsBytes: false } },
  },
  { name: 'responseTimeout infinity', authorization: { extensionRef: REF, responseTimeout: 'infinity' }, expect: { extensionCluster: 'extension/auth/authz', responseTimeoutMs: null, failOpen: false } },
  {
    name: 'the reference defaults to the HTTPProxy namespace',
    authorization: { extensionRef: { name: 'authz' } },
    namespace: 'auth',
    expect: { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 200, failOpen: false },
  },
  {
    name: 'an unsupported resource version',
    authorization: { extensionRef: { ...REF, apiVersion: 'projectcontour.io/v1' } },
    errors: [['AuthError', 'AuthBadResourceVersion', 'Spec.Virtualhost.Authorization.extensionRef specifies an unsupported resource version "projectcontour.io/v1"']],
  },
  {
    name: 'an ExtensionService that does not exist (or is invalid)',
    authorization: { extensionRef: { name: 'authz' } },
    namespace: 'default',
    errors: [['AuthError', 'ExtensionServiceNotFound', 'Spec.Virtualhost.Authorization.ServiceRef extension service "default/authz" not found']],
  },
  {
    name: 'a bad response timeout',
    authorization: { extensionRef: REF, responseTimeout: 'forever' },
    errors: [['AuthError', 'AuthResponseTimeoutInvalid', 'Spec.Virtualhost.Authorization.ResponseTimeout is invalid: unable to parse timeout string "forever": time: invalid duration "forever"']],
  },
  {
    name: 'context with an HTTP authorization server',
    authorization: { extensionRef: REF, serviceType: 'http', authPolicy: { context: { a: 'b' } } },
    errors: [['AuthError', 'AuthContextForHTTP', 'Spec.Virtualhost.Authorization.AuthPolicy.Context are only applied to grpc service type']],
  },
  {
    name: 'an HTTP authorization server is not supported: invalid, never unprotected',
    authorization: { extensionRef: REF, serviceType: 'http' },
    errors: [['AuthError', 'AuthServiceTypeNotSupported', 'Spec.Virtualhost.Authorization.ServiceType "http" is not supported by isobar: only gRPC authorization servers (serviceType: grpc) are']],
  },
  { name: 'serviceType grpc', authorization: { extensionRef: REF, serviceType: 'grpc' }, expect: { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 200, failOpen: false } },
];

for (const row of AUTH_ROWS) {
  test(`authorization: ${row.name}`, () => {
    const cond = new Condition();
    const got = computeAuthorization(readAuthorization(row.authorization)!, row.namespace ?? 'apps', lookup, cond);
    assert.deepEqual(cond.errors.map((e) => [e.type, e.reason, e.message]), row.errors ?? []);
    assert.deepEqual(got, row.expect ?? null);
  });
}

test('authorization: a TLS virtual host uses its own server, else the global one; errors stop it', () => {
  const own = readAuthorization({ extensionRef: REF });
  const global = globalAuthorization({ extensionService: 'auth/slow', failOpen: true });
  let cond = new Condition();
  assert.deepEqual(secureVirtualHostAuthorization(own, global, 'apps', lookup, cond), {
    ok: true,
    authorization: { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 200, failOpen: false },
  });
  // authorization with only a policy (no extensionRef) still takes the global server.
  const policyOnly = readAuthorization({ authPolicy: { disabled: true } });
  assert.deepEqual(secureVirtualHostAuthorization(policyOnly, global, 'apps', lookup, cond), {
    ok: true,
    authorization: { extensionCluster: 'extension/auth/slow', responseTimeoutMs: 1500, failOpen: true },
  });
  assert.deepEqual(secureVirtualHostAuthorization(null, null, 'apps', lookup, cond), { ok: true, authorization: null });
  assert.equal(cond.errors.length, 0);
  // A missing global server makes even a disabling TLS virtual host invalid (Contour).
  const missing = globalAuthorization({ extensionService: 'auth/gone' });
  assert.deepEqual(secureVirtualHostAuthorization(policyOnly, missing, 'apps', lookup, cond), { ok: false });
  assert.deepEqual(cond.errors.map((e) => e.message), ['Spec.Virtualhost.Authorization.ServiceRef extension service "auth/gone" not found']);
  // A bare global name is in the HTTPProxy's namespace.
  cond = new Condition();
  const bare = globalAuthorization({ extensionService: 'authz' });
  assert.equal(secureVirtualHostAuthorization(null, bare, 'auth', lookup, cond).ok, true);
});

test('authorization: the plain listener gets the global server, and the TLS virtual host\'s own for its permitInsecure routes', () => {
  const own = readAuthorization({ extensionRef: REF });
  const secureAuth: ExternalAuthorization = { extensionCluster: 'extension/auth/authz', responseTimeoutMs: 200, failOpen: false };
  const global = globalAuthorization({ extensionService: 'auth/slow' });
  const cond = new Condition();
  assert.deepEqual(insecureVirtualHostAuthorization(own, global, secureAuth, 'apps', lookup, cond), { ok: true, authorization: secureAuth });
  assert.deepEqual(insecureVirtualHostAuthorization(null, global, null, 'apps', lookup, cond), {
    ok: true,
    authorization: { extensionCluster: 'extension/auth/slow', responseTimeoutMs: 1500, failOpen: false },
  });
  assert.deepEqual(insecureVirtualHostAuthorization(null, null, null, 'apps', lookup, cond), { ok: true, authorization: null });
  // The global server missing: invalid, unless the virtual host disables authorization.
  const missing = globalAuthorization({ extensionService: 'auth/gone' });
  assert.deepEqual(insecureVirtualHostAuthorization(null, missing, null, 'apps', lookup, cond), { ok: false });
  assert.equal(cond.errors.length, 1);
  const disabled = readAuthorization({ authPolicy: { disabled: true } });
  const d = insecureVirtualHostAuthorization(disabled, missing, null, 'apps', lookup, cond);
  assert.deepEqual(d, { ok: true, authorization: { extensionCluster: 'extension/auth/gone', responseTimeoutMs: 200, failOpen: false } });
  assert.equal(cond.errors.length, 1, 'no error for a disabled virtual host');
});

interface RouteRow {
  name: string;
  vhost?: Record<string, unknown>;
  global?: Parameters<typeof globalAuthorization>[0];
  route?: Record<string, unknown>;
  kind?: 'forward' | 'direct' | 'redirect';
  expect: ReturnType<typeof routeAuthorization>;
}

const ROUTE_ROWS: RouteRow[] = [
  { name: 'no authorization anywhere: no policy', route: { disabled: true }, expect: undefined },
  { name: 'vhost authorization: enabled with its context', vhost: { extensionRef: REF, authPolicy: { context: { a: '1', b: '2' } } }, expect: { disabled: false, context: { a: '1', b: '2' } } },
  {
    name: 'route context overrides and extends the vhost context',
    vhost: { extensionRef: REF, authPolicy: { context: { a: '1', b: '2' } } },
    route: { context: { b: 'route', c: '3' } },
    expect: { disabled: false, context: { a: '1', b: 'route', c: '3' } },
  },
  { name: 'vhost disables, the route inherits', vhost: { extensionRef: REF, authPolicy: { disabled: true } }, expect: { disabled: true, context: {} } },
  { name: 'vhost disables, the route enables', vhost: { extensionRef: REF, authPolicy: { disabled: true } }, route: { disabled: false }, expect: { disabled: false, context: {} } },
  { name: 'the route disables', vhost: { extensionRef: REF }, route: { disabled: true }, expect: { disabled: true, context: {} } },
  { name: 'global: enabled with the global context', global: { extensionService: 'auth/authz', authPolicy: { context: { g: '1' } } }, route: { context: { r: '2' } }, expect: { disabled: false, context: { g: '1', r: '2' } } },
  { name: 'global disabled by default, a route enables', global: { extensionService: 'auth/authz', authPolicy: { disabled: true } }, route: { disabled: false }, expect: { disabled: false, context: {} } },
  { name: 'global disabled by default', global: { extensionService: 'auth/authz', authPolicy: { disabled: true } }, expect: { disabled: true, context: {} } },
  {
    name: 'the vhost policy replaces the global one (context too)',
    global: { extensionService: 'auth/authz', authPolicy: { disabled: true, context: { g: '1' } } },
    vhost: { authPolicy: { context: { v: '2' } } },
    expect: { disabled: false, context: { v: '2' } },
  },
  {
    name: 'redirect routes carry no per-route policy: always checked, no context',
    vhost: { extensionRef: REF, authPolicy: { disabled: true, context: { a: '1' } } },
    route: { disabled: true },
    kind: 'redirect',
    expect: { disabled: false, context: {} },
  },
  { name: 'direct responses take the route policy', vhost: { extensionRef: REF }, route: { disabled: true }, kind: 'direct', expect: { disabled: true, context: {} } },
];

for (const row of ROUTE_ROWS) {
  test(`route authorization: ${row.name}`, () => {
    const got = routeAuthorization(row.vhost ? readAuthorization(row.vhost) : null, globalAuthorization(row.global), readAuthPolicy(row.route), row.kind ?? 'forward');
    assert.deepEqual(got, row.expect);
  });
}

test('authorization on a virtual host isobar cannot see into is an error, never ignored', () => {
  const own = readAuthorization({ extensionRef: REF });
  assert.equal(unenforceableAuthorization(own, { passthrough: false }, false), null);
  assert.equal(unenforceableAuthorization(own, { passthrough: true }, true), 'Spec.VirtualHost.Authorization cannot be enforced on a TLS passthrough virtual host: isobar does not see its requests');
  assert.equal(unenforceableAuthorization(own, { passthrough: false }, true), 'Spec.VirtualHost.Authorization cannot be enforced on a TCPProxy: isobar does not see its requests');
  assert.equal(unenforceableAuthorization(readAuthorization({ authPolicy: { disabled: true } }), { passthrough: true }, false), null);
});
