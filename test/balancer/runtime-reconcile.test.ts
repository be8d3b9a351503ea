// In-place reconciliation: unchanged and edited listeners keep their
// sockets and open connections, ports are freed before they are bound again,
// certificates rotate for new handshakes only, and a listener whose key
// cannot be read keeps its previous state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { BalancerRuntime } from '../../src/balancer/index.ts';
import { createCa } from '../support/pki.ts';
import { configOf, edgeCertificate, keyProvider, listener, readUntil, startTarget, tcpConnect, tlsOf } from './support.ts';

const ca = await createCa();
const issuedA = await ca.issue({ dnsNames: ['a.test'] });
const certA = edgeCertificate(issuedA, ['a.test']);

async function tlsClient(port: number, servername = 'a.test'): Promise<TLSSocket> {
  const s = tlsConnect({ host: '127.0.0.1', port, servername, ca: ca.certPem });
  await once(s, 'secureConnect');
  return s;
}

async function echo(s: import('node:net').Socket, word: string): Promise<void> {
  s.write(`${word}\n`);
  await readUntil(s, (x) => x.includes(`${word}\n`));
}

test('edits keep a long-lived connection open and the port bound; TCP -> TLS swaps the handler in place', async (t) => {
  const t1 = await startTarget('t1');
  const t2 = await startTarget('t2');
  const keys = keyProvider([certA]);
  const rt = new BalancerRuntime({ keys });
  t.after(async () => {
    await rt.close(0);
    await t1.close();
    await t2.close();
  });
  const base = listener({ id: 'default/web:80', servicePort: 80, targets: [t1.target] });
  await rt.apply(configOf(base));
  const port = rt.address('default/web:80')?.port;
  assert.ok(port);
  const longLived = await tcpConnect(port);
  await readUntil(longLived, (x) => x.includes('hello from t1'));
  await echo(longLived, 'one');

  // Add a second listener, change the health check and the target list.
  await rt.apply(
    configOf(
      { ...base, targets: [t1.target, t2.target], healthCheck: { ...base.healthCheck, intervalMs: 30_000 } },
      listener({ id: 'default/web:443', targets: [t2.target], protocol: 'TLS', tls: tlsOf([certA]) }),
    ),
  );
  assert.equal(rt.address('default/web:80')?.port, port, 'same socket');
  await echo(longLived, 'two');

  // The same port turns TLS: new connections speak TLS, the old one goes on.
  await rt.apply(configOf({ ...base, protocol: 'TLS', tls: tlsOf([certA]) }));
  assert.equal(rt.address('default/web:80')?.port, port);
  assert.equal(rt.address('default/web:443'), undefined, 'removed listener is closed');
  const c = await tlsClient(port);
  await readUntil(c, (x) => x.includes('hello from t1'));
  c.destroy();
  await echo(longLived, 'three');
  assert.equal(rt.health().listeners['default/web:80'].bound, true);
  longLived.destroy();
});

test('a port is released before another listener binds it (moves and swaps in one apply)', async (t) => {
  const tg = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    await tg.close();
  });
  await rt.apply(configOf(listener({ id: 'a', targets: [tg.target] }), listener({ id: 'b', targets: [tg.target] })));
  const pa = rt.address('a')?.port;
  const pb = rt.address('b')?.port;
  assert.ok(pa && pb);
  // Swap the two ports.
  await rt.apply(configOf(listener({ id: 'a', bindPort: pb, targets: [tg.target] }), listener({ id: 'b', bindPort: pa, targets: [tg.target] })));
  assert.equal(rt.address('a')?.port, pb);
  assert.equal(rt.address('b')?.port, pa);
  assert.deepEqual(
    Object.values(rt.health().listeners).map((h) => h.problems),
    [[], []],
  );
  // A listener takes the port of one that leaves.
  await rt.apply(configOf(listener({ id: 'c', bindPort: pb, targets: [tg.target] })));
  assert.equal(rt.address('c')?.port, pb);
  assert.equal(rt.address('a'), undefined);
  const s = await tcpConnect(pb);
  await readUntil(s, (x) => x.includes('hello from t'));
  s.destroy();
});

