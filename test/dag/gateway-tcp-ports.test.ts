// TCP listeners with TCPRoute, and Gateway listener ports beyond the first
// HTTP and HTTPS one (port listeners of their own), through the whole
// build: listener and route statuses with the spec's reasons, the
// ProxyConfig's listeners (Contour's names and container ports) and the
// virtual hosts each serves. Conformance scenarios: TCPRouteMultipleRoutesAttachment,
// TCPRouteInvalidNonTCPListener, TCPRouteInvalidBackendRefNonexistent,
// TCPRouteInvalidCrossNamespaceBackendRef, TCPRouteReferenceGrant,
// TCPRouteParentRefPortAndSectionName, TCPRouteParentRefAttachAll,
// TCPRouteWeightedRouting (weights), HTTPRouteListenerPortMatching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyObject, TCPRoute } from '../../src/objects/types.ts';
import type { DagResult, PortListener } from '../../src/dag/index.ts';
import { gatewayBindPort } from '../../src/dag/gateway-listeners.ts';
import { createCa } from '../support/pki.ts';
import { endpoints, service, tlsSecret } from './fixtures.ts';
import { GROUP, OK_LISTENER, ROUTE_OK, gateway, gatewayClass, http, https, httpRoute, listenerLine, parentLines, referenceGrant, runGw, toGw } from './gateway-fixtures.ts';

const pair = await (await createCa('tcp ports CA')).issue({ dnsNames: ['*.example.com'] });

function tcpRoute(name: string, spec: Record<string, unknown>, opts: { namespace?: string; creation?: string; version?: string } = {}): TCPRoute {
  const metadata: TCPRoute['metadata'] = { name, namespace: opts.namespace ?? 'default', generation: 4 };
  if (opts.creation) metadata.creationTimestamp = opts.creation;
  return { apiVersion: `${GROUP}/${opts.version ?? 'v1'}`, kind: 'TCPRoute', metadata, spec: spec as TCPRoute['spec'] };
}

const tcp = (name = 'tcp', extra: Record<string, unknown> = {}) => ({ name, port: 5000, protocol: 'TCP', allowedRoutes: { namespaces: { from: 'All' } }, ...extra });
const backends = [service('db', [{ port: 3000 }]), endpoints('db', ['127.0.0.1'], 13000), service('db2', [{ port: 3000 }]), endpoints('db2', ['127.0.0.2'], 13000)];
const to = (name: string, extra: Record<string, unknown> = {}) => ({ name, port: 3000, ...extra });

const tcpParents = (r: DagResult, name: string) => parentLines(r.gatewayApi!.tcproutes.find((x) => x.name === name)!);
const listenerOf = (r: DagResult, gw: string, name: string) => listenerLine(r.gatewayApi!.gateways.find((g) => g.name === gw)!.listeners.find((l) => l.name === name)!);
/** The services a port listener's TCP forward reaches, with weights. */
const forwardOf = (r: DagResult, name: string) =>
  r.proxyConfig.listeners?.find((l) => l.name === name)?.tcpProxy?.clusters.map((c) => `${r.proxyConfig.clusters.find((x) => x.name === c.cluster)!.service}:${c.weight}`);

interface Row {
  name: string;
  objects: AnyObject[];
  check: (r: DagResult) => void;
}

