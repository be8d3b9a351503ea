// Determinism and robustness: the same objects in any order give deep-equal
// output, and arbitrary or mangled objects never make build() throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCa } from '../support/pki.ts';
import { build } from '../../src/dag/index.ts';
import type { Snapshot } from '../../src/objects/types.ts';
import type { ProxyConfig } from '../../src/dag/index.ts';
import { caSecret, config, delegation, endpoints, ingress, ingressClass, proxy, rejected, root, rule, service, slice, snapshot, tlsSecret, tlsService } from './fixtures.ts';

const ca = await createCa('property CA');
const pair = await ca.issue({ dnsNames: ['a.example.com'] });

/** A snapshot exercising most paths: valid, invalid, orphaned, TLS, includes. */
function richObjects() {
  return [
    root('a', 'a.example.com', {
      tls: { secretName: 'edge' },
      routes: [
        { services: [{ name: 's', port: 80, weight: 2 }, { name: 't', port: 443, weight: 1, validation: { caSecret: 'ca', subjectName: 'backend' } }] },
        { conditions: [{ prefix: '/x' }, { header: { name: 'x', exact: '1' } }], services: [{ name: 's', port: 80 }], permitInsecure: true },
      ],
      includes: [{ name: 'child', conditions: [{ prefix: '/child' }] }, { name: 'missing', conditions: [{ prefix: '/m' }] }],
    }),
    proxy('child', { routes: [{ conditions: [{ exact: '/e' }], services: [{ name: 's', port: 80 }] }, { services: [{ name: 'nope', port: 80 }] }] }),
    proxy('orphan', { routes: [{ services: [{ name: 's', port: 80 }] }] }),
    root('b', 'b.example.com', { routes: [{ services: [{ name: 's', port: 80 }] }] }, 'other'),
    root('dup', 'B.example.com', { routes: [{ services: [{ name: 's', port: 80 }] }] }),
    root('wild', '*.w.example.com', { routes: [{ services: [{ name: 's', port: 80 }] }] }),
    root('tcp', 'tcp.example.com', { tls: { passthrough: true }, tcpproxy: { services: [{ name: 't', port: 443 }] } }),
    rejected('bad', [{ path: 'spec.virtualhost.fqdn', message: 'must be a string' }]),
    ingress('ing', { tls: [{ hosts: ['a.example.com', 'i.example.com'], secretName: 'edge' }], rules: [rule('i.example.com', ['/', 'Prefix', 's', 80], ['/re[0-9]', 'ImplementationSpecific', 't', 443]), rule('a.example.com', ['/ing', 'Exact', 's', 80])] }, { annotations: { 'projectcontour.io/retry-on': '5xx', 'ingress.kubernetes.io/force-ssl-redirect': 'true' } }),
    ingress('ing-default', { defaultBackend: { service: { name: 's', port: { number: 80 } } } }, { namespace: 'other' }),
    ingressClass('contour', 'projectcontour.io/ingress-controller', true),
    service('s', [{ port: 80, targetPort: 8080 }]),
    tlsService('t'),
    service('s', [{ port: 80 }], { namespace: 'other' }),
    endpoints('s', ['10.0.0.2', '10.0.0.1'], 8080),
    slice('s-a', 's', [{ ip: '10.0.0.3' }], 8080),
    slice('s-b', 's', [{ ip: '10.0.0.4' }], 8080),
    tlsSecret('edge', pair),
    caSecret('ca', ca.certPem),
    delegation('d', 'default', [{ secretName: 'edge', targetNamespaces: ['other'] }]),
  ];
}

test('determinism: building twice, with objects in any order, gives deep-equal output', () => {
  const objects = richObjects();
  const expected = build(snapshot(objects), config());
  assert.deepEqual(build(snapshot(objects), config()), expected);
  assert.ok(expected.statuses.some((s) => s.currentStatus === 'invalid'));
  assert.ok(expected.statuses.some((s) => s.currentStatus === 'orphaned'));
  assert.ok(expected.proxyConfig.httpsVirtualHosts.length >= 2);
  assertReferentialIntegrity(expected.proxyConfig);
  fc.assert(
    fc.property(fc.shuffledSubarray(objects, { minLength: objects.length, maxLength: objects.length }), (shuffled) => {
      assert.deepEqual(build(snapshot(shuffled), config()), expected);
    }),
    { numRuns: 100 },
  );
});

