// Ingress tls: Contour's computeSecureVirtualhosts. A host named in tls
// with a usable Secret is a secure virtual host for every Ingress's rules
// of that host; the Secret may sit in another namespace through
// projectcontour.io/tls-cert-namespace (or "ns/name") and a
// TLSCertificateDelegation; TLS versions come from annotations; and
// force-ssl-redirect / allow-http decide the plain listener.
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { delegation, endpoints, ingress, rule, secret, service, tlsSecret, vhost } from './fixtures.ts';
import { runIngressRows, routePaths, SERVED, type IngressRow } from './ingress-fixtures.ts';

const ca = await createCa('ingress tls CA');
const pair = await ca.issue({ dnsNames: ['a.example.com'] });
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80), tlsSecret('cert', pair)];
const tlsIngress = (annotations: Record<string, string> = {}, secretName = 'cert', namespace = 'default') =>
  ingress('i', { tls: [{ hosts: ['a.example.com'], secretName }], rules: [rule('a.example.com', ['/', 'Prefix', 's', 80])] }, { annotations, namespace });

const rows: IngressRow[] = [
  {
    name: 'a tls host with a valid Secret is served on both listeners by default',
    objects: [tlsIngress(), ...base],
    expect: { i: SERVED },
    check: (r) => {
      const s = vhost(r, 'a.example.com', true)!;
      assert.equal(s.secretId, 'default/cert');
      assert.deepEqual([s.minVersion, s.maxVersion], ['1.2', '1.3']);
      assert.deepEqual(routePaths(r, 'a.example.com', true), ['prefix:/']);
      assert.equal(vhost(r, 'a.example.com')!.routes[0]!.httpsRedirect, undefined);
      assert.deepEqual(r.proxyConfig.secrets.map((x) => x.id), ['default/cert']);
      assert.deepEqual(r.ingresses[0]!.ports, [80, 443]);
    },
  },
  {
    name: 'force-ssl-redirect: the plain listener redirects, the secure one serves',
    objects: [tlsIngress({ 'ingress.kubernetes.io/force-ssl-redirect': 'true' }), ...base],
    expect: { i: SERVED },
    check: (r) => {
      assert.equal(vhost(r, 'a.example.com')!.routes[0]!.httpsRedirect, true);
      assert.equal(vhost(r, 'a.example.com', true)!.routes[0]!.httpsRedirect, undefined);
    },
  },
  {
    name: 'allow-http "false": no plain route; force-ssl-redirect outweighs it',
    objects: [tlsIngress({ 'kubernetes.io/ingress.allow-http': 'false' }), ...base],
    expect: { i: SERVED },
    check: (r) => {
      assert.equal(vhost(r, 'a.example.com'), undefined);
      assert.ok(vhost(r, 'a.example.com', true));
    },
  },
  {
    name: 'allow-http "false" on a host without TLS, or on the default backend: a warning that it is not served',
    objects: [
      ingress('i', { defaultBackend: { service: { name: 's', port: { number: 80 } } }, rules: [rule('b.example.com', ['/', 'Prefix', 's', 80])] }, { annotations: { 'kubernetes.io/ingress.allow-http': 'false' } }),
      ...base,
    ],
    expect: {
      i: {
        problems: [
          ['warning', 'kubernetes.io/ingress.allow-http', 'is "false", and a rule without a host (or the default backend) is never served over TLS: those paths are not served'],
          ['warning', 'kubernetes.io/ingress.allow-http', 'is "false" and this Ingress has no usable TLS for host "b.example.com": it is served only if another Ingress\'s tls names that host'],
        ],
      },
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'allow-http "false" with force-ssl-redirect "true" keeps the redirecting plain route',
    objects: [tlsIngress({ 'kubernetes.io/ingress.allow-http': 'false', 'ingress.kubernetes.io/force-ssl-redirect': 'true' }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.equal(vhost(r, 'a.example.com')!.routes[0]!.httpsRedirect, true),
  },
  {
    name: 'TLS versions from the annotations; an unknown version is Contour\'s default, with a warning',
    objects: [tlsIngress({ 'projectcontour.io/tls-minimum-protocol-version': '1.3', 'projectcontour.io/tls-maximum-protocol-version': '1.4' }), ...base],
    expect: {
      i: { problems: [['warning', 'projectcontour.io/tls-maximum-protocol-version', '"1.4" is not a TLS version isobar offers (1.2 or 1.3); using 1.3, as Contour does']] },
    },
    check: (r) => assert.deepEqual([vhost(r, 'a.example.com', true)!.minVersion, vhost(r, 'a.example.com', true)!.maxVersion], ['1.3', '1.3']),
  },
  {
    name: 'a maximum below the minimum: no TLS host of the Ingress, plain HTTP still served',
    objects: [tlsIngress({ 'projectcontour.io/tls-minimum-protocol-version': '1.3', 'projectcontour.io/tls-maximum-protocol-version': '1.2' }), ...base],
    expect: {
      i: { problems: [['error', 'projectcontour.io/tls-maximum-protocol-version', 'the maximum TLS version 1.2 is below the minimum 1.3; no TLS host of this Ingress is served']] },
    },
    check: (r) => {
      assert.equal(r.proxyConfig.httpsVirtualHosts.length, 0);
      assert.ok(vhost(r, 'a.example.com'));
    },
  },
  {
    name: 'a missing or malformed Secret: the host is plain HTTP only, and the Ingress says so',
    objects: [
      ingress('i', { tls: [{ hosts: ['a.example.com'], secretName: 'gone' }, { hosts: ['b.example.com'], secretName: 'bad' }], rules: [rule('a.example.com', ['/', 'Prefix', 's', 80]), rule('b.example.com', ['/', 'Prefix', 's', 80])] }),
      secret('bad', { 'tls.crt': 'x', 'tls.key': 'y' }, 'kubernetes.io/tls'),
      ...base,
    ],
    expect: {
      i: {
        problems: [
          ['error', 'spec.tls[0].secretName', 'Secret "default/gone": Secret not found: its hosts are served over plain HTTP only'],
          ['error', 'spec.tls[1].secretName', /^Secret "default\/bad": .*: its hosts are served over plain HTTP only$/],
        ],
      },
    },
    check: (r) => {
      assert.equal(r.proxyConfig.httpsVirtualHosts.length, 0);
      assert.deepEqual(r.proxyConfig.secrets, []);
    },
  },
  {
    name: 'a Secret in another namespace needs a TLSCertificateDelegation (tls-cert-namespace)',
    objects: [tlsIngress({ 'projectcontour.io/tls-cert-namespace': 'default' }, 'cert', 'apps'), service('s', [{ port: 80 }], { namespace: 'apps' }), ...base],
    expect: {
      'apps/i': {
        problems: [['error', 'spec.tls[0].secretName', 'Secret "default/cert" is not delegated to namespace "apps" (add a TLSCertificateDelegation in namespace "default"): its hosts are served over plain HTTP only']],
      },
    },
    check: (r) => assert.equal(r.proxyConfig.httpsVirtualHosts.length, 0),
  },
  {
    name: 'with the delegation, "namespace/name" and tls-cert-namespace both reach the Secret',
    objects: [
      tlsIngress({}, 'default/cert', 'apps'),
      ingress('j', { tls: [{ hosts: ['b.example.com'], secretName: 'cert' }], rules: [rule('b.example.com', ['/', 'Prefix', 's', 80])] }, { namespace: 'apps', annotations: { 'projectcontour.io/tls-cert-namespace': 'default' } }),
      delegation('d', 'default', [{ secretName: 'cert', targetNamespaces: ['apps'] }]),
      service('s', [{ port: 80 }], { namespace: 'apps' }),
      ...base,
    ],
    expect: { 'apps/i': SERVED, 'apps/j': SERVED },
    check: (r) => {
      assert.equal(vhost(r, 'a.example.com', true)!.secretId, 'default/cert');
      assert.equal(vhost(r, 'b.example.com', true)!.secretId, 'default/cert');
    },
  },
  {
    name: 'one Ingress\'s tls makes the host secure for another Ingress\'s rules of that host',
    objects: [
      ingress('a-tls', { tls: [{ hosts: ['a.example.com'], secretName: 'cert' }], rules: [rule('a.example.com', ['/a', 'Prefix', 's', 80])] }),
      ingress('b-plain', { rules: [rule('a.example.com', ['/b', 'Prefix', 's', 80])] }),
      ...base,
    ],
    expect: { 'a-tls': SERVED, 'b-plain': SERVED },
    check: (r) => assert.deepEqual(routePaths(r, 'a.example.com', true), ['segment:/b', 'segment:/a']),
  },
  {
    name: 'a tls entry without secretName cannot be served over TLS (isobar has no default Ingress certificate)',
    objects: [ingress('i', { tls: [{ hosts: ['a.example.com'] }], rules: [rule('a.example.com', ['/', 'Prefix', 's', 80])] }), ...base],
    expect: { i: { problems: [['error', 'spec.tls[0].secretName', 'is not set, and isobar has no default certificate for Ingress hosts: these hosts are served over plain HTTP only']] } },
    check: (r) => assert.equal(r.proxyConfig.httpsVirtualHosts.length, 0),
  },
];

runIngressRows(rows);