const rows: Row[] = [
  {
    name: 'a TCP listener forwards to its TCPRoute\'s weighted backends (weight 0 left out); v1 and v1alpha2 alike',
    objects: [gatewayClass(), gateway('gw', [tcp()]), ...backends, tcpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [to('db', { weight: 7 }), to('db2', { weight: 3 }), to('db', { weight: 0 })] }] }, { version: 'v1alpha2' })],
    check: (r) => {
      assert.equal(listenerOf(r, 'gw', 'tcp'), OK_LISTENER(1));
      assert.deepEqual(r.gatewayApi!.gateways[0]!.listeners[0]!.supportedKinds, [{ group: GROUP, kind: 'TCPRoute' }]);
      assert.deepEqual(tcpParents(r, 'r'), [`infra/gw: ${ROUTE_OK}`]);
      const l = r.proxyConfig.listeners!;
      assert.deepEqual(l.map((x): Omit<PortListener, 'tcpProxy'> => ({ name: x.name, port: x.port, bindPort: x.bindPort, protocol: x.protocol })), [{ name: 'tcp-5000', port: 5000, bindPort: 13000, protocol: 'tcp' }]);
      assert.deepEqual(forwardOf(r, 'tcp-5000'), ['db:7', 'db2:3']);
    },
  },
  {
    name: 'two TCPRoutes on one listener: both Accepted, attachedRoutes 2, the oldest is served',
    objects: [
      gatewayClass(),
      gateway('gw', [tcp()]),
      ...backends,
      tcpRoute('newer', { parentRefs: [toGw({ sectionName: 'tcp' })], rules: [{ backendRefs: [to('db2')] }] }, { creation: '2024-02-01T00:00:00Z' }),
      tcpRoute('older', { parentRefs: [toGw({ sectionName: 'tcp' })], rules: [{ backendRefs: [to('db')] }] }, { creation: '2024-01-01T00:00:00Z' }),
    ],
    check: (r) => {
      assert.equal(listenerOf(r, 'gw', 'tcp'), OK_LISTENER(2));
      assert.deepEqual(tcpParents(r, 'older'), [`infra/gw/tcp: ${ROUTE_OK}`]);
      assert.deepEqual(tcpParents(r, 'newer'), [`infra/gw/tcp: ${ROUTE_OK}`]);
      assert.deepEqual(forwardOf(r, 'tcp-5000'), ['db:1']);
    },
  },
  {
    name: 'a TCPRoute on a listener for HTTPRoutes only: NotAllowedByListeners, nothing attached',
    objects: [gatewayClass(), gateway('gw', [http('only-http', { allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }] } })]), ...backends, tcpRoute('r', { parentRefs: [toGw({ sectionName: 'only-http' })], rules: [{ backendRefs: [to('db')] }] })],
    check: (r) => {
      assert.deepEqual(tcpParents(r, 'r'), ['infra/gw/only-http: Accepted=False/NotAllowedByListeners ResolvedRefs=True/ResolvedRefs']);
      assert.equal(listenerOf(r, 'gw', 'only-http'), OK_LISTENER(0));
      assert.equal(r.proxyConfig.listeners, undefined);
    },
  },
  {
    name: 'a backendRef to a Service that does not exist: ResolvedRefs False BackendNotFound, the listener closes connections',
    objects: [gatewayClass(), gateway('gw', [tcp()]), ...backends, tcpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [to('missing')] }] })],
    check: (r) => {
      assert.deepEqual(tcpParents(r, 'r'), ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound']);
      assert.equal(forwardOf(r, 'tcp-5000'), undefined);
      assert.equal(r.proxyConfig.listeners?.length, 1, 'the listener is still open (and closes what it accepts)');
    },
  },
  {
    name: 'a backendRef to another namespace: RefNotPermitted without a ReferenceGrant, served with one',
    objects: [
      gatewayClass(),
      gateway('gw', [tcp(), tcp('granted', { port: 5001 })]),
      service('far', [{ port: 3000 }], { namespace: 'other' }),
      endpoints('far', ['127.0.0.3'], 13000, 'other'),
      tcpRoute('denied', { parentRefs: [toGw({ sectionName: 'tcp' })], rules: [{ backendRefs: [to('far', { namespace: 'other' })] }] }),
      tcpRoute('allowed', { parentRefs: [toGw({ sectionName: 'granted' })], rules: [{ backendRefs: [to('far', { namespace: 'other' })] }] }, { namespace: 'granted' }),
      referenceGrant('tcp', 'other', [{ group: GROUP, kind: 'TCPRoute', namespace: 'granted' }], [{ group: '', kind: 'Service' }]),
    ],
    check: (r) => {
      assert.deepEqual(tcpParents(r, 'denied'), ['infra/gw/tcp: Accepted=True/Accepted ResolvedRefs=False/RefNotPermitted']);
      assert.deepEqual(tcpParents(r, 'allowed'), [`infra/gw/granted: ${ROUTE_OK}`]);
      assert.deepEqual(forwardOf(r, 'tcp-5000'), undefined);
      assert.deepEqual(forwardOf(r, 'tcp-5001'), ['far:1']);
    },
  },
  {
    name: 'parentRef port and sectionName must both match; no sectionName attaches to every TCP listener',
    objects: [
      gatewayClass(),
      gateway('gw', [tcp('one'), tcp('two', { port: 5001 })]),
      ...backends,
      tcpRoute('wrong-port', { parentRefs: [toGw({ sectionName: 'one', port: 5001 })], rules: [{ backendRefs: [to('db')] }] }),
      tcpRoute('all', { parentRefs: [toGw()], rules: [{ backendRefs: [to('db2')] }] }),
    ],
    check: (r) => {
      assert.deepEqual(tcpParents(r, 'wrong-port'), ['infra/gw/one: Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs']);
      assert.deepEqual(tcpParents(r, 'all'), [`infra/gw: ${ROUTE_OK}`]);
      assert.equal(listenerOf(r, 'gw', 'one'), OK_LISTENER(1));
      assert.equal(listenerOf(r, 'gw', 'two'), OK_LISTENER(1));
      assert.deepEqual(forwardOf(r, 'tcp-5001'), ['db2:1']);
    },
  },
  {
    name: 'a TCPRoute with two rules is UnsupportedValue; tls on a TCP listener is UnsupportedValue',
    objects: [gatewayClass(), gateway('gw', [tcp(), tcp('secure', { port: 5001, tls: { certificateRefs: [{ name: 'cert' }] } })]), ...backends, tcpRoute('r', { parentRefs: [toGw({ sectionName: 'tcp' })], rules: [{ backendRefs: [to('db')] }, { backendRefs: [to('db2')] }] })],
    check: (r) => {
      assert.deepEqual(tcpParents(r, 'r'), ['infra/gw/tcp: Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs']);
      assert.match(r.gatewayApi!.tcproutes[0]!.parents[0]!.conditions[0]!.message, /a TCPRoute has one rule/);
      assert.equal(listenerOf(r, 'gw', 'secure'), '0 Accepted=False/UnsupportedValue Programmed=False/Invalid ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts');
    },
  },
  {
    name: 'two HTTP ports: the first is the proxy\'s own listener, the second a port listener with its own hosts',
    objects: [
      gatewayClass(),
      gateway('gw', [http('a'), http('b', { port: 81 })]),
      service('app'),
      endpoints('app', ['127.0.0.1'], 8080),
      httpRoute('on-b', { parentRefs: [toGw({ sectionName: 'b' })], hostnames: ['b.example.com'], rules: [{ backendRefs: [{ name: 'app', port: 80 }] }] }),
      httpRoute('on-both', { parentRefs: [toGw()], hostnames: ['both.example.com'], rules: [{ backendRefs: [{ name: 'app', port: 80 }] }] }),
      httpRoute('by-port', { parentRefs: [toGw({ port: 80 })], hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: 'app', port: 80 }] }] }),
    ],
    check: (r) => {
      assert.equal(listenerOf(r, 'gw', 'a'), OK_LISTENER(2));
      assert.equal(listenerOf(r, 'gw', 'b'), OK_LISTENER(2));
      assert.deepEqual(r.proxyConfig.listeners, [{ name: 'http-81', port: 81, bindPort: 8081, protocol: 'http' }]);
      assert.deepEqual(
        r.proxyConfig.httpVirtualHosts.map((v) => `${v.fqdn}@${v.listener ?? 'own'}`),
        ['a.example.com@own', 'b.example.com@http-81', 'both.example.com@own', 'both.example.com@http-81'],
      );
    },
  },
  {
    name: 'two HTTPS ports: the second terminates with its own certificate on https-444; the Gateway\'s load balancer targets each',
    objects: [
      gatewayClass(),
      gateway('gw', [https('a', 'cert'), https('b', 'cert', { port: 444 }), tcp()], { spec: { infrastructure: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } } } }),
      tlsSecret('cert', pair, 'infra'),
      service('app'),
      endpoints('app', ['127.0.0.1'], 8080),
      httpRoute('r', { parentRefs: [toGw()], hostnames: ['s.example.com'], rules: [{ backendRefs: [{ name: 'app', port: 80 }] }] }),
    ],
    check: (r) => {
      assert.deepEqual(
        r.proxyConfig.httpsVirtualHosts.map((v) => `${v.fqdn}@${v.listener ?? 'own'} ${v.secretId}`),
        // Each listener answers TLS for every name (no hostname: "*"), the route's on both.
        ['*@own infra/cert', '*@https-444 infra/cert', 's.example.com@own infra/cert', 's.example.com@https-444 infra/cert'],
      );
      assert.deepEqual(r.proxyConfig.listeners?.map((l) => `${l.name} ${l.bindPort} ${l.protocol}`), ['https-444 8444 https', 'tcp-5000 13000 tcp']);
      const lb = r.gatewayLoadBalancers![0]!;
      assert.deepEqual(lb.spec.ports!.map((p) => `${p.port}->${String(p.targetPort)}`), ['443->https', '444->https-444', '5000->tcp-5000']);
    },
  },
  {
    name: 'one port, two kinds across Gateways: the newer is PortUnavailable; two ports with one bind port: PortUnavailable with Contour\'s words',
    objects: [
      gatewayClass(),
      gateway('old', [http('a'), http('b', { port: 81 })], { creation: '2024-01-01T00:00:00Z' }),
      gateway('new', [tcp('t', { port: 81 }), tcp('wrap1', { port: 57536 }), tcp('wrap2', { port: 58559 })], { creation: '2024-02-01T00:00:00Z' }),
    ],
    check: (r) => {
      assert.equal(listenerOf(r, 'old', 'b'), OK_LISTENER(0));
      assert.equal(listenerOf(r, 'new', 't'), '0 Accepted=False/PortUnavailable Programmed=False/Invalid ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts');
      assert.equal(listenerOf(r, 'new', 'wrap1'), OK_LISTENER(0));
      assert.equal(listenerOf(r, 'new', 'wrap2'), '0 Accepted=False/PortUnavailable Programmed=False/Invalid ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts');
      const msg = r.gatewayApi!.gateways.find((g) => g.name === 'new')!.listeners.find((l) => l.name === 'wrap2')!.conditions[0]!.message;
      assert.match(msg, /^Listener port conflicts with a previous Listener's port: ports 58559 and 57536 are both served on 1024$/);
      assert.deepEqual(r.proxyConfig.listeners?.map((l) => l.name), ['http-81', 'tcp-57536']);
    },
  },
];

