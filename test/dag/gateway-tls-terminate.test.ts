// TLSRoute on a TLS listener with tls.mode Terminate: TLS ends at the proxy
// with the listener's certificate and the decrypted stream goes to the
// route's weighted backends (TLS again only to a backend a BackendTLSPolicy
// targets), beside passthrough listeners on the same port (told apart by
// SNI). Conformance scenarios: TLSRouteTerminateSimpleSameNamespace,
// TLSRouteListenerTerminateSupportedKinds, TLSRouteMixedTerminationSameNamespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendTLSPolicy, ConfigMap, TLSRoute } from '../../src/objects/types.ts';
import type { DagResult } from '../../src/dag/index.ts';
import { createCa } from '../support/pki.ts';
import { endpoints, service, tlsSecret, vhost } from './fixtures.ts';
import { GROUP, OK_LISTENER, gateway, gatewayClass, http, httpRoute, listenerLine, parentLines, runGw, toGw, ROUTE_OK } from './gateway-fixtures.ts';

const ca = await createCa('tls terminate CA');
const pair = await ca.issue({ dnsNames: ['*.example.com'] });

function tlsRoute(name: string, spec: Record<string, unknown>): TLSRoute {
  return { apiVersion: `${GROUP}/v1`, kind: 'TLSRoute', metadata: { name, namespace: 'infra', generation: 2 }, spec: spec as TLSRoute['spec'] };
}
const terminate = (name: string, hostname: string, extra: Record<string, unknown> = {}) => ({
  name,
  port: 8443,
  protocol: 'TLS',
  hostname,
  allowedRoutes: { namespaces: { from: 'Same' }, kinds: [{ kind: 'TLSRoute' }] },
  tls: { mode: 'Terminate', certificateRefs: [{ name: 'cert' }] },
  ...extra,
});
const passthrough = (name: string, hostname: string) => ({ name, port: 8443, protocol: 'TLS', hostname, allowedRoutes: { namespaces: { from: 'Same' } }, tls: { mode: 'Passthrough' } });
const backends = [
  tlsSecret('cert', pair, 'infra'),
  service('tcp-backend', [{ port: 3000, name: 'plain' }, { port: 8443, name: 'tls' }], { namespace: 'infra' }),
  {
    ...endpoints('tcp-backend', ['127.0.0.1'], 3000, 'infra', 'plain'),
    subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'plain', port: 3000 }, { name: 'tls', port: 9443 }] }],
  },
];
const clusterOf = (r: DagResult, name: string) => r.proxyConfig.clusters.find((c) => c.name === name)!;
const listeners = (r: DagResult) => Object.fromEntries(r.gatewayApi!.gateways[0]!.listeners.map((l) => [l.name, listenerLine(l)]));

test('TLSRouteTerminateSimpleSameNamespace: the host ends TLS with the listener\'s certificate and forwards the plain stream', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [terminate('tlsterminate', 'tls.example.com')]),
    ...backends,
    tlsRoute('t', { parentRefs: [toGw()], hostnames: ['tls.example.com'], rules: [{ backendRefs: [{ name: 'tcp-backend', port: 3000 }] }] }),
  ]);
  assert.deepEqual(listeners(r), { tlsterminate: OK_LISTENER(1) });
  assert.deepEqual(r.gatewayApi!.gateways[0]!.listeners[0]!.supportedKinds, [{ group: GROUP, kind: 'TLSRoute' }]);
  assert.deepEqual(parentLines(r.gatewayApi!.tlsroutes[0]!), [`infra/gw: ${ROUTE_OK}`]);
  const v = vhost(r, 'tls.example.com', true)!;
  assert.equal(v.secretId, 'infra/cert');
  assert.equal(v.passthrough, undefined);
  assert.equal(v.routes.length, 0);
  const c = clusterOf(r, v.tcpProxy!.clusters[0]!.cluster);
  assert.deepEqual([c.protocol, c.tls, c.endpoints], ['http1', undefined, [{ address: '127.0.0.1', port: 3000 }]]);
});

test('TLSRouteMixedTerminationSameNamespace: a terminating and a passthrough listener on one port, each host as its listener says', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [terminate('tls-terminate', 'tls.example.com'), passthrough('tls-passthrough', 'abc.example.com')]),
    ...backends,
    tlsRoute('pass', { parentRefs: [toGw()], hostnames: ['abc.example.com'], rules: [{ backendRefs: [{ name: 'tcp-backend', port: 8443 }] }] }),
    tlsRoute('term', { parentRefs: [toGw()], hostnames: ['tls.example.com'], rules: [{ backendRefs: [{ name: 'tcp-backend', port: 3000, weight: 2 }] }] }),
  ]);
  assert.deepEqual(listeners(r), { 'tls-terminate': OK_LISTENER(1), 'tls-passthrough': OK_LISTENER(1) });
  const term = vhost(r, 'tls.example.com', true)!;
  assert.deepEqual([term.secretId, term.tcpProxy?.clusters[0]?.weight, term.passthrough], ['infra/cert', 2, undefined]);
  const pass = vhost(r, 'abc.example.com', true)!;
  assert.deepEqual([pass.secretId, pass.tcpProxy], [undefined, undefined]);
  assert.equal(clusterOf(r, pass.passthrough!.clusters[0]!.cluster).endpoints[0]!.port, 9443);
});

