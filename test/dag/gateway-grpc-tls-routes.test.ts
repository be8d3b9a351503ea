// GRPCRoute (method matches as HTTP/2 paths, h2c backends) and TLSRoute
// (TLS passthrough by SNI) through the whole build. Conformance scenarios:
// GRPCExactMethodMatching, GRPCRouteHeaderMatching, TLSRouteSimpleSameNamespace,
// TLSRouteHostnameIntersection, TLSRouteInvalidNoMatchingListenerHostname,
// TLSRouteInvalidBackendRefNonexistent, TLSRouteListenerPassthroughSupportedKinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GRPCRoute, TLSRoute } from '../../src/objects/types.ts';
import type { RouteAction } from '../../src/dag/index.ts';
import { createCa } from '../support/pki.ts';
import { endpoints, service, tlsSecret, vhost } from './fixtures.ts';
import { GROUP, gateway, gatewayClass, http, https, parentLines, runGw, toGw, ROUTE_OK } from './gateway-fixtures.ts';

const pair = await (await createCa('grpc tls CA')).issue({ dnsNames: ['*.example.com'] });

function grpcRoute(name: string, spec: Record<string, unknown>): GRPCRoute {
  return { apiVersion: `${GROUP}/v1`, kind: 'GRPCRoute', metadata: { name, namespace: 'default', generation: 5 }, spec: spec as GRPCRoute['spec'] };
}
function tlsRoute(name: string, spec: Record<string, unknown>): TLSRoute {
  return { apiVersion: `${GROUP}/v1`, kind: 'TLSRoute', metadata: { name, namespace: 'default', generation: 6 }, spec: spec as TLSRoute['spec'] };
}
const backends = [service('g'), endpoints('g', ['127.0.0.1'], 50051), service('t', [{ port: 443 }]), endpoints('t', ['127.0.0.2'], 8443)];
const passthrough = (extra: Record<string, unknown> = {}) => ({ name: 'tls', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' }, allowedRoutes: { namespaces: { from: 'All' } }, ...extra });

test('GRPCRoute: method matches become paths, headers stay, backends speak h2c; the route is Accepted', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [http()]),
    ...backends,
    grpcRoute('g', {
      parentRefs: [toGw()],
      hostnames: ['grpc.example.com'],
      rules: [
        {
          matches: [
            { method: { service: 'helloworld.Greeter', method: 'SayHello' } },
            { method: { service: 'helloworld.Greeter' } },
            { method: { method: 'Check' } },
            { method: { type: 'RegularExpression', service: 'svc\\.v[0-9]+' }, headers: [{ name: 'X-Env', value: 'prod' }] },
          ],
          backendRefs: [{ name: 'g', port: 80 }],
        },
      ],
    }),
  ]);
  assert.deepEqual(parentLines(r.gatewayApi!.grpcroutes[0]!), [`infra/gw: ${ROUTE_OK}`]);
  const routes = vhost(r, 'grpc.example.com')!.routes;
  assert.deepEqual(
    routes.map((x) => `${x.path.kind} ${x.path.value}${x.headers.length ? ` h${x.headers.length}` : ''}`),
    ['exact /helloworld.Greeter/SayHello', 'exact /helloworld.Greeter', 'prefix /helloworld.Greeter/', 'regex /svc\\.v[0-9]+/[^/]+ h1', 'regex /[^/]+/Check'],
  );
  const a = routes[0]!.action as Extract<RouteAction, { kind: 'forward' }>;
  assert.equal(r.proxyConfig.clusters.find((c) => c.name === a.clusters[0]!.cluster)!.protocol, 'h2c');
  assert.deepEqual(r.gatewayApi!.gateways[0]!.listeners[0]!.attachedRoutes, 1);
});

test('GRPCRoute: an unsupported filter is UnsupportedValue; a listener for HTTPRoutes only does not take it', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [http('http', { allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'HTTPRoute' }] } }), http('grpc', { hostname: 'g.example.com' })]),
    ...backends,
    grpcRoute('bad', { parentRefs: [toGw({ sectionName: 'grpc' })], rules: [{ filters: [{ type: 'RequestRedirect' }], backendRefs: [{ name: 'g', port: 80 }] }] }),
    grpcRoute('kinds', { parentRefs: [toGw({ sectionName: 'http' })], rules: [{ backendRefs: [{ name: 'g', port: 80 }] }] }),
  ]);
  const lines = Object.fromEntries(r.gatewayApi!.grpcroutes.map((x) => [x.name, parentLines(x)]));
  assert.deepEqual(lines, {
    bad: ['infra/gw/grpc: Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs'],
    kinds: ['infra/gw/http: Accepted=False/NotAllowedByListeners ResolvedRefs=True/ResolvedRefs'],
  });
});

test('TLSRoute on a Passthrough listener: the host forwards the client\'s TLS by SNI to the weighted backends', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [passthrough({ hostname: '*.example.com' })]),
    ...backends,
    tlsRoute('t', { parentRefs: [toGw()], hostnames: ['db.example.com'], rules: [{ backendRefs: [{ name: 't', port: 443, weight: 3 }] }] }),
    tlsRoute('far', { parentRefs: [toGw()], hostnames: ['db.example.org'], rules: [{ backendRefs: [{ name: 't', port: 443 }] }] }),
    tlsRoute('missing', { parentRefs: [toGw()], hostnames: ['m.example.com'], rules: [{ backendRefs: [{ name: 'nope', port: 443 }] }] }),
  ]);
  const lines = Object.fromEntries(r.gatewayApi!.tlsroutes.map((x) => [x.name, parentLines(x)]));
  assert.deepEqual(lines, {
    far: ['infra/gw: Accepted=False/NoMatchingListenerHostname ResolvedRefs=True/ResolvedRefs'],
    missing: ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'],
    t: [`infra/gw: ${ROUTE_OK}`],
  });
  const v = vhost(r, 'db.example.com', true)!;
  assert.equal(v.secretId, undefined, 'TLS is not ended: no certificate');
  assert.equal(v.passthrough!.clusters[0]!.weight, 3);
  assert.match(v.passthrough!.clusters[0]!.cluster, /^default\/t\/443\//);
  assert.equal(vhost(r, 'm.example.com', true), undefined, 'no backend resolves: nothing is forwarded');
  assert.deepEqual(r.gatewayApi!.gateways[0]!.listeners[0]!.supportedKinds, [{ group: GROUP, kind: 'TLSRoute' }]);
});

test('HTTPS and TLS listeners share the proxy\'s TLS port (no ProtocolConflict); an HTTPRoute does not attach to a TLS listener', () => {
  const r = runGw([
    gatewayClass(),
    gateway('gw', [https('https', 'cert', { hostname: 'web.example.com' }), passthrough({ hostname: 'db.example.com' })]),
    tlsSecret('cert', pair, 'infra'),
    ...backends,
    tlsRoute('t', { parentRefs: [toGw({ sectionName: 'tls' })], rules: [{ backendRefs: [{ name: 't', port: 443 }] }] }),
  ]);
  assert.deepEqual(
    r.gatewayApi!.gateways[0]!.listeners.map((l) => l.conditions.map((c) => `${c.type}=${c.status}`).join(' ')),
    ['Accepted=True Programmed=True ResolvedRefs=True Conflicted=False', 'Accepted=True Programmed=True ResolvedRefs=True Conflicted=False'],
  );
  assert.ok(vhost(r, 'db.example.com', true)!.passthrough);
});
