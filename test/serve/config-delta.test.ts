// Proxy config deltas: what the primary sends for a new version, and how a
// worker's replica takes it (or refuses it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyConfig, VirtualHost } from '../../src/dag/proxy-config.ts';
import { ProxyConfigDeltas, ProxyConfigReplica, type ProxyConfigDelta } from '../../src/serve/config-delta.ts';
import { cluster, config, route, secureVhost, vhost } from '../proxy/fixtures.ts';

/** Lists sorted by key, so configs compare whatever their order. */
function canonical(c: ProxyConfig): ProxyConfig {
  const by = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  const out: ProxyConfig = {
    httpVirtualHosts: [...c.httpVirtualHosts].sort(by((v) => v.fqdn)),
    httpsVirtualHosts: [...c.httpsVirtualHosts].sort(by((v) => v.fqdn)),
    clusters: [...c.clusters].sort(by((x) => x.name)),
    secrets: [...c.secrets].sort(by((s) => s.id)),
    caBundles: [...c.caBundles].sort(by((x) => x.id)),
  };
  if (c.fallbackCertificateId !== undefined) out.fallbackCertificateId = c.fallbackCertificateId;
  return JSON.parse(JSON.stringify(out)) as ProxyConfig;
}

function base(): ProxyConfig {
  return config({
    clusters: [cluster('a', [{ address: '10.0.0.1', port: 80 }]), cluster('b', [{ address: '10.0.0.2', port: 80 }])],
    httpVirtualHosts: [vhost('one.test', [route({ to: 'a' })]), vhost('two.test', [route({ to: 'b' })])],
    httpsVirtualHosts: [secureVhost('one.test', [route({ to: 'a' })], { secretId: 'ns/one' })],
    secrets: [{ id: 'ns/one', certPem: 'CERT', keyPem: 'KEY' }],
  });
}

function delta(text: string): ProxyConfigDelta {
  return JSON.parse(text) as ProxyConfigDelta;
}

test('the first version goes whole; an unchanged next one is an empty delta', () => {
  const deltas = new ProxyConfigDeltas();
  const c = base();
  const first = deltas.next(1, c);
  assert.equal(first.base, undefined);
  assert.deepEqual(canonical(JSON.parse(first.text) as ProxyConfig), canonical(c));
  assert.equal(first.changed, 6);

  const second = deltas.next(2, c);
  assert.equal(second.base, 1);
  assert.equal(second.changed, 0);
  assert.deepEqual(delta(second.text), { upsert: {}, remove: {} });
});

test('an item that is the same object is not turned into JSON again; an equal copy is not sent', () => {
  const deltas = new ProxyConfigDeltas();
  let made = 0;
  const counted = (v: VirtualHost): VirtualHost =>
    Object.assign(v, {
      toJSON() {
        made++;
        const { toJSON: _, ...rest } = this as VirtualHost & { toJSON: unknown };
        return rest;
      },
    });
  const c = base();
  c.httpVirtualHosts[0] = counted(c.httpVirtualHosts[0]!);
  deltas.next(1, c);
  assert.equal(made, 1);
  deltas.next(2, { ...c });
  assert.equal(made, 1, 'same object: no JSON made');

  // A new object with the same content: JSON made, nothing sent.
  const copy = base();
  const d = deltas.next(3, copy);
  assert.equal(d.changed, 0);
  assert.deepEqual(delta(d.text), { upsert: {}, remove: {} });
});