test('a port held by someone else is reported, not thrown', async (t) => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const port = (blocker.address() as { port: number }).port;
  const rt = new BalancerRuntime({ keys: keyProvider([]) });
  t.after(async () => {
    await rt.close(0);
    blocker.close();
  });
  await rt.apply(configOf(listener({ id: 'x', bindPort: port, targets: [] })));
  const h = rt.health().listeners.x;
  assert.equal(h.bound, false);
  assert.match(h.problems.join('\n'), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
});

test('certificate rotation: new handshakes get the new certificate, open connections continue', async (t) => {
  const tg = await startTarget('t');
  const renewed = await ca.issue({ dnsNames: ['a.test'], notAfterDays: 90 });
  const keys = keyProvider([certA]);
  const rt = new BalancerRuntime({ keys });
  t.after(async () => {
    await rt.close(0);
    await tg.close();
  });
  const l = listener({ protocol: 'TLS', tls: tlsOf([certA]), targets: [tg.target] });
  await rt.apply(configOf(l));
  const port = rt.address(l.id)?.port;
  assert.ok(port);
  const before = await tlsClient(port);
  await readUntil(before, (x) => x.includes('hello'));
  const serialBefore = before.getPeerX509Certificate()?.serialNumber;

  keys.set(certA.edge.arn, renewed.keyPem);
  const rotated = { ...certA.edge, certPem: renewed.certPem };
  await rt.apply(configOf({ ...l, tls: { ...l.tls!, certificates: [rotated] } }));
  assert.equal(rt.address(l.id)?.port, port);
  const after = await tlsClient(port);
  const serialAfter = after.getPeerX509Certificate()?.serialNumber;
  assert.notEqual(serialAfter, serialBefore);
  assert.equal(serialAfter, new (await import('node:crypto')).X509Certificate(renewed.certPem).serialNumber);
  after.destroy();
  await echo(before, 'still-here');
  before.destroy();
});

test('a key that cannot be read: a new TLS listener does not start, an edited one keeps its previous certificate', async (t) => {
  const tg = await startTarget('t');
  const other = edgeCertificate(await ca.issue({ dnsNames: ['b.test'] }), ['b.test']);
  const keys = keyProvider([certA]); // no key for `other`
  const rt = new BalancerRuntime({ keys });
  t.after(async () => {
    await rt.close(0);
    await tg.close();
  });
  const good = listener({ id: 'good', protocol: 'TLS', tls: tlsOf([certA]), targets: [tg.target] });
  const bad = listener({ id: 'bad', protocol: 'TLS', tls: tlsOf([other]), targets: [tg.target] });
  await rt.apply(configOf(good, bad));
  let h = rt.health().listeners;
  assert.equal(h.good.bound, true);
  assert.equal(h.bad.bound, false);
  assert.match(h.bad.problems[0], /listener bad: cannot read the private key of arn:aws:acm:.*: no certificate .*; it is not started/);

  const port = rt.address('good')?.port;
  assert.ok(port);
  await rt.apply(configOf({ ...good, tls: tlsOf([other]) }, bad));
  h = rt.health().listeners;
  assert.equal(h.good.bound, true);
  assert.match(h.good.problems[0], /it keeps its previous configuration/);
  const c = await tlsClient(port, 'a.test');
  assert.match(c.getPeerX509Certificate()?.subjectAltName ?? '', /a\.test/);
  c.destroy();

  // Once the key is readable, the next apply takes.
  keys.set(other.edge.arn, other.keyPem);
  await rt.apply(configOf({ ...good, tls: tlsOf([other]) }, bad));
  h = rt.health().listeners;
  assert.deepEqual(h.good.problems, []);
  assert.equal(h.bad.bound, true);
  const c2 = await tlsClient(port, 'b.test');
  assert.match(c2.getPeerX509Certificate()?.subjectAltName ?? '', /b\.test/);
  c2.destroy();
});
