// An Ingress and a root HTTPProxy on one host, as Contour's one DAG holds
// them (the Ingress processor runs first, the HTTPProxy processor writes
// into the same virtual hosts): the routes of both, the HTTPProxy's route
// where both match the same requests, the HTTPProxy's TLS and virtual host
// settings for all of it; an HTTPProxy that produces nothing leaves the
// Ingress's virtual host as it is.
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { assertStatuses, endpoints, ingress, root, rule, run, service, tlsSecret, VALID, vhost } from './fixtures.ts';
import { assertIngresses, routePaths, routeServices, SERVED, type IngressExpect } from './ingress-fixtures.ts';
import { test } from 'node:test';

const ca = await createCa('shared host CA');
const pair = await ca.issue({ dnsNames: ['a.example.com'] });
const other = await ca.issue({ dnsNames: ['a.example.com'] });
const base = [service('p'), endpoints('p', ['10.0.0.1'], 80), service('i', [{ port: 81 }]), endpoints('i', ['10.0.0.2'], 81), tlsSecret('proxy-cert', pair), tlsSecret('ing-cert', other)];
const SHARED: IngressExpect = { problems: [['warning', 'spec.rules', /^host "a\.example\.com" is also the fqdn of HTTPProxy default\/p: one virtual host serves the routes of both/]] };

test('routes of both; the HTTPProxy\'s route replaces the Ingress\'s for identical matches', () => {
  const r = run([
    ingress('ing', { rules: [rule('a.example.com', ['/', 'ImplementationSpecific', 'i', 81], ['/ing', 'Exact', 'i', 81])] }),
    root('p', 'a.example.com', { routes: [{ services: [{ name: 'p', port: 80 }] }, { conditions: [{ prefix: '/proxy' }], services: [{ name: 'p', port: 80 }] }] }),
    ...base,
  ]);
  assertStatuses(r, { p: VALID });
  assertIngresses(r, { ing: SHARED });
  assert.deepEqual(routePaths(r, 'a.example.com'), ['exact:/ing', 'prefix:/proxy', 'prefix:/']);
  assert.deepEqual(routeServices(r, 'a.example.com'), ['i:81', 'p:80', 'p:80']);
  assert.equal(r.proxyConfig.httpVirtualHosts.length, 1);
  assert.deepEqual(r.proxyConfig.clusters.map((c) => c.service).sort(), ['i', 'p'], 'only clusters a surviving route reaches');
});

test('the HTTPProxy\'s TLS settings win; the Ingress\'s routes stay on the TLS listener only when an Ingress asked for TLS on the host', () => {
  const withTls = run([
    ingress('ing', { tls: [{ hosts: ['a.example.com'], secretName: 'ing-cert' }], rules: [rule('a.example.com', ['/ing', 'Prefix', 'i', 81])] }, { annotations: { 'projectcontour.io/tls-minimum-protocol-version': '1.3' } }),
    root('p', 'a.example.com', { tls: { secretName: 'proxy-cert', minimumProtocolVersion: '1.2' }, routes: [{ services: [{ name: 'p', port: 80 }] }] }),
    ...base,
  ]);
  assertStatuses(withTls, { p: VALID });
  const s = vhost(withTls, 'a.example.com', true)!;
  assert.equal(s.secretId, 'default/proxy-cert');
  assert.equal(s.minVersion, '1.2');
  assert.deepEqual(routePaths(withTls, 'a.example.com', true), ['segment:/ing', 'prefix:/']);
  assert.deepEqual(withTls.proxyConfig.secrets.map((x) => x.id), ['default/proxy-cert'], 'the Ingress Secret no virtual host uses is not sent');
  // Plain listener: the HTTPProxy redirects its routes, the Ingress's are served.
  const plain = vhost(withTls, 'a.example.com')!;
  assert.deepEqual(plain.routes.map((x) => [x.path.value, x.httpsRedirect ?? false]), [['/ing', false], ['/', true]]);

  const noIngressTls = run([ingress('ing', { rules: [rule('a.example.com', ['/ing', 'Prefix', 'i', 81])] }), root('p', 'a.example.com', { tls: { secretName: 'proxy-cert' }, routes: [{ services: [{ name: 'p', port: 80 }] }] }), ...base]);
  assert.deepEqual(routePaths(noIngressTls, 'a.example.com', true), ['prefix:/']);
  assert.deepEqual(routePaths(noIngressTls, 'a.example.com'), ['segment:/ing', 'prefix:/']);
});

test('the HTTPProxy\'s virtual host settings cover the Ingress\'s routes', () => {
  const r = run([
    ingress('ing', { rules: [rule('a.example.com', ['/ing', 'Prefix', 'i', 81])] }),
    root('p', 'a.example.com', { routes: [{ services: [{ name: 'p', port: 80 }] }] }),
    ...base,
  ].map((o) => (o.kind === 'HTTPProxy' ? { ...o, spec: { ...o.spec, virtualhost: { ...o.spec.virtualhost!, ipAllowPolicy: [{ source: 'Peer' as const, cidr: '10.0.0.0/8' }] } } } : o)));
  assertStatuses(r, { p: VALID });
  const v = vhost(r, 'a.example.com')!;
  assert.ok(v.ipFilter, 'the virtual host\'s filter');
  assert.equal(v.routes.find((x) => x.path.value === '/ing')!.ipFilter, undefined, 'an Ingress route has none of its own, so the virtual host\'s applies');
});

test('an HTTPProxy that makes no virtual host (a missing TLS Secret, a duplicated fqdn) leaves the Ingress\'s virtual host as it is, with no warning', () => {
  for (const proxies of [
    [root('p', 'a.example.com', { tls: { secretName: 'missing' }, routes: [{ services: [{ name: 'p', port: 80 }] }] })],
    [root('p', 'a.example.com', { routes: [{ services: [{ name: 'p', port: 80 }] }] }), root('q', 'a.example.com', { routes: [{ services: [{ name: 'p', port: 80 }] }] })],
  ]) {
    const r = run([ingress('ing', { rules: [rule('a.example.com', ['/ing', 'Prefix', 'i', 81])] }), ...proxies, ...base]);
    assert.ok(r.statuses.every((s) => s.currentStatus === 'invalid'));
    assertIngresses(r, { ing: SERVED });
    const paths = routePaths(r, 'a.example.com');
    assert.ok(paths[0] === 'segment:/ing', paths.join());
  }
});

test('an HTTPProxy on another host is untouched (the same objects come out)', () => {
  const proxyOnly = run([root('p', 'b.example.com', { routes: [{ services: [{ name: 'p', port: 80 }] }] }), ...base]);
  const both = run([root('p', 'b.example.com', { routes: [{ services: [{ name: 'p', port: 80 }] }] }), ingress('ing', { rules: [rule('a.example.com', ['/', 'Prefix', 'i', 81])] }), ...base]);
  assert.deepEqual(vhost(both, 'b.example.com'), vhost(proxyOnly, 'b.example.com'));
  assertIngresses(both, { ing: SERVED });
  assertStatuses(both, { p: VALID });
});