test('determinism: output is plain JSON data', () => {
  const r = build(snapshot(richObjects()), config());
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('the input snapshot is not modified', () => {
  const snap = snapshot(richObjects());
  const before = JSON.stringify(snap);
  build(snap, config());
  assert.equal(JSON.stringify(snap), before);
});

/** Every reference resolves, and everything emitted is referenced. */
function assertReferentialIntegrity(c: ProxyConfig): void {
  const clusters = new Set(c.clusters.map((x) => x.name));
  const secrets = new Set(c.secrets.map((x) => x.id));
  const bundles = new Set(c.caBundles.map((x) => x.id));
  const usedClusters = new Set<string>();
  const usedSecrets = new Set<string>();
  const usedBundles = new Set<string>();
  const fwd = (list: { cluster: string; weight: number }[]) => {
    for (const w of list) {
      assert.ok(clusters.has(w.cluster), `cluster ${w.cluster} exists`);
      assert.ok(w.weight > 0, 'weights are positive');
      usedClusters.add(w.cluster);
    }
  };
  for (const v of [...c.httpVirtualHosts, ...c.httpsVirtualHosts]) {
    assert.ok(v.routes.length > 0 || c.httpsVirtualHosts.includes(v as never), 'no empty plain vhost');
    for (const r of v.routes) {
      if (r.action.kind !== 'forward') continue;
      assert.ok(r.action.clusters.length > 0);
      fwd(r.action.clusters);
      for (const m of r.action.mirrors ?? []) fwd([{ cluster: m.cluster, weight: 1 }]);
    }
  }
  for (const v of c.httpsVirtualHosts) {
    if (v.secretId) usedSecrets.add(v.secretId);
    if (v.clientValidation?.caBundleId) usedBundles.add(v.clientValidation.caBundleId);
    if (v.passthrough) fwd(v.passthrough.clusters);
    if (v.tcpProxy) fwd(v.tcpProxy.clusters);
  }
  if (c.fallbackCertificateId) usedSecrets.add(c.fallbackCertificateId);
  for (const cl of c.clusters) {
    if (cl.tls?.validation) usedBundles.add(cl.tls.validation.caBundleId);
    if (cl.tls?.clientCertificateId) usedSecrets.add(cl.tls.clientCertificateId);
    assert.equal(cl.tls !== undefined, cl.protocol === 'tls' || cl.protocol === 'h2', 'tls iff tls/h2');
  }
  assert.deepEqual([...usedClusters].sort(), [...clusters].sort(), 'clusters emitted = clusters referenced');
  assert.deepEqual([...usedSecrets].sort(), [...secrets].sort(), 'secrets emitted = secrets referenced');
  assert.deepEqual([...usedBundles].sort(), [...bundles].sort(), 'CA bundles emitted = CA bundles referenced');
}

/** Replace the value at a random path of `obj` with `value`. */
function mangle(obj: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || obj === null || typeof obj !== 'object') return value;
  const entries = Array.isArray(obj) ? obj.map((v, i) => [i, v] as const) : Object.entries(obj as object);
  if (entries.length === 0) return value;
  const [k] = entries[path[0]! % entries.length]!;
  const copy: any = Array.isArray(obj) ? [...obj] : { ...(obj as object) };
  copy[k] = mangle(copy[k], path.slice(1), value);
  return copy;
}

const noInternalErrors = (snap: Snapshot) => {
  const r = build(snap, config());
  for (const s of r.statuses) {
    for (const e of s.conditions[0]!.errors ?? []) assert.notEqual(e.reason, 'InternalError', `${s.namespace}/${s.name}: ${e.message}`);
  }
  for (const i of r.ingresses) for (const p of i.problems) assert.doesNotMatch(p.message, /could not process/, `${i.namespace}/${i.name}: ${p.message}`);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
};

test('property: mangled objects never make build() throw, and never reach the internal-error guard', () => {
  const objects = richObjects();
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(objects.length - 1), fc.array(fc.nat(), { maxLength: 8 }), fc.anything({ withNullPrototype: true })), { minLength: 1, maxLength: 6 }),
      (edits) => {
        const list: unknown[] = [...objects];
        for (const [i, path, value] of edits) list[i] = mangle(list[i], path, value);
        const snap = snapshot(list.filter((o) => o && typeof o === 'object' && 'kind' in (o as object)) as never);
        // Mangled kinds and metadata still land in the arrays the builder reads.
        const raw = { ...snap, httpproxies: [...snap.httpproxies, ...(list.filter((o) => !o || typeof o !== 'object') as never[])] };
        noInternalErrors(raw as Snapshot);
      },
    ),
    { numRuns: 400 },
  );
});

