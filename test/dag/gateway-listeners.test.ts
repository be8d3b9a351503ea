// GatewayClass, Gateway and listener statuses: one row per behaviour, every
// condition checked (conformance scenarios: GatewayClassObservedGenerationBump,
// GatewayInvalidRouteKind, GatewayInvalidTLSConfiguration,
// GatewaySecretInvalidReferenceGrant, GatewaySecretMissingReferenceGrant,
// GatewaySecretReferenceGrantAllInNamespace, GatewaySecretReferenceGrantSpecific,
// GatewayWithAttachedRoutes, GatewayObservedGenerationBump).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { endpoints, service, tlsSecret, secret } from './fixtures.ts';
import {
  GROUP,
  OK_LISTENER,
  gateway,
  gatewayClass,
  http,
  httpRoute,
  https,
  referenceGrant,
  runGw,
  runGwRows,
  toGw,
  type GwRow,
} from './gateway-fixtures.ts';

const pair = await (await createCa('gateway listeners CA')).issue({ dnsNames: ['*.example.com'] });
const GW_OK = ['Accepted=True/Accepted', 'Programmed=True/Programmed'];
const GW_SOME_INVALID = ['Accepted=True/ListenersNotValid', 'Programmed=True/Programmed'];
const GW_ALL_INVALID = ['Accepted=False/ListenersNotValid', 'Programmed=False/Invalid'];
const NOT_PROGRAMMED = 'Programmed=False/Invalid';
const route = httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] });
const backend = [service('s'), endpoints('s', ['127.0.0.1'], 8080)];

test('a GatewayClass of Contour\'s controller is accepted with a supported version; other controllers\' classes and their Gateways get no status', () => {
  const r = runGw([gatewayClass(), gatewayClass('other', { controllerName: 'example.com/other' }), gateway('gw', [http()]), gateway('theirs', [http()], { className: 'other' })]);
  assert.deepEqual(r.gatewayApi!.gatewayclasses, [
    {
      namespace: '',
      name: 'contour',
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'GatewayClass accepted', observedGeneration: 1 },
        { type: 'SupportedVersion', status: 'True', reason: 'SupportedVersion', message: 'Gateway API v1 (Standard channel) is supported', observedGeneration: 1 },
      ],
    },
  ]);
  assert.deepEqual(
    r.gatewayApi!.gateways.map((g) => g.name),
    ['gw'],
  );
  assert.equal(r.gatewayApi!.gateways[0]!.conditions[0]!.observedGeneration, 2, 'observedGeneration is the Gateway\'s generation');
});

