// A Gateway's spec.tls: frontend client certificate validation (default
// and perPort) as the proxy's client validation of its HTTPS listeners'
// hosts, failing closed, and spec.tls.backend.clientCertificateRef (the
// standard place of the backend client certificate). Conformance scenarios:
// GatewayFrontendInvalidDefaultClientCertificateValidation,
// GatewayTLSBackendClientCertificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyObject, BackendTLSPolicy, ConfigMap } from '../../src/objects/types.ts';
import type { DagResult, RouteAction } from '../../src/dag/index.ts';
import { createCa } from '../support/pki.ts';
import { endpoints, proxy, service, tlsSecret, vhost } from './fixtures.ts';
import { GROUP, OK_LISTENER, conds, gateway, gatewayClass, http, httpRoute, https, listenerLine, referenceGrant, runGw, toGw } from './gateway-fixtures.ts';

const ca = await createCa('frontend CA');
const leaf = await ca.issue({ dnsNames: ['*.example.com'] });

function configMap(name: string, data: Record<string, string>, namespace = 'infra'): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}
const cmRef = (name: string, extra: Record<string, unknown> = {}) => ({ group: '', kind: 'ConfigMap', name, ...extra });
const validation = (refs: unknown[], extra: Record<string, unknown> = {}) => ({ validation: { caCertificateRefs: refs, ...extra } });

const base: AnyObject[] = [
  gatewayClass(),
  tlsSecret('cert', leaf, 'infra'),
  configMap('client-ca', { 'ca.crt': ca.certPem }),
  configMap('other-ca', { 'ca.crt': ca.certPem }),
  configMap('no-ca', { 'other.crt': ca.certPem }),
  configMap('junk-ca', { 'ca.crt': 'not a certificate' }),
  service('s'),
  endpoints('s', ['127.0.0.1'], 8080),
  httpRoute('r', { parentRefs: [toGw()], hostnames: ['app.example.com'], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] }),
];
const listeners = [http(), https('https', 'cert')];
const withTls = (tls: Record<string, unknown>, ls = listeners) => [...base, gateway('gw', ls, { spec: { tls } })];
const listenersOf = (r: DagResult) => Object.fromEntries(r.gatewayApi!.gateways[0]!.listeners.map((l) => [l.name, listenerLine(l)]));
const gatewayConds = (r: DagResult) => conds(r.gatewayApi!.gateways[0]!.conditions);

test('frontend.default: the HTTPS listener\'s hosts require a client certificate from the CA; the HTTP listener is untouched', () => {
  const r = runGw(withTls({ frontend: { default: validation([cmRef('client-ca')]) } }));
  assert.deepEqual(listenersOf(r), { http: OK_LISTENER(1), https: OK_LISTENER(1) });
  const v = vhost(r, 'app.example.com', true)!;
  assert.deepEqual(v.clientValidation, { caBundleId: 'gateway-frontend:infra/configmap/client-ca', skipVerification: false, optional: false });
  assert.equal(r.proxyConfig.caBundles.find((b) => b.id === v.clientValidation!.caBundleId)?.caPem, `${ca.certPem.trim()}\n`);
  assert.ok(vhost(r, 'app.example.com'), 'still served on the HTTP listener');
});

test('GatewayFrontendInvalidDefaultClientCertificateValidation: a default naming a missing ConfigMap leaves the HTTPS listener not accepted; perPort 80 does not touch HTTP', () => {
  const r = runGw(withTls({ frontend: { default: validation([cmRef('does-not-exist')]), perPort: [{ port: 80, tls: validation([cmRef('client-ca')]) }] } }));
  assert.deepEqual(listenersOf(r), {
    http: OK_LISTENER(1),
    https: '0 Accepted=False/NoValidCACertificate Programmed=False/Invalid ResolvedRefs=False/InvalidCACertificateRef Conflicted=False/NoConflicts',
  });
  assert.deepEqual(gatewayConds(r), ['Accepted=True/ListenersNotValid', 'Programmed=True/Programmed']);
  assert.equal(vhost(r, 'app.example.com', true), undefined, 'never served without validation');
  assert.ok(vhost(r, 'app.example.com'));
  const msg = r.gatewayApi!.gateways[0]!.listeners[1]!.conditions.find((c) => c.type === 'ResolvedRefs')!.message;
  assert.equal(msg, 'spec.tls.frontend.default: ConfigMap infra/does-not-exist not found');
});

