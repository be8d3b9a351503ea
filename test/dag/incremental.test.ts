// DagBuilder keeps a root's result while nothing it read has changed. The
// contract: after any sequence of snapshots, its output is deep-equal to a
// fresh build() of the last one, and it recomputes only what an edit touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCa } from '../support/pki.ts';
import { build, DagBuilder } from '../../src/dag/index.ts';
import type { AnyObject, RejectedObject } from '../../src/objects/types.ts';
import {
  caSecret,
  config,
  delegation,
  endpoints,
  ingress,
  ingressClass,
  proxy,
  rejected,
  root,
  rule,
  secret,
  service,
  slice,
  snapshot,
  tlsSecret,
  tlsService,
} from './fixtures.ts';

const ca = await createCa('incremental CA');
const pair = await ca.issue({ dnsNames: ['a.example.com'] });
const other = await createCa('other CA');

type Obj = AnyObject | RejectedObject;

/** Slots: one object identity each, with the versions it can take. A
 *  snapshot picks one version (or none) per slot; versions are reused by
 *  reference across snapshots, as the object cache does. */
const slots: Obj[][] = [
  [
    root('a', 'a.example.com', {
      tls: { secretName: 'edge' },
      routes: [{ services: [{ name: 's', port: 80 }, { name: 't', port: 443, validation: { caSecret: 'ca', subjectName: 'backend' } }] }],
      includes: [{ name: 'child', conditions: [{ prefix: '/child' }] }],
    }),
    root('a', 'a.example.com', { routes: [{ services: [{ name: 's', port: 80, weight: 0 }, { name: 'u', port: 80 }] }], includes: [{ name: 'child2', conditions: [{ prefix: '/c2' }] }] }),
    root('a', 'shared.example.com', { routes: [{ services: [{ name: 's', port: 80 }] }] }),
  ],
  [
    proxy('child', { routes: [{ conditions: [{ exact: '/e' }], services: [{ name: 's', port: 80 }] }] }),
    proxy('child', { routes: [{ services: [{ name: 'nope', port: 80 }] }], includes: [{ name: 'child2', conditions: [{ prefix: '/deeper' }] }] }),
    proxy('child', { routes: [{ services: [{ name: 't', port: 443, validation: { caSecret: 'other/ca', subjectName: 'backend' } }] }] }),
  ],
  [
    proxy('child2', { routes: [{ services: [{ name: 's', port: 80 }] }] }),
    proxy('child2', { includes: [{ name: 'child', conditions: [{ prefix: '/loop' }] }] }),
    root('child2', 'child2.example.com', { routes: [{ services: [{ name: 's', port: 80 }] }] }),
  ],
  [rejected('child', [{ path: 'spec.routes', message: 'must be an array' }])],
  [
    root('b', 'b.example.com', { routes: [{ services: [{ name: 's', port: 80 }] }], includes: [{ name: 'child', namespace: 'default', conditions: [{ prefix: '/x' }] }] }, 'other'),
    root('b', 'shared.example.com', { tls: { secretName: 'default/edge' }, routes: [{ services: [{ name: 's', port: 80 }] }] }, 'other'),
  ],
  [root('tcp', 'tcp.example.com', { tls: { passthrough: true }, tcpproxy: { services: [{ name: 't', port: 443 }] } }), root('tcp', 'tcp.example.com', { tls: { passthrough: true }, tcpproxy: { include: { name: 'child2' } } })],
  [service('s', [{ port: 80, targetPort: 8080 }]), service('s', [{ port: 80, targetPort: 9090 }]), service('s', [{ port: 81 }])],
  [tlsService('t'), service('t', [{ port: 443 }])],
  [service('u', [{ port: 80 }])],
  [service('s', [{ port: 80 }], { namespace: 'other' })],
  [tlsService('t', 443, 'other')],
  [endpoints('s', ['10.0.0.2', '10.0.0.1'], 8080), endpoints('s', ['10.0.0.9'], 9090)],
  [slice('s-a', 's', [{ ip: '10.0.0.3' }], 8080), slice('s-a', 's', [{ ip: '10.0.0.5', ready: false }], 8080)],
  [endpoints('t', ['10.0.1.1'], 443)],
  [tlsSecret('edge', pair), secret('edge', { 'tls.crt': 'not a certificate', 'tls.key': 'x' }, 'kubernetes.io/tls')],
  [caSecret('ca', ca.certPem), caSecret('ca', other.certPem)],
  [caSecret('ca', ca.certPem, 'other')],
  [delegation('d', 'default', [{ secretName: 'edge', targetNamespaces: ['other'] }]), delegation('d', 'default', [{ secretName: 'edge', targetNamespaces: ['*'] }])],
  [delegation('d', 'other', [{ secretName: 'ca', targetNamespaces: ['default'] }])],
  // Ingresses: on their own hosts, on a root's host, with TLS, of another class.
  [
    ingress('web', { rules: [rule('ing.example.com', ['/', 'Prefix', 's', 80], ['/t', 'Exact', 't', 443])] }),
    ingress('web', { tls: [{ hosts: ['shared.example.com'], secretName: 'edge' }], rules: [rule('shared.example.com', ['/ing', 'Prefix', 's', 80], ['/', 'Prefix', 'u', 80])] }),
    ingress('web', { defaultBackend: { service: { name: 's', port: { number: 80 } } } }, { annotations: { 'ingress.kubernetes.io/force-ssl-redirect': 'true' } }),
    ingress('web', { ingressClassName: 'mine', rules: [rule('a.example.com', ['/ing', 'ImplementationSpecific', 'missing', 80])] }),
  ],
  [
    ingress('tls', { tls: [{ hosts: ['secure.example.com'], secretName: 'edge' }], rules: [rule('secure.example.com', ['/', 'Prefix', 't', 443])] }, { namespace: 'other' }),
    ingress('tls', { tls: [{ hosts: ['a.example.com'], secretName: 'default/edge' }], rules: [rule('a.example.com', ['/', 'Prefix', 's', 80])] }, { namespace: 'other' }),
  ],
  [ingressClass('mine', 'projectcontour.io/ingress-controller'), ingressClass('mine', 'example.com/other', true)],
];

