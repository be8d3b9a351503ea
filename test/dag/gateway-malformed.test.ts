// Malformed Gateway API objects (what a caller that skips the schema could
// pass, or what the schema lets through): the build never throws, other
// objects keep serving, and every Gateway of ours still gets a status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { build } from '../../src/dag/index.ts';
import { config, endpoints, service } from './fixtures.ts';
import { gateway, gatewayClass, gwSnapshot, http, httpRoute, toGw } from './gateway-fixtures.ts';

const good = [gatewayClass(), gateway('gw', [http()], { creation: '2024-01-01T00:00:00Z' }), service('s'), endpoints('s', ['127.0.0.1'], 8080), httpRoute('ok', { parentRefs: [toGw()], hostnames: ['ok.example.com'], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] })];

test('hand-picked malformed objects: wrong types everywhere read as zero values', () => {
  const bad = [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g2', namespace: 'infra' }, spec: { gatewayClassName: 'contour', listeners: 'nope' } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g3', namespace: 'infra' }, spec: { gatewayClassName: 'contour', listeners: [null, 5, { name: 7, port: 'x', protocol: ['HTTP'] }] } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r1' }, spec: { parentRefs: [null, toGw({ port: 'x', sectionName: 5 })], hostnames: [1, null], rules: [null, { matches: 'x', filters: [null, { type: 5 }], backendRefs: [null, { weight: 'w' }] }] } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r2' }, spec: null },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'ReferenceGrant', metadata: { name: 'rg', namespace: 'x' }, spec: { from: 'x', to: [null] } },
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'c2' }, spec: 'x' },
  ];
  const snap = gwSnapshot(good as never);
  for (const b of bad) {
    const list = b.kind === 'Gateway' ? snap.gateways! : b.kind === 'HTTPRoute' ? snap.httpRoutes! : b.kind === 'ReferenceGrant' ? snap.referenceGrants! : snap.gatewayClasses!;
    (list as unknown[]).push(b);
  }
  const r = build(snap, config());
  assert.ok(r.proxyConfig.httpVirtualHosts.some((v) => v.fqdn === 'ok.example.com'), 'the good route still serves');
  assert.deepEqual(r.gatewayApi!.gateways.map((g) => g.name).sort(), ['g2', 'g3', 'gw']);
});

test('property: random specs for Gateways and HTTPRoutes never throw and keep the good route', () => {
  const anything = fc.anything({ maxDepth: 4 });
  const listener = fc.record({ name: fc.oneof(fc.string(), anything), port: fc.oneof(fc.integer({ min: -1, max: 70000 }), anything), protocol: fc.constantFrom('HTTP', 'HTTPS', 'TLS', 'x'), hostname: fc.oneof(fc.string(), anything), tls: anything, allowedRoutes: anything }, { requiredKeys: [] });
  const rule = fc.record({ matches: anything, filters: fc.array(fc.record({ type: fc.constantFrom('RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror', 'X'), requestHeaderModifier: anything, requestRedirect: anything, urlRewrite: anything, requestMirror: anything }, { requiredKeys: ['type'] })), backendRefs: anything, timeouts: anything }, { requiredKeys: [] });
  fc.assert(
    fc.property(fc.array(listener, { maxLength: 3 }), fc.array(rule, { maxLength: 3 }), anything, (listeners, rules, hostnames) => {
      const snap = gwSnapshot(good as never);
      snap.gateways!.push({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'fuzz', namespace: 'infra', creationTimestamp: '2024-06-01T00:00:00Z' }, spec: { gatewayClassName: 'contour', listeners } } as never);
      snap.httpRoutes!.push({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'fuzz', namespace: 'default' }, spec: { parentRefs: [toGw(), { name: 'fuzz', namespace: 'infra' }], hostnames, rules } } as never);
      const r = build(snap, config());
      assert.ok(r.gatewayApi!.gateways.some((g) => g.name === 'fuzz'));
      assert.ok(r.proxyConfig.httpVirtualHosts.some((v) => v.fqdn === 'ok.example.com'));
      JSON.stringify(r.proxyConfig); // plain data
    }),
    { numRuns: 300 },
  );
});

test('a listener port that is an object without toString: UnsupportedValue, no throw', () => {
  const snap = gwSnapshot(good as never);
  snap.gateways!.push({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'fuzz', namespace: 'infra', creationTimestamp: '2024-06-01T00:00:00Z' }, spec: { gatewayClassName: 'contour', listeners: [{ name: 'l', protocol: 'HTTP', port: JSON.parse('{"toString":null}') }] } } as never);
  const r = build(snap, config());
  assert.ok(r.gatewayApi!.gateways.some((g) => g.name === 'fuzz'));
  assert.ok(r.proxyConfig.httpVirtualHosts.some((v) => v.fqdn === 'ok.example.com'));
});