test('a BackendTLSPolicy on a terminated TLSRoute\'s backend: TLS again, validated; the policy lists the Gateway as ancestor', () => {
  const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca', namespace: 'infra' }, data: { 'ca.crt': ca.certPem } };
  const policy: BackendTLSPolicy = {
    apiVersion: `${GROUP}/v1`,
    kind: 'BackendTLSPolicy',
    metadata: { name: 'p', namespace: 'infra', generation: 1 },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: 'tcp-backend', sectionName: 'tls' }], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }], hostname: 'backend.example.com' } } as BackendTLSPolicy['spec'],
  };
  const r = runGw([
    gatewayClass(),
    gateway('gw', [terminate('tls-terminate', 'tls.example.com')]),
    ...backends,
    cm,
    policy,
    tlsRoute('term', { parentRefs: [toGw()], hostnames: ['tls.example.com'], rules: [{ backendRefs: [{ name: 'tcp-backend', port: 8443 }] }] }),
  ]);
  const c = clusterOf(r, vhost(r, 'tls.example.com', true)!.tcpProxy!.clusters[0]!.cluster);
  assert.equal(c.protocol, 'tls');
  assert.deepEqual(c.tls?.validation?.subjectNames, ['backend.example.com']);
  assert.deepEqual(r.gatewayApi!.backendtlspolicies[0]!.ancestors.map((a) => `${a.ancestorRef.namespace}/${a.ancestorRef.name}`), ['infra/gw']);
});

// A listener whose certificate does not resolve still counts the routes that
// attach to it (the spec; conformance GatewayWithAttachedRoutes), and serves
// none; one that is not accepted takes none.
const ATTACHED = 'infra/gw: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs';
const NOT_ATTACHED = 'infra/gw: Accepted=False/NotAllowedByListeners ResolvedRefs=True/ResolvedRefs';
const bad: [string, Record<string, unknown>, string, string][] = [
  ['without certificateRefs', { tls: { mode: 'Terminate', certificateRefs: [] } }, '1 Accepted=True/Accepted Programmed=False/Invalid ResolvedRefs=False/InvalidCertificateRef Conflicted=False/NoConflicts', ATTACHED],
  ['naming a missing Secret', { tls: { mode: 'Terminate', certificateRefs: [{ name: 'nope' }] } }, '1 Accepted=True/Accepted Programmed=False/Invalid ResolvedRefs=False/InvalidCertificateRef Conflicted=False/NoConflicts', ATTACHED],
  ['without tls (Terminate is the default mode)', { tls: undefined }, '0 Accepted=False/UnsupportedValue Programmed=False/Invalid ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts', NOT_ATTACHED],
  ['with a mode the spec does not have', { tls: { mode: 'Reencrypt' } }, '0 Accepted=False/UnsupportedValue Programmed=False/Invalid ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts', NOT_ATTACHED],
];

for (const [name, extra, line, parent] of bad) {
  test(`a terminating TLS listener ${name}: not programmed, nothing served`, () => {
    const r = runGw([
      gatewayClass(),
      gateway('gw', [terminate('t', 'tls.example.com', extra)]),
      ...backends,
      tlsRoute('term', { parentRefs: [toGw()], hostnames: ['tls.example.com'], rules: [{ backendRefs: [{ name: 'tcp-backend', port: 3000 }] }] }),
    ]);
    assert.equal(listeners(r).t, line);
    assert.deepEqual(parentLines(r.gatewayApi!.tlsroutes[0]!), [parent]);
    assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []);
  });
}

test('an HTTPRoute does not attach to a terminating TLS listener (its kinds are TLSRoute)', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [terminate('t', 'tls.example.com', { allowedRoutes: { namespaces: { from: 'All' } } }), http()]),
    ...backends,
    httpRoute('h', { parentRefs: [toGw({ sectionName: 't' })], rules: [{ backendRefs: [{ name: 'tcp-backend', port: 3000, namespace: 'infra' }] }] }),
  ]);
  assert.deepEqual(parentLines(r.gatewayApi!.httproutes[0]!).map((l) => l.split(' ')[1]), ['Accepted=False/NotAllowedByListeners']);
});