/** One version index per slot; -1 leaves the slot empty. */
const pick = fc.tuple(...slots.map((versions) => fc.integer({ min: -1, max: versions.length - 1 })));

function objectsOf(choice: number[]): Obj[] {
  const out: Obj[] = [];
  choice.forEach((v, i) => {
    if (v >= 0) out.push(slots[i]![v]!);
  });
  return out;
}

test('property: after any sequence of snapshots, DagBuilder gives exactly what a fresh build gives', () => {
  const cfg = config();
  let reused = 0;
  fc.assert(
    fc.property(fc.array(pick, { minLength: 2, maxLength: 8 }), (steps) => {
      const builder = new DagBuilder();
      for (const choice of steps) {
        const snap = snapshot(objectsOf(choice));
        const got = builder.build(snap, cfg);
        assert.deepEqual(got, build(snap, cfg));
        const roots = got.statuses.filter((s) => s.fqdn !== '').length;
        if (builder.recomputed < roots) reused++;
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(reused > 0, 'some builds reused a root');
});

test('an edit recomputes only the roots that read what changed', () => {
  const cfg = config();
  const objects: Obj[] = [
    service('one', [{ port: 80 }]),
    service('two', [{ port: 80 }]),
    endpoints('one', ['10.0.0.1'], 80),
    endpoints('two', ['10.0.0.2'], 80),
    root('r1', 'r1.example.com', { routes: [{ services: [{ name: 'one', port: 80 }] }] }),
    root('r2', 'r2.example.com', { routes: [{ services: [{ name: 'two', port: 80 }] }], includes: [{ name: 'kid' }] }),
    root('r3', 'r3.example.com', { routes: [{ services: [{ name: 'one', port: 80 }] }] }),
    proxy('kid', { routes: [{ conditions: [{ prefix: '/kid' }], services: [{ name: 'one', port: 80 }] }] }),
  ];
  const builder = new DagBuilder();
  const first = builder.build(snapshot(objects), cfg);
  assert.equal(builder.recomputed, 3);

  // Nothing changed: nothing recomputed, and the very same objects come out.
  const same = builder.build(snapshot(objects), cfg);
  assert.equal(builder.recomputed, 0);
  assert.equal(same.proxyConfig.httpVirtualHosts[0], first.proxyConfig.httpVirtualHosts[0]);

  // Endpoints of "two": only r2 read them.
  const edited = objects.map((o) => (o === objects[3] ? endpoints('two', ['10.0.0.3'], 80) : o));
  const next = builder.build(snapshot(edited), cfg);
  assert.equal(builder.recomputed, 1);
  assert.deepEqual(next, build(snapshot(edited), cfg));
  assert.equal(next.proxyConfig.httpVirtualHosts.find((v) => v.fqdn === 'r1.example.com'), first.proxyConfig.httpVirtualHosts.find((v) => v.fqdn === 'r1.example.com'));

  // The included child changes: its root (r2) is recomputed, r1 and r3 are not.
  const kid = edited.map((o) => (o === objects[7] ? proxy('kid', { routes: [{ conditions: [{ prefix: '/kid2' }], services: [{ name: 'one', port: 80 }] }] }) : o));
  builder.build(snapshot(kid), cfg);
  assert.equal(builder.recomputed, 1);

  // A new root: only it is computed.
  const added = [...kid, root('r4', 'r4.example.com', { routes: [{ services: [{ name: 'missing', port: 80 }] }] })];
  const withNew = builder.build(snapshot(added), cfg);
  assert.equal(builder.recomputed, 1);
  assert.deepEqual(withNew, build(snapshot(added), cfg));

  // The Service the new root was missing appears: only r4 looked for it.
  const fixed = [...added, service('missing', [{ port: 80 }])];
  builder.build(snapshot(fixed), cfg);
  assert.equal(builder.recomputed, 1);

  // A different configuration object: everything is computed again.
  builder.build(snapshot(fixed), config());
  assert.equal(builder.recomputed, 4);
});

test('a new configuration object drops every memo, the view included', () => {
  const objects: Obj[] = [
    service('ext', [{ port: 80 }], { type: 'ExternalName', externalName: 'backend.example.net' }),
    root('r', 'r.example.com', { routes: [{ services: [{ name: 'ext', port: 80 }] }] }),
  ];
  const off = config();
  const on = config((c) => {
    c.enableExternalNameService = true;
  });
  const builder = new DagBuilder();
  const snap = snapshot(objects);
  assert.equal(builder.build(snap, off).statuses[0]!.currentStatus, 'invalid');
  const enabled = builder.build(snap, on);
  assert.deepEqual(enabled, build(snap, on));
  assert.equal(enabled.statuses[0]!.currentStatus, 'valid');
});

test('a caller that edits its snapshot arrays between builds still gets fresh results', () => {
  const cfg = config();
  const snap = snapshot([service('one', [{ port: 80 }]), root('r1', 'r1.example.com', { routes: [{ services: [{ name: 'one', port: 80 }] }] })]);
  const builder = new DagBuilder();
  builder.build(snap, cfg);
  snap.httpproxies.push(root('r2', 'r2.example.com', { routes: [{ services: [{ name: 'one', port: 80 }] }] }));
  snap.services[0] = service('one', [{ port: 81 }]);
  const got = builder.build(snap, cfg);
  assert.deepEqual(got, build(snap, cfg));
  // Port 80 is gone from the Service: both roots report it, r2 included.
  assert.deepEqual(
    got.statuses.map((s) => [s.name, s.currentStatus]),
    [
      ['r1', 'invalid'],
      ['r2', 'invalid'],
    ],
  );
});

test('an Ingress is recomputed only when it, or what it read, changed', () => {
  const cfg = config();
  const objects: Obj[] = [
    service('one', [{ port: 80 }]),
    service('two', [{ port: 80 }]),
    endpoints('two', ['10.0.0.2'], 80),
    ingress('i1', { rules: [rule('i1.example.com', ['/', 'Prefix', 'one', 80])] }),
    ingress('i2', { rules: [rule('i2.example.com', ['/', 'Prefix', 'two', 80])] }),
  ];
  const builder = new DagBuilder();
  const first = builder.build(snapshot(objects), cfg);
  assert.equal(builder.ingressesRecomputed, 2);
  const same = builder.build(snapshot(objects), cfg);
  assert.equal(builder.ingressesRecomputed, 0);
  assert.equal(same.proxyConfig.httpVirtualHosts[0], first.proxyConfig.httpVirtualHosts[0], 'the very same virtual host object');
  const edited = objects.map((o) => (o === objects[2] ? endpoints('two', ['10.0.0.3'], 80) : o));
  const got = builder.build(snapshot(edited), cfg);
  assert.equal(builder.ingressesRecomputed, 1);
  assert.deepEqual(got, build(snapshot(edited), cfg));
  assert.deepEqual(
    got.proxyConfig.clusters.find((c) => c.service === 'two')?.endpoints,
    [{ address: '10.0.0.3', port: 80 }],
  );
});
