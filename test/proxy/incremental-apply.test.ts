// Applying configs one after another, as a worker does with config deltas
// (unchanged items stay the same objects), must serve exactly what a fresh
// runtime given the same config serves, and must not compile again what
// did not change.

import assert from 'node:assert/strict';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import type { Cluster, ProxyConfig, SecureVirtualHost, TlsSecret, VirtualHost } from '../../src/dag/proxy-config.ts';
import { ClusterRegistry } from '../../src/proxy/cluster.ts';
import { RouteTableCompiler } from '../../src/proxy/route-table.ts';
import { ProxyStats } from '../../src/proxy/stats.ts';
import { TlsTableBuilder } from '../../src/proxy/tls-choice.ts';
import { ProxyConfigDeltas, ProxyConfigReplica } from '../../src/serve/config-delta.ts';
import { createCa, type Issued } from '../support/pki.ts';
import { cluster, config, ep, get, httpBackend, route, secureVhost, startProxy, upstreamTls, vhost, wc, type Backend, type Started } from './fixtures.ts';

let a: Backend;
let b: Backend;
let c: Backend;
let cert1: Issued;
let cert2: Issued;
let fallbackCert: Issued;

before(async () => {
  [a, b, c] = await Promise.all([httpBackend('a'), httpBackend('b'), httpBackend('c')]);
  const ca = await createCa('incremental CA');
  cert1 = await ca.issue({ dnsNames: ['sec.test'] });
  cert2 = await ca.issue({ dnsNames: ['sec.test'] });
  fallbackCert = await ca.issue({ dnsNames: ['fallback.test'] });
});

after(async () => {
  await Promise.all([a.close(), b.close(), c.close()]);
});

const LISTENERS = [{ name: 'http' }, { name: 'https', tls: true }];
const HOSTS = ['one.test', 'two.test', 'three.test', 'four.test', 'nothing.test'];
const PATHS = ['/', '/x/1'];
const SNIS = ['sec.test', 'mirror.test', 'nothing.test'];

/** What a client sees from every host and path, over HTTP and HTTPS. */
async function observe(p: Started): Promise<string[]> {
  const seen: string[] = [];
  for (const host of HOSTS) {
    for (const path of PATHS) {
      const r = await get(p.port('http'), path, { host });
      seen.push(`http ${host}${path} ${r.status} ${r.headers['x-backend'] ?? '-'}`);
    }
  }
  for (const sni of SNIS) seen.push(`https ${sni} ${await tlsGet(p.port('https'), sni)}`);
  return seen;
}

function tlsGet(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', servername, headers: { host: servername }, rejectUnauthorized: false, agent: false },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.resume();
        res.on('end', () => resolve(`${res.statusCode} ${res.headers['x-backend'] ?? '-'} ${fingerprint}`));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
    req.end();
  });
}

function secret(id: string, cert: Issued): TlsSecret {
  return { id, certPem: cert.certPem, keyPem: cert.keyPem };
}

/** Each step edits the one before and keeps every object it does not
 *  change, as the DAG does; the worker side gets them through real deltas. */