interface Row {
  name: string;
  tls: Record<string, unknown>;
  extra?: AnyObject[];
  /** The HTTPS listener's line. */
  https: string;
  clientValidation: unknown;
  /** The Gateway's conditions past Accepted and Programmed. */
  gatewayExtra?: string[];
}

const rows: Row[] = [
  {
    name: 'perPort 443 replaces the default on its port',
    tls: { frontend: { default: validation([cmRef('does-not-exist')]), perPort: [{ port: 443, tls: validation([cmRef('other-ca')]) }] } },
    https: OK_LISTENER(1),
    clientValidation: { caBundleId: 'gateway-frontend:infra/configmap/other-ca', skipVerification: false, optional: false },
  },
  {
    name: 'AllowInsecureFallback: a certificate is asked for, neither required nor checked',
    tls: { frontend: { default: validation([cmRef('client-ca')], { mode: 'AllowInsecureFallback' }) } },
    https: OK_LISTENER(1),
    clientValidation: { caBundleId: 'gateway-frontend:infra/configmap/client-ca', skipVerification: true, optional: true },
    // The spec's (and conformance GatewayFrontendClientCertificateValidationInsecureFallback's) warning.
    gatewayExtra: ['InsecureFrontendValidationMode=True/ConfigurationChanged'],
  },
  {
    name: 'one reference of an unsupported kind beside a good one: ResolvedRefs False InvalidCACertificateKind, served with the good one',
    tls: { frontend: { default: validation([{ group: 'example.com', kind: 'Bundle', name: 'x' }, cmRef('client-ca')]) } },
    https: '1 Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=False/InvalidCACertificateKind Conflicted=False/NoConflicts',
    clientValidation: { caBundleId: 'gateway-frontend:infra/configmap/client-ca', skipVerification: false, optional: false },
  },
  {
    name: 'a ConfigMap without ca.crt and one that is not PEM: InvalidCACertificateRef, NoValidCACertificate',
    tls: { frontend: { default: validation([cmRef('no-ca'), cmRef('junk-ca')]) } },
    https: '0 Accepted=False/NoValidCACertificate Programmed=False/Invalid ResolvedRefs=False/InvalidCACertificateRef Conflicted=False/NoConflicts',
    clientValidation: undefined,
  },
  {
    name: 'a ConfigMap in another namespace without a ReferenceGrant: RefNotPermitted, NoValidCACertificate',
    tls: { frontend: { default: validation([cmRef('client-ca', { namespace: 'default' })]) } },
    extra: [configMap('client-ca', { 'ca.crt': ca.certPem }, 'default')],
    https: '0 Accepted=False/NoValidCACertificate Programmed=False/Invalid ResolvedRefs=False/RefNotPermitted Conflicted=False/NoConflicts',
    clientValidation: undefined,
  },
  {
    name: 'a ConfigMap in another namespace under a ReferenceGrant',
    tls: { frontend: { default: validation([cmRef('client-ca', { namespace: 'default' })]) } },
    extra: [configMap('client-ca', { 'ca.crt': ca.certPem }, 'default'), referenceGrant('g', 'default', [{ group: GROUP, kind: 'Gateway', namespace: 'infra' }], [{ group: '', kind: 'ConfigMap' }])],
    https: OK_LISTENER(1),
    clientValidation: { caBundleId: 'gateway-frontend:default/configmap/client-ca', skipVerification: false, optional: false },
  },
];