test('property: arbitrary values in every snapshot array never make build() throw', () => {
  fc.assert(
    fc.property(
      fc.record({
        httpproxies: fc.array(fc.anything(), { maxLength: 4 }),
        services: fc.array(fc.anything(), { maxLength: 3 }),
        secrets: fc.array(fc.anything(), { maxLength: 3 }),
        endpoints: fc.array(fc.anything(), { maxLength: 3 }),
        endpointSlices: fc.array(fc.anything(), { maxLength: 3 }),
        ingresses: fc.array(fc.anything(), { maxLength: 3 }),
        ingressClasses: fc.array(fc.anything(), { maxLength: 2 }),
        delegations: fc.array(fc.anything(), { maxLength: 3 }),
        rejected: fc.array(fc.anything(), { maxLength: 3 }),
      }),
      (snap) => noInternalErrors(snap as unknown as Snapshot),
    ),
    { numRuns: 300 },
  );
});

const str = fc.oneof(fc.constantFrom('', '/', '/a', 'a', '/a/', '//b', '[', '(', '^x$', 's', 'x-h', 'Host', '%REQ(x)%', '1.2', '1.3', '5s', 'infinity'), fc.string({ maxLength: 6 }));
const cond = fc.record(
  {
    prefix: str,
    exact: str,
    regex: str,
    header: fc.record({ name: str, present: fc.boolean(), notpresent: fc.boolean(), exact: str, notexact: str, contains: str, notcontains: str, regex: str }, { requiredKeys: ['name'] }),
    queryParameter: fc.record({ name: str, exact: str, prefix: str, present: fc.boolean(), regex: str }, { requiredKeys: ['name'] }),
  },
  { requiredKeys: [] },
);
const svcRef = fc.record(
  {
    name: fc.constantFrom('s', 't', 'missing'),
    port: fc.constantFrom(80, 443, 0, 70000, 81),
    protocol: fc.constantFrom('tls', 'h2', 'h2c', 'h3'),
    weight: fc.integer({ min: -1, max: 100 }),
    mirror: fc.boolean(),
    validation: fc.record({ caSecret: fc.constantFrom('ca', 'other/ca', 'missing', ''), subjectName: str, subjectNames: fc.array(str, { maxLength: 2 }) }),
    requestHeadersPolicy: fc.record({ set: fc.array(fc.record({ name: str, value: str }), { maxLength: 2 }), remove: fc.array(str, { maxLength: 2 }) }),
  },
  { requiredKeys: ['name', 'port'] },
);
const routeArb = fc.record(
  {
    conditions: fc.array(cond, { maxLength: 3 }),
    services: fc.array(svcRef, { maxLength: 3 }),
    timeoutPolicy: fc.record({ response: str, idle: str, idleConnection: str }, { requiredKeys: [] }),
    retryPolicy: fc.record({ count: fc.integer({ min: -2, max: 5 }), perTryTimeout: str }, { requiredKeys: [] }),
    pathRewritePolicy: fc.record({ replacePrefix: fc.array(fc.record({ prefix: str, replacement: str }, { requiredKeys: ['replacement'] }), { maxLength: 2 }) }),
    loadBalancerPolicy: fc.record({ strategy: fc.constantFrom('Cookie', 'RequestHash', 'Random', 'x'), requestHashPolicies: fc.array(fc.record({ hashSourceIP: fc.boolean(), headerHashOptions: fc.record({ headerName: str }) }, { requiredKeys: [] }), { maxLength: 2 }) }, { requiredKeys: [] }),
    healthCheckPolicy: fc.record({ path: str, intervalSeconds: fc.integer({ min: -1, max: 5 }) }, { requiredKeys: [] }),
    requestRedirectPolicy: fc.record({ path: str, prefix: str, statusCode: fc.constantFrom(301, 302) }, { requiredKeys: [] }),
    directResponsePolicy: fc.record({ statusCode: fc.constantFrom(200, 404) }),
    permitInsecure: fc.boolean(),
  },
  { requiredKeys: [] },
);
const proxyArb = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  fqdn: fc.option(fc.constantFrom('x.example.com', 'X.example.com', '*.example.com', '', ' '), { nil: undefined }),
  tls: fc.option(fc.record({ secretName: fc.constantFrom('edge', 'missing', 'other/edge', ''), passthrough: fc.boolean(), minimumProtocolVersion: str, maximumProtocolVersion: str, enableFallbackCertificate: fc.boolean(), clientValidation: fc.record({ caSecret: fc.constantFrom('ca', '') }, { requiredKeys: [] }) }, { requiredKeys: [] }), { nil: undefined }),
  routes: fc.array(routeArb, { maxLength: 3 }),
  includes: fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'bad'), conditions: fc.array(cond, { maxLength: 2 }) }, { requiredKeys: ['name'] }), { maxLength: 3 }),
  tcpproxy: fc.option(fc.record({ services: fc.array(svcRef, { maxLength: 2 }), include: fc.record({ name: fc.constantFrom('a', 'b', 'c') }) }, { requiredKeys: [] }), { nil: undefined }),
});