function steps(): { what: string; config: ProxyConfig }[] {
  const out: { what: string; config: ProxyConfig }[] = [];
  const one = vhost('one.test', [route({ to: 'a' })]);
  const two = vhost('two.test', [route({ to: 'b' })]);
  const three = vhost('three.test', [route({ path: { kind: 'prefix', value: '/x' }, to: 'b' }), route({ to: 'a' })]);
  const sec = secureVhost('sec.test', [route({ to: 'a' })], { secretId: 'ns/sec' });
  const mirror = secureVhost('mirror.test', [route({ action: { kind: 'forward', clusters: [wc('b')], mirrors: [{ cluster: 'c', percent: 100 }] } })], { secretId: 'ns/sec' });
  let cfg = config({
    clusters: [cluster('a', [ep(a)]), cluster('b', [ep(b)]), cluster('c', [ep(c)])],
    httpVirtualHosts: [one, two, three],
    httpsVirtualHosts: [sec, mirror],
    secrets: [secret('ns/sec', cert1), secret('ns/fallback', fallbackCert)],
  });
  const step = (what: string, change: (c: ProxyConfig) => ProxyConfig): void => {
    cfg = change(cfg);
    out.push({ what, config: cfg });
  };
  step('start', (x) => x);
  step('cluster a moves to backend c; the virtual hosts naming it are the same objects', (x) => ({
    ...x,
    clusters: x.clusters.map((k) => (k.name === 'a' ? cluster('a', [ep(c)]) : k)),
  }));
  step('cluster b removed', (x) => ({ ...x, clusters: x.clusters.filter((k) => k.name !== 'b') }));
  step('cluster b back', (x) => ({ ...x, clusters: [...x.clusters, cluster('b', [ep(b)])] }));
  step('the certificate secret changes, the virtual host does not', (x) => ({
    ...x,
    secrets: x.secrets.map((s) => (s.id === 'ns/sec' ? secret('ns/sec', cert2) : s)),
  }));
  step('a fallback certificate, a new host, a host removed', (x) => ({
    ...x,
    fallbackCertificateId: 'ns/fallback',
    httpVirtualHosts: [...x.httpVirtualHosts.filter((v) => v.fqdn !== 'three.test'), vhost('four.test', [route({ to: 'c' })])],
  }));
  step('an HTTPS route changes; the secret goes missing for the other host', (x) => ({
    ...x,
    httpsVirtualHosts: [secureVhost('sec.test', [route({ to: 'b' })], { secretId: 'ns/sec' }), { ...mirror, secretId: 'ns/gone' }],
  }));
  step('fallback off, cluster a back to backend a', (x) => {
    const { fallbackCertificateId: _, ...rest } = x;
    return { ...rest, clusters: x.clusters.map((k) => (k.name === 'a' ? cluster('a', [ep(a)]) : k)) };
  });
  return out;
}

test('config after config through deltas serves exactly what a fresh runtime given each config serves', async () => {
  const deltas = new ProxyConfigDeltas();
  const replica = new ProxyConfigReplica();
  const sequence = steps();
  const incremental = await startProxy(config(), LISTENERS);
  try {
    for (const [i, { what, config: cfg }] of sequence.entries()) {
      const received = replica.receive(deltas.next(i + 1, cfg));
      assert.ok(received.applied);
      incremental.proxy.apply(received.config);
      const fresh = await startProxy(JSON.parse(JSON.stringify(cfg)) as ProxyConfig, LISTENERS);
      try {
        assert.deepEqual(await observe(incremental), await observe(fresh), `step ${i + 1}: ${what}`);
      } finally {
        await fresh.close();
      }
    }
    // The steps did change what is served (so the comparison means something).
    const last = await observe(incremental);
    assert.ok(last.includes('http one.test/ 200 a'));
    assert.ok(last.includes('http four.test/ 200 c'));
    assert.ok(last.some((l) => l.startsWith('https sec.test 200 b ')));
  } finally {
    await incremental.close();
  }
});