for (const row of rows) {
  test(`frontend: ${row.name}`, () => {
    const r = runGw([...withTls(row.tls), ...(row.extra ?? [])]);
    assert.equal(listenersOf(r).https, row.https);
    assert.deepEqual(vhost(r, 'app.example.com', true)?.clientValidation, row.clientValidation);
    const gw = r.gatewayApi!.gateways[0]!;
    assert.deepEqual(gw.conditions.slice(2).map((c) => `${c.type}=${c.status}/${c.reason}`), row.gatewayExtra ?? []);
  });
}

const malformed: [string, Record<string, unknown>, string][] = [
  ['a mode the spec does not have', { frontend: { default: validation([cmRef('client-ca')], { mode: 'Sometimes' }) } }, 'spec.tls.frontend.default.validation.mode "Sometimes" is not AllowValidOnly or AllowInsecureFallback'],
  ['a default without validation', { frontend: { default: {} } }, 'spec.tls.frontend.default.validation is required'],
  ['no caCertificateRefs', { frontend: { default: validation([]) } }, 'spec.tls.frontend.default.validation.caCertificateRefs is empty: name a ConfigMap with ca.crt'],
  ['a perPort port twice', { frontend: { perPort: [{ port: 443, tls: validation([cmRef('client-ca')]) }, { port: 443, tls: validation([cmRef('client-ca')]) }] } }, 'spec.tls.frontend.perPort names port 443 twice'],
  ['a perPort port out of range', { frontend: { perPort: [{ port: 0, tls: validation([cmRef('client-ca')]) }] } }, 'spec.tls.frontend.perPort: port 0 is not in 1-65535'],
  ['a spec.tls field isobar does not know', { frontend: { default: validation([cmRef('client-ca')]) }, options: {} }, 'spec.tls.options is not supported'],
];

for (const [name, tls, message] of malformed) {
  test(`frontend: ${name} makes the Gateway not accepted (ListenersNotValid naming the field), nothing served over TLS`, () => {
    const r = runGw(withTls(tls));
    const accepted = r.gatewayApi!.gateways[0]!.conditions[0]!;
    assert.deepEqual([accepted.status, accepted.reason, accepted.message], ['False', 'ListenersNotValid', message]);
    assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []);
  });
}