test('a GatewayClass with parametersRef is not accepted, nor its Gateways', () => {
  const r = runGw([gatewayClass('contour', { parametersRef: { group: 'x', kind: 'Y', name: 'z' } }), gateway('gw', [http()]), route, ...backend]);
  assert.deepEqual(
    r.gatewayApi!.gatewayclasses[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Accepted=False/InvalidParameters', 'SupportedVersion=True/SupportedVersion'],
  );
  assert.deepEqual(
    r.gatewayApi!.gateways[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Accepted=False/InvalidParameters', 'Programmed=False/Invalid'],
  );
  assert.deepEqual(r.proxyConfig.httpVirtualHosts, [], 'nothing served');
});

const rows: GwRow[] = [
  {
    name: 'an HTTP listener: accepted, programmed, its routes counted',
    objects: [gatewayClass(), gateway('gw', [http()]), route, httpRoute('r2', { parentRefs: [toGw()] }), ...backend],
    expect: { gateways: { 'infra/gw': GW_OK }, listeners: { 'infra/gw/http': OK_LISTENER(2) } },
    check: (r) =>
      assert.deepEqual(r.gatewayApi!.gateways[0]!.listeners[0]!.supportedKinds, [
        { group: GROUP, kind: 'HTTPRoute' },
        { group: GROUP, kind: 'GRPCRoute' },
      ]),
  },
  {
    name: 'an HTTPS listener with a valid kubernetes.io/tls Secret in its namespace',
    objects: [gatewayClass(), gateway('gw', [https('https', 'cert')]), tlsSecret('cert', pair, 'infra'), route, ...backend],
    expect: { gateways: { 'infra/gw': GW_OK }, listeners: { 'infra/gw/https': OK_LISTENER(1) } },
    check: (r) => {
      assert.equal(r.proxyConfig.httpsVirtualHosts[0]!.fqdn, '*');
      assert.equal(r.proxyConfig.httpsVirtualHosts[0]!.secretId, 'infra/cert');
      assert.deepEqual(r.proxyConfig.secrets.map((s) => s.id), ['infra/cert']);
    },
  },
  {
    name: 'a missing certificate Secret: ResolvedRefs False InvalidCertificateRef, not programmed',
    objects: [gatewayClass(), gateway('gw', [http(), https('https', 'nope')]), route, ...backend],
    expect: {
      gateways: { 'infra/gw': GW_SOME_INVALID },
      listeners: {
        'infra/gw/http': OK_LISTENER(1),
        'infra/gw/https': `1 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=False/InvalidCertificateRef Conflicted=False/NoConflicts`,
      },
    },
  },
  {
    name: 'a Secret that is not a TLS pair: InvalidCertificateRef',
    objects: [gatewayClass(), gateway('gw', [https('https', 'opaque')]), secret('opaque', { a: 'b' }, 'Opaque', 'infra'), route, ...backend],
    expect: {
      gateways: { 'infra/gw': GW_ALL_INVALID },
      listeners: { 'infra/gw/https': `1 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=False/InvalidCertificateRef Conflicted=False/NoConflicts` },
    },
  },
  {
    name: 'a certificateRef of another kind: InvalidCertificateRef',
    objects: [gatewayClass(), gateway('gw', [https('https', 'x', { tls: { certificateRefs: [{ group: 'example.com', kind: 'Cert', name: 'x' }] } })]), route, ...backend],
    expect: { listeners: { 'infra/gw/https': `1 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=False/InvalidCertificateRef Conflicted=False/NoConflicts` } },
  },
  {
    name: 'a Secret in another namespace without a ReferenceGrant: RefNotPermitted',
    objects: [gatewayClass(), gateway('gw', [https('https', 'x', { tls: { certificateRefs: [{ name: 'cert', namespace: 'certs' }] } })]), tlsSecret('cert', pair, 'certs'), route, ...backend],
    expect: { listeners: { 'infra/gw/https': `1 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=False/RefNotPermitted Conflicted=False/NoConflicts` } },
  },
  {
    name: 'a ReferenceGrant for another Secret name, or from another kind, does not permit it',
    objects: [
      gatewayClass(),
      gateway('gw', [https('https', 'x', { tls: { certificateRefs: [{ name: 'cert', namespace: 'certs' }] } })]),
      tlsSecret('cert', pair, 'certs'),
      referenceGrant('g1', 'certs', [{ group: GROUP, kind: 'Gateway', namespace: 'infra' }], [{ group: '', kind: 'Secret', name: 'other' }]),
      referenceGrant('g2', 'certs', [{ group: GROUP, kind: 'HTTPRoute', namespace: 'infra' }], [{ group: '', kind: 'Secret' }]),
      route,
      ...backend,
    ],
    expect: { listeners: { 'infra/gw/https': `1 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=False/RefNotPermitted Conflicted=False/NoConflicts` } },
  },
  {
    name: 'a ReferenceGrant for every Secret of the namespace permits it',
    objects: [
      gatewayClass(),
      gateway('gw', [https('https', 'x', { tls: { certificateRefs: [{ name: 'cert', namespace: 'certs' }] } })]),
      tlsSecret('cert', pair, 'certs'),
      referenceGrant('g', 'certs', [{ group: GROUP, kind: 'Gateway', namespace: 'infra' }], [{ group: '', kind: 'Secret' }]),
      route,
      ...backend,
    ],
    expect: { listeners: { 'infra/gw/https': OK_LISTENER(1) } },
  },
  {
    name: 'a ReferenceGrant naming the Secret permits it',
    objects: [
      gatewayClass(),
      gateway('gw', [https('https', 'x', { tls: { certificateRefs: [{ name: 'cert', namespace: 'certs' }] } })]),
      tlsSecret('cert', pair, 'certs'),
      referenceGrant('g', 'certs', [{ group: GROUP, kind: 'Gateway', namespace: 'infra' }], [{ group: '', kind: 'Secret', name: 'cert' }]),
      route,
      ...backend,
    ],
    expect: { listeners: { 'infra/gw/https': OK_LISTENER(1) } },
  },
  {
    name: 'allowedRoutes.kinds with an unsupported kind: ResolvedRefs False InvalidRouteKinds, only the supported one listed',
    objects: [gatewayClass(), gateway('gw', [http('http', { allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }, { kind: 'FooRoute' }] } })]), httpRoute('r', { parentRefs: [toGw()] }, { namespace: 'infra' })],
    expect: { listeners: { 'infra/gw/http': `1 Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=False/InvalidRouteKinds Conflicted=False/NoConflicts` } },
    check: (r) => assert.deepEqual(r.gatewayApi!.gateways[0]!.listeners[0]!.supportedKinds, [{ group: GROUP, kind: 'HTTPRoute' }]),
  },
  {
    name: 'allowedRoutes.kinds with only unsupported kinds: no supported kinds, routes do not attach',
    objects: [gatewayClass(), gateway('gw', [http('http', { allowedRoutes: { kinds: [{ group: 'example.com', kind: 'HTTPRoute' }] } })]), route],
    expect: {
      listeners: { 'infra/gw/http': `0 Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=False/InvalidRouteKinds Conflicted=False/NoConflicts` },
      routes: { 'default/r': ['infra/gw: Accepted=False/NotAllowedByListeners ResolvedRefs=False/BackendNotFound'] },
    },
    check: (r) => assert.deepEqual(r.gatewayApi!.gateways[0]!.listeners[0]!.supportedKinds, []),
  },
  {
    name: 'UDP and unknown protocols: Accepted False UnsupportedProtocol; TLS Terminate without certificateRefs: UnsupportedValue',
    objects: [gatewayClass(), gateway('gw', [{ name: 'tls', port: 443, protocol: 'TLS' }, { name: 'udp', port: 9000, protocol: 'UDP' }, { name: 'odd', port: 9001, protocol: 'example.com/odd' }])],
    expect: {
      gateways: { 'infra/gw': GW_ALL_INVALID },
      listeners: {
        'infra/gw/tls': `0 Accepted=False/UnsupportedValue ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts`,
        'infra/gw/udp': `0 Accepted=False/UnsupportedProtocol ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts`,
        'infra/gw/odd': `0 Accepted=False/UnsupportedProtocol ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts`,
      },
    },
  },
  {
    name: 'two HTTP listeners on one port with the same hostname conflict; a third with its own hostname does not',
    objects: [gatewayClass(), gateway('gw', [http('a', { hostname: 'x.example.com' }), http('b', { hostname: 'x.example.com' }), http('c', { hostname: 'y.example.com' })])],
    expect: {
      listeners: {
        'infra/gw/a': `0 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=True/HostnameConflict`,
        'infra/gw/b': `0 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=True/HostnameConflict`,
        'infra/gw/c': OK_LISTENER(0),
      },
    },
  },
  {
    name: 'HTTP and HTTPS on one port: ProtocolConflict',
    objects: [gatewayClass(), gateway('gw', [http('a'), https('b', 'cert', { port: 80 })]), tlsSecret('cert', pair, 'infra')],
    expect: {
      listeners: {
        'infra/gw/a': `0 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=True/ProtocolConflict`,
        'infra/gw/b': `0 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=True/ProtocolConflict`,
      },
    },
  },
  {
    name: 'a second HTTP port (in another Gateway) is a port listener of its own, bound at port + 8000',
    objects: [gatewayClass(), gateway('gw', [http()], { creation: '2024-01-01T00:00:00Z' }), gateway('later', [http('http', { port: 8080 })], { creation: '2024-01-02T00:00:00Z' })],
    expect: {
      gateways: { 'infra/gw': GW_OK, 'infra/later': GW_OK },
      listeners: { 'infra/gw/http': OK_LISTENER(0), 'infra/later/http': OK_LISTENER(0) },
    },
    check: (r) => assert.deepEqual(r.proxyConfig.listeners, [{ name: 'http-8080', port: 8080, bindPort: 16080, protocol: 'http' }]),
  },
  {
    name: 'client certificate validation (tls.frontendValidation) is refused, never served without it',
    objects: [gatewayClass(), gateway('gw', [https('https', 'cert', { tls: { certificateRefs: [{ name: 'cert' }], frontendValidation: { caCertificateRefs: [] } } })]), tlsSecret('cert', pair, 'infra'), route, ...backend],
    expect: { listeners: { 'infra/gw/https': `0 Accepted=False/UnsupportedValue ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts` } },
    check: (r) => assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []),
  },
  {
    name: 'tls.options and tls.mode Passthrough on HTTPS are UnsupportedValue; HTTPS without tls too',
    objects: [
      gatewayClass(),
      gateway('gw', [
        https('opts', 'cert', { tls: { certificateRefs: [{ name: 'cert' }], options: { 'example.com/x': 'y' } } }),
        https('pass', 'cert', { port: 443, hostname: 'p.example.com', tls: { mode: 'Passthrough' } }),
        { name: 'bare', port: 443, protocol: 'HTTPS', hostname: 'b.example.com' },
      ]),
      tlsSecret('cert', pair, 'infra'),
    ],
    expect: {
      listeners: {
        'infra/gw/opts': `0 Accepted=False/UnsupportedValue ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts`,
        'infra/gw/pass': `0 Accepted=False/UnsupportedValue ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts`,
        'infra/gw/bare': `0 Accepted=False/UnsupportedValue ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts`,
      },
    },
  },
  {
    name: 'spec.addresses of a type isobar does not know: Accepted False UnsupportedAddress, nothing served (IPAddress and Hostname: test/edge/gateway-addresses.test.ts)',
    objects: [gatewayClass(), gateway('gw', [http()], { spec: { addresses: [{ type: 'IPAddress', value: '10.0.0.1' }, { type: 'example.com/pool', value: 'a' }] } }), route, ...backend],
    expect: {
      gateways: { 'infra/gw': ['Accepted=False/UnsupportedAddress', 'Programmed=False/Invalid'] },
      listeners: { 'infra/gw/http': `0 Accepted=True/Accepted ${NOT_PROGRAMMED} ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts` },
      routes: { 'default/r': ['infra/gw: Accepted=False/NotAllowedByListeners ResolvedRefs=True/ResolvedRefs'] },
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'spec.backendTLS.clientCertificateRef is not supported yet: ResolvedRefs False InvalidClientCertificateRef on the Gateway',
    objects: [gatewayClass(), gateway('gw', [http()], { spec: { backendTLS: { clientCertificateRef: { name: 'client' } } } }), route, ...backend],
    expect: { gateways: { 'infra/gw': ['Accepted=True/Accepted', 'Programmed=True/Programmed', 'ResolvedRefs=False/InvalidClientCertificateRef'] } },
  },
];

runGwRows(rows);

test('an HTTPS listener answers TLS for every name it covers: a host with no route gets the listener certificate (and the proxy a 404), as conformance HTTPRouteHTTPSListener asks', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [https('https', 'cert'), https('wild', 'cert', { port: 443, hostname: '*.wild.example.com' })]),
    tlsSecret('cert', pair, 'infra'),
    httpRoute('r', { parentRefs: [toGw({ sectionName: 'https' })], hostnames: ['app.example.com'], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] }),
    ...backend,
  ]);
  const hosts = r.proxyConfig.httpsVirtualHosts.map((v) => `${v.fqdn} ${v.secretId} ${v.routes.length}`);
  assert.deepEqual(hosts.sort(), ['* infra/cert 0', '*.wild.example.com infra/cert 0', 'app.example.com infra/cert 1']);
});