test('changes, removals, re-adds and the fallback certificate reach the replica', () => {
  const deltas = new ProxyConfigDeltas();
  const replica = new ProxyConfigReplica();
  const send = (version: number, c: ProxyConfig) => {
    const u = deltas.next(version, c);
    const r = replica.receive(u);
    assert.ok(r.applied);
    assert.deepEqual(canonical(r.config), canonical(c), `version ${version}`);
    assert.equal(replica.version, version);
    return { u, r };
  };
  const c1 = base();
  send(1, c1);

  // One virtual host changes: only it crosses, the others stay the same objects.
  const before = replica.config();
  const c2 = { ...c1, httpVirtualHosts: [c1.httpVirtualHosts[0]!, vhost('two.test', [route({ to: 'a' })])] };
  const { u: u2, r: r2 } = send(2, c2);
  assert.equal(u2.changed, 1);
  assert.deepEqual(Object.keys(delta(u2.text).upsert), ['httpVirtualHosts']);
  assert.equal(delta(u2.text).upsert.httpVirtualHosts![0]!.fqdn, 'two.test');
  assert.ok(r2.applied);
  assert.equal(r2.config.httpVirtualHosts.find((v) => v.fqdn === 'one.test'), before.httpVirtualHosts.find((v) => v.fqdn === 'one.test'));
  assert.notEqual(r2.config.httpVirtualHosts.find((v) => v.fqdn === 'two.test'), before.httpVirtualHosts.find((v) => v.fqdn === 'two.test'));
  assert.equal(r2.config.clusters[0], before.clusters[0]);
  assert.equal(r2.changed, 1);

  // Removal of a virtual host and a cluster.
  const c3 = { ...c2, httpVirtualHosts: [c2.httpVirtualHosts[0]!], clusters: [c2.clusters[0]!] };
  const { u: u3 } = send(3, c3);
  assert.deepEqual(delta(u3.text).remove, { httpVirtualHosts: ['two.test'], clusters: ['b'] });
  assert.equal(u3.changed, 2);

  // Re-added, as it was before it went.
  const c4 = { ...c3, httpVirtualHosts: [...c3.httpVirtualHosts, c2.httpVirtualHosts[1]!], clusters: c2.clusters };
  const { u: u4 } = send(4, c4);
  assert.deepEqual(delta(u4.text).upsert.httpVirtualHosts!.map((v) => v.fqdn), ['two.test']);
  assert.deepEqual(delta(u4.text).upsert.clusters!.map((x) => x.name), ['b']);

  // The fallback certificate: set, changed, unset.
  const { u: u5 } = send(5, { ...c4, fallbackCertificateId: 'ns/one' });
  assert.equal(delta(u5.text).fallbackCertificateId, 'ns/one');
  assert.equal(u5.changed, 1);
  const { u: u6 } = send(6, { ...c4, fallbackCertificateId: 'ns/two', secrets: [...c4.secrets, { id: 'ns/two', certPem: 'C2', keyPem: 'K2' }] });
  assert.equal(delta(u6.text).fallbackCertificateId, 'ns/two');
  const { u: u7, r: r7 } = send(7, c4);
  assert.equal(delta(u7.text).fallbackCertificateId, undefined);
  assert.deepEqual(delta(u7.text).remove, { secrets: ['ns/two'] });
  assert.ok(r7.applied);
  assert.equal(r7.config.fallbackCertificateId, undefined);

  // The whole config of the last version, for a worker with nothing.
  const fresh = new ProxyConfigReplica();
  const whole = deltas.whole(7);
  assert.equal(whole.base, undefined);
  const rw = fresh.receive(whole);
  assert.ok(rw.applied);
  assert.deepEqual(canonical(rw.config), canonical(c4));
  assert.equal(deltas.whole(7), whole, 'made once per version');
  assert.throws(() => deltas.whole(6), /version 6 asked, last made is 7/);
});

test('a delta on another version than the one held is refused and changes nothing', () => {
  const deltas = new ProxyConfigDeltas();
  const replica = new ProxyConfigReplica();
  const c1 = base();
  const u1 = deltas.next(1, c1);
  const u2 = deltas.next(2, { ...c1, httpVirtualHosts: [vhost('new.test', [route({ to: 'a' })])] });

  // Nothing held (a worker just forked): refused.
  assert.deepEqual(new ProxyConfigReplica().receive(u2), { applied: false, reason: 'delta against version 1, holding none' });

  assert.ok(replica.receive(u1).applied);
  const held = replica.config();
  // An unknown base (one the worker skipped): refused, the held config intact.
  const r = replica.receive({ version: 3, base: 2, text: '{"upsert":{},"remove":{"httpVirtualHosts":["one.test"]}}' });
  assert.deepEqual(r, { applied: false, reason: 'delta against version 2, holding 1' });
  assert.equal(replica.version, 1);
  assert.deepEqual(replica.config(), held);
  // Its own base: taken.
  assert.ok(replica.receive(u2).applied);
  assert.equal(replica.version, 2);
});