for (const row of rows) test(row.name, () => row.check(runGw(row.objects)));

test('the bind port is Contour\'s container port: + 8000, wrapping past 65535, skipping 1-1023', () => {
  assert.deepEqual([80, 81, 443, 1024, 57535, 57536, 58558, 58559, 65535].map(gatewayBindPort), [8080, 8081, 8443, 9024, 65535, 1024, 2046, 1024, 8000]);
});

test('malformed TCPRoutes and TCP listeners never throw: what cannot be read attaches nothing', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [tcp(), { name: 'bad-port', port: 'x', protocol: 'TCP' } as never, { name: 'no-port', protocol: 'TCP' } as never]),
    ...backends,
    tcpRoute('junk', { parentRefs: [null, 5, { name: 7 }, toGw()], rules: 'x' }),
    tcpRoute('junk-refs', { parentRefs: [toGw()], rules: [{ backendRefs: [null, { name: 'db', port: 'x' }, { name: 'db', port: 3000, weight: -1 }] }] }),
    { apiVersion: `${GROUP}/v1`, kind: 'TCPRoute', metadata: { name: 'no-spec', namespace: 'default' } } as never,
  ]);
  assert.match(listenerOf(r, 'gw', 'bad-port'), /^0 Accepted=False\/UnsupportedValue Programmed=False\/Invalid /);
  assert.equal(listenerOf(r, 'gw', 'tcp'), OK_LISTENER(2));
  assert.deepEqual(tcpParents(r, 'junk'), [`infra/gw: ${ROUTE_OK}`]);
  assert.deepEqual(tcpParents(r, 'junk-refs'), ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound']);
  // The oldest route (by name, no creation times) that forwards anywhere is served; junk forwards nowhere.
  assert.deepEqual(r.proxyConfig.listeners?.map((l) => l.name), ['tcp-5000']);
});