test('a host one listener validates and another does not: the other\'s routes are not served on it; an HTTPProxy host without validation keeps the Gateway\'s validated routes off', () => {
  const r = runGw([
    ...withTls({ frontend: { default: validation([cmRef('client-ca')]) } }),
    gateway('open', [https('https', 'cert')], { creation: '2030-01-01T00:00:00Z' }),
    httpRoute('r2', { parentRefs: [{ name: 'open', namespace: 'infra' }], hostnames: ['app.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/open' } }], backendRefs: [{ name: 's', port: 80 }] }] }),
    httpRoute('r3', { parentRefs: [toGw({ sectionName: 'https' })], hostnames: ['proxied.example.com'], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] }),
    proxy('p', { virtualhost: { fqdn: 'proxied.example.com', tls: { secretName: 'cert' } }, routes: [{ services: [{ name: 's', port: 80 }] }] }, 'infra'),
    service('s', [{ port: 80 }], { namespace: 'infra' }),
    endpoints('s', ['127.0.0.1'], 8080, 'infra'),
  ]);
  const v = vhost(r, 'app.example.com', true)!;
  assert.deepEqual(v.clientValidation, { caBundleId: 'gateway-frontend:infra/configmap/client-ca', skipVerification: false, optional: false });
  assert.deepEqual([...new Set(v.routes.map((x) => x.origin.name))], ['r'], 'only the validated listener\'s route');
  const p = vhost(r, 'proxied.example.com', true)!;
  assert.equal(p.clientValidation, undefined);
  assert.deepEqual([...new Set(p.routes.map((x) => x.origin.name))], ['p'], 'the HTTPProxy\'s routes only, never the validated route without validation');
  // Each route kept off a host says so on its parent.
  const parents = Object.fromEntries(r.gatewayApi!.httproutes.map((x) => [x.name, x.parents.map((pp) => pp.conditions.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`))]));
  assert.deepEqual(parents.r2, [
    [
      'Accepted=False/NotAllowedByListeners: not served on app.example.com (another listener of a Gateway serves it): a TLS host has one client certificate validation, and this route\'s listener asks for another',
      'ResolvedRefs=True/ResolvedRefs: All references resolved',
    ],
  ]);
  assert.deepEqual(parents.r3, [
    [
      'Accepted=False/NotAllowedByListeners: not served on proxied.example.com (an HTTPProxy or Ingress serves it): a TLS host has one client certificate validation, and this route\'s listener asks for another',
      'ResolvedRefs=True/ResolvedRefs: All references resolved',
    ],
  ]);
  assert.deepEqual(parents.r![0]!.map((c) => c.split(':')[0]), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);
});

test('a route kept off some of its hosts by another client validation, served on others: PartiallyInvalid True, UnsupportedValue, naming the hosts', () => {
  const r = runGw([
    ...withTls({ frontend: { default: validation([cmRef('client-ca')]) } }),
    gateway('open', [http('plain', { port: 81 }), https('https', 'cert')], { creation: '2030-01-01T00:00:00Z' }),
    httpRoute('both', { parentRefs: [{ name: 'open', namespace: 'infra' }], hostnames: ['app.example.com'], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] }),
  ]);
  const both = r.gatewayApi!.httproutes.find((x) => x.name === 'both')!;
  assert.deepEqual(both.parents[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs', 'PartiallyInvalid=True/UnsupportedValue']);
  assert.match(both.parents[0]!.conditions[2]!.message, /^not served on app\.example\.com \(another listener of a Gateway serves it\)/);
  const plain = r.proxyConfig.httpVirtualHosts.filter((v) => v.fqdn === 'app.example.com' && v.routes.some((x) => x.origin.name === 'both'));
  assert.equal(plain.length, 1, 'served on the plain port');
});

test('spec.tls.backend.clientCertificateRef (the standard place) is the client certificate shown to validated backends', () => {
  const client = tlsSecret('client', leaf, 'infra');
  const policy: BackendTLSPolicy = {
    apiVersion: `${GROUP}/v1`,
    kind: 'BackendTLSPolicy',
    metadata: { name: 'p', namespace: 'default', generation: 1 },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: 'b' }], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'b.example.com' } } as BackendTLSPolicy['spec'],
  };
  const r = runGw([
    gatewayClass(),
    gateway('gw', [http()], { spec: { tls: { backend: { clientCertificateRef: { group: '', kind: 'Secret', name: 'client' } } } } }),
    client,
    configMap('ca', { 'ca.crt': ca.certPem }, 'default'),
    service('b', [{ port: 443 }]),
    endpoints('b', ['127.0.0.1'], 9443),
    policy,
    httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 'b', port: 443 }] }] }),
  ]);
  assert.deepEqual(gatewayConds(r), ['Accepted=True/Accepted', 'Programmed=True/Programmed', 'ResolvedRefs=True/ResolvedRefs']);
  const a = vhost(r, '*')!.routes[0]!.action as Extract<RouteAction, { kind: 'forward' }>;
  assert.equal(r.proxyConfig.clusters.find((c) => c.name === a.clusters[0]!.cluster)!.tls!.clientCertificateId, 'infra/client');
  const missing = runGw([gatewayClass(), gateway('gw', [http()], { spec: { tls: { backend: { clientCertificateRef: { name: 'nope' } } } } })]);
  assert.deepEqual(gatewayConds(missing), ['Accepted=True/Accepted', 'Programmed=True/Programmed', 'ResolvedRefs=False/InvalidClientCertificateRef']);
});