test('a malformed update throws and leaves nothing to build on', () => {
  const deltas = new ProxyConfigDeltas();
  const c1 = base();
  const u1 = deltas.next(1, c1);
  const malformed = [
    '{not json',
    '[]',
    '{"upsert":{"clusters":{}},"remove":{}}',
    '{"upsert":{"httpVirtualHosts":[{"routes":[]}]},"remove":{}}',
    '{"upsert":{},"remove":{"clusters":[1]}}',
    '{"upsert":{},"remove":{},"fallbackCertificateId":7}',
  ];
  for (const text of malformed) {
    const replica = new ProxyConfigReplica();
    assert.ok(replica.receive(u1).applied);
    assert.throws(() => replica.receive({ version: 2, base: 1, text }), Error, text);
    assert.equal(replica.version, undefined, `${text}: holds nothing after`);
    assert.equal(replica.receive({ version: 3, base: 2, text: '{"upsert":{},"remove":{}}' }).applied, false, 'the next delta is refused');
    assert.ok(replica.receive(deltas.whole(1)).applied, 'a whole config is taken');
  }
  assert.throws(() => new ProxyConfigReplica().receive({ version: 1, text: '{"clusters":[{"name":3}]}' }), /an item of clusters has no name/);
});

test('forget(): after an update the runtime could not apply, deltas are refused until a whole config', () => {
  const deltas = new ProxyConfigDeltas();
  const replica = new ProxyConfigReplica();
  const c1 = base();
  assert.ok(replica.receive(deltas.next(1, c1)).applied);
  const u2 = deltas.next(2, { ...c1, secrets: [] });
  assert.ok(replica.receive(u2).applied);
  replica.forget();
  const u3 = deltas.next(3, c1);
  assert.equal(replica.receive(u3).applied, false);
  const r = replica.receive(deltas.whole(3));
  assert.ok(r.applied);
  assert.deepEqual(canonical(r.config), canonical(c1));
});

test('a long run of random changes: the replica always equals the config sent', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const deltas = new ProxyConfigDeltas();
  const replica = new ProxyConfigReplica();
  let c = base();
  for (let v = 1; v <= 300; v++) {
    const next: ProxyConfig = { ...c, httpVirtualHosts: [...c.httpVirtualHosts], clusters: [...c.clusters], secrets: [...c.secrets] };
    const k = rnd(8);
    const host = `h${rnd(12)}.test`;
    const name = `c${rnd(6)}`;
    if (k === 0) next.httpVirtualHosts = next.httpVirtualHosts.filter((x) => x.fqdn !== host);
    else if (k <= 2) next.httpVirtualHosts = [...next.httpVirtualHosts.filter((x) => x.fqdn !== host), vhost(host, [route({ to: name, path: { kind: 'prefix', value: `/${rnd(3)}` } })])];
    else if (k === 3) next.clusters = next.clusters.filter((x) => x.name !== name);
    else if (k === 4) next.clusters = [...next.clusters.filter((x) => x.name !== name), cluster(name, [{ address: `10.0.0.${rnd(4)}`, port: 80 }])];
    else if (k === 5) next.secrets = rnd(2) ? [] : [{ id: 'ns/one', certPem: `CERT${rnd(3)}`, keyPem: 'KEY' }];
    else if (k === 6) {
      if (rnd(2)) next.fallbackCertificateId = 'ns/one';
      else delete next.fallbackCertificateId;
    }
    c = next;
    const r = replica.receive(deltas.next(v, c));
    assert.ok(r.applied);
    assert.deepEqual(canonical(r.config), canonical(c), `version ${v}`);
  }
});