test('unchanged clusters, virtual hosts and TLS choices are kept; what they depend on changing rebuilds them', () => {
  const registry = new ClusterRegistry(new ProxyStats(), () => {});
  const routes = new RouteTableCompiler();
  const tls = new TlsTableBuilder(undefined);
  const apply = (cfg: ProxyConfig) => {
    const clusters = registry.apply(cfg);
    return { clusters, tables: routes.compile(cfg, clusters), tls: tls.build(cfg, clusters, () => {}) };
  };
  try {
    const ka: Cluster = cluster('a', [{ address: '127.0.0.1', port: 1 }]);
    const kb: Cluster = cluster('b', [{ address: '127.0.0.1', port: 2 }]);
    const one: VirtualHost = vhost('one.test', [route({ to: 'a' })]);
    const two: VirtualHost = vhost('two.test', [route({ to: 'b' })]);
    const sec: SecureVirtualHost = secureVhost('sec.test', [route({ to: 'a' })], { secretId: 'ns/sec' });
    const s1 = secret('ns/sec', cert1);
    const cfg1 = config({ clusters: [ka, kb], httpVirtualHosts: [one, two], httpsVirtualHosts: [sec], secrets: [s1] });
    const r1 = apply(cfg1);

    // The same objects again: everything kept.
    const r2 = apply({ ...cfg1 });
    assert.equal(r2.clusters.get('a'), r1.clusters.get('a'));
    assert.equal(r2.tables.http.lookup('one.test'), r1.tables.http.lookup('one.test'));
    assert.equal(r2.tables.https.lookup('sec.test'), r1.tables.https.lookup('sec.test'));
    assert.equal(r2.tls.byName.lookup('sec.test'), r1.tls.byName.lookup('sec.test'));

    // Cluster a rebuilt: what names it is compiled again against the new
    // runtime; what names only b is kept.
    const ka2 = cluster('a', [{ address: '127.0.0.1', port: 3 }]);
    const r3 = apply({ ...cfg1, clusters: [ka2, kb] });
    assert.notEqual(r3.clusters.get('a'), r1.clusters.get('a'));
    assert.equal(r3.clusters.get('b'), r1.clusters.get('b'));
    assert.notEqual(r3.tables.http.lookup('one.test'), r1.tables.http.lookup('one.test'));
    assert.equal(r3.tables.http.lookup('one.test')!.routes[0]!.backends[0]!.cluster, r3.clusters.get('a'));
    assert.equal(r3.tables.http.lookup('two.test'), r1.tables.http.lookup('two.test'));
    assert.equal(r3.tls.byName.lookup('sec.test'), r1.tls.byName.lookup('sec.test'), 'a terminating choice names no cluster');

    // The secret's content changes under the same id: a new TLS choice (new key).
    const r4 = apply({ ...cfg1, clusters: [ka2, kb], secrets: [secret('ns/sec', cert2)] });
    assert.notEqual(r4.tls.byName.lookup('sec.test')!.key, r3.tls.byName.lookup('sec.test')!.key);
    assert.equal(r4.tables.https.lookup('sec.test'), r3.tables.https.lookup('sec.test'));

    // An upstream TLS cluster is rebuilt when its CA bundle object is
    // replaced, kept while it is the same.
    const kv = cluster('v', [{ address: '127.0.0.1', port: 4 }], { protocol: 'tls', tls: upstreamTls({ validation: { caBundleId: 'ns/ca', subjectNames: ['v.test'] } }) });
    const ca1 = { id: 'ns/ca', caPem: cert1.certPem };
    const v1 = apply({ ...cfg1, clusters: [ka2, kb, kv], caBundles: [ca1] });
    const v2 = apply({ ...cfg1, clusters: [ka2, kb, kv], caBundles: [ca1] });
    assert.equal(v2.clusters.get('v'), v1.clusters.get('v'));
    const v3 = apply({ ...cfg1, clusters: [ka2, kb, kv], caBundles: [{ id: 'ns/ca', caPem: cert2.certPem }] });
    assert.notEqual(v3.clusters.get('v'), v1.clusters.get('v'));

    // A cluster that goes missing and comes back.
    const r5 = apply({ ...cfg1, clusters: [ka2] });
    assert.equal(r5.tables.http.lookup('two.test')!.routes[0]!.backends[0]!.cluster, undefined);
    const r6 = apply({ ...cfg1, clusters: [ka2, kb] });
    assert.equal(r6.tables.http.lookup('two.test')!.routes[0]!.backends[0]!.cluster, r6.clusters.get('b'));
  } finally {
    registry.close();
  }
});

test('warnings of a kept virtual host are said again, as a fresh compile says them', () => {
  const routes = new RouteTableCompiler();
  const bad = vhost('bad.test', [route({ path: { kind: 'regex', value: '/(unclosed' }, to: 'a' }), route({ to: 'a' })]);
  const cfg = config({ httpVirtualHosts: [bad] });
  for (let i = 0; i < 2; i++) {
    const warnings: string[] = [];
    const t = routes.compile(cfg, new Map(), (fqdn, m) => warnings.push(`${fqdn}: ${m}`));
    assert.equal(t.http.lookup('bad.test')!.routes.length, 1);
    assert.equal(warnings.length, 1, `apply ${i + 1}`);
  }
});