test('property: schema-shaped HTTPProxies in random combinations never throw and get exactly one status each', () => {
  fc.assert(
    fc.property(fc.uniqueArray(proxyArb, { selector: (p) => p.name, maxLength: 4 }), (list) => {
      const objects = [
        ...list.map((p) =>
          proxy(p.name, {
            ...(p.fqdn !== undefined ? { virtualhost: p.tls ? { fqdn: p.fqdn, tls: p.tls } : { fqdn: p.fqdn } } : {}),
            routes: p.routes as never,
            includes: p.includes as never,
            ...(p.tcpproxy ? { tcpproxy: p.tcpproxy as never } : {}),
          }),
        ),
        rejected('bad', [{ path: 'spec', message: 'x' }]),
        service('s', [{ port: 80 }, { port: 443 }]),
        tlsService('t'),
        tlsSecret('edge', pair),
        caSecret('ca', ca.certPem),
      ];
      const cfg = config((c) => {
        c.enableExternalNameService = true;
      });
      const r = build(snapshot(objects), cfg);
      assert.equal(r.statuses.length, list.length + 1);
      for (const s of r.statuses) {
        for (const e of s.conditions[0]!.errors ?? []) assert.notEqual(e.reason, 'InternalError', e.message);
        assert.ok(s.description.length > 0);
      }
      assertReferentialIntegrity(r.proxyConfig);
      assert.deepEqual(build(snapshot([...objects].reverse()), cfg), r);
    }),
    { numRuns: 300 },
  );
});

test('cluster names are stable: adding unrelated objects renames nothing', () => {
  const objects = richObjects();
  const before = build(snapshot(objects), config());
  const after = build(
    snapshot([
      ...objects,
      root('z', 'z.example.com', { routes: [{ services: [{ name: 'zs', port: 80 }] }] }, 'zz'),
      service('zs', [{ port: 80 }], { namespace: 'zz' }),
    ]),
    config(),
  );
  const names = new Map(after.proxyConfig.clusters.map((c) => [c.name, c]));
  for (const c of before.proxyConfig.clusters) assert.deepEqual(names.get(c.name), c, c.name);
  assert.equal(after.proxyConfig.clusters.length, before.proxyConfig.clusters.length + 1);
});

test('property: error-free configurations (weight-0 services, replaced routes, empty children) emit only what is referenced', () => {
  const svcRefs = fc.array(fc.record({ name: fc.constantFrom('s', 't'), port: fc.constant(80), weight: fc.constantFrom(0, 0, 1, 5) }), { minLength: 1, maxLength: 3 });
  const route = fc.record({ conditions: fc.constantFrom([], [{ prefix: '/a' }], [{ prefix: '/b' }]), services: svcRefs });
  fc.assert(
    fc.property(
      fc.array(route, { maxLength: 4 }),
      fc.array(route, { maxLength: 3 }),
      fc.boolean(),
      fc.boolean(),
      (rootRoutes, childRoutes, tls, withChild) => {
        const includeChild = withChild || rootRoutes.length === 0;
        const objects = [
          root('r', 'r.example.com', {
            ...(tls ? { tls: { secretName: 'edge' } } : {}),
            routes: rootRoutes as never,
            ...(includeChild ? { includes: [{ name: 'c', conditions: [{ prefix: '/c' }] }] } : {}),
          }),
          ...(includeChild ? [proxy('c', { routes: childRoutes as never })] : []),
          service('s'),
          service('t'),
          tlsSecret('edge', pair),
        ];
        const r = build(snapshot(objects), config());
        for (const s of r.statuses) assert.deepEqual(s.conditions[0]!.errors, [], `${s.name} is valid`);
        assertReferentialIntegrity(r.proxyConfig);
      },
    ),
    { numRuns: 300 },
  );
});
