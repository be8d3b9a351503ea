// Source ranges on real sockets: clients bound to different loopback
// addresses (all of 127.0.0.0/8 is loopback) and ::1 against a dual-stack
// listener. An allowed client completes TLS and reaches the target with its
// own address in the PROXY header; a refused one sees the connection closed
// with zero bytes, and the target sees nothing. Refusals are counted and
// logged at most once a second per listener.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { pino } from 'pino';
import { BalancerRuntime, type BalancerListener } from '../../src/balancer/index.ts';
import { createCa } from '../support/pki.ts';
import { hello, sni } from '../tls/hello-bytes.ts';
import { configOf, edgeCertificate, keyProvider, listener, readUntil, startTarget, tlsOf, waitFor } from './support.ts';

const ca = await createCa();
const cert = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);
const ID = 'default/web:443';

interface Client {
  host: string;
  localAddress?: string;
}
const FROM_2: Client = { host: '127.0.0.1', localAddress: '127.0.0.2' };
const FROM_3: Client = { host: '127.0.0.1', localAddress: '127.0.0.3' };
const FROM_V6: Client = { host: '::1' };

/** A TLS client: handshake, one line through the target and back. */
async function tlsRoundTrip(port: number, c: Client): Promise<string> {
  const s = tlsConnect({ ...c, port, servername: 'a.test', ca: ca.certPem });
  try {
    await once(s, 'secureConnect');
    s.write('ping\n');
    return await readUntil(s, (t) => t.includes('ping\n'));
  } finally {
    s.destroy();
  }
}

/** A TLS client that must not get through: resolves with how it ended. */
async function tlsRefused(port: number, c: Client): Promise<string> {
  const s = tlsConnect({ ...c, port, servername: 'a.test', ca: ca.certPem });
  const outcome = await new Promise<string>((resolve) => {
    s.once('secureConnect', () => resolve('handshake completed'));
    s.once('error', (e) => resolve(`error: ${e.message}`));
  });
  s.destroy();
  return outcome;
}

/** Sends a ClientHello on a plain socket and counts the bytes that come
 *  back until the server closes (or the first bytes arrive). */
async function rawHello(port: number, c: Client): Promise<{ bytes: number; closed: boolean }> {
  const s: Socket = connect({ ...c, port });
  let bytes = 0;
  s.on('error', () => {});
  await once(s, 'connect');
  s.write(hello([sni('a.test')]));
  const result = await new Promise<{ bytes: number; closed: boolean }>((resolve) => {
    const timer = setTimeout(() => resolve({ bytes, closed: false }), 3000);
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      clearTimeout(timer);
      resolve({ bytes, closed: false });
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ bytes, closed: true });
    });
  });
  s.destroy();
  return result;
}

/** Client flows a target received (health checks send a LOCAL header). */
function flows(target: { received: { header?: { command: string } }[] }): number {
  return target.received.filter((r) => r.header?.command === 'PROXY').length;
}

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, refusals: () => lines.filter((l) => String(l['msg']).startsWith('connection refused')) };
}

async function setup(t: { after(fn: () => Promise<void>): void }, over: Partial<BalancerListener>) {
  const target = await startTarget('t', { proxy: true });
  const log = logCapture();
  const rt = new BalancerRuntime({ keys: keyProvider([cert]), logger: log.logger });
  t.after(async () => {
    await rt.close(0);
    await target.close();
  });
  const l = listener({ bindAddress: '::', protocol: 'TLS', tls: tlsOf([cert]), targets: [target.target], proxyProtocol: true, ...over });
  await rt.apply(configOf(l));
  const port = rt.address(ID)!.port;
  return { target, rt, port, log, l };
}

test('TLS listener: allowed addresses complete TLS and reach the target; others are closed with zero bytes', async (t) => {
  const { target, rt, port } = await setup(t, { sourceRanges: ['127.0.0.2/32', '::1/128'] });

  assert.equal(await tlsRoundTrip(port, FROM_2), 'hello from t\nping\n');
  assert.equal(target.received.at(-1)?.header?.source?.address, '127.0.0.2', 'the client address in the PROXY header');
  assert.equal(await tlsRoundTrip(port, FROM_V6), 'hello from t\nping\n');
  assert.equal(target.received.at(-1)?.header?.source?.address, '::1');
  assert.equal(flows(target), 2);

  // The same bytes from an allowed address get an answer (here an alert:
  // the hand-made hello offers nothing the policy accepts).
  const answered = await rawHello(port, FROM_2);
  assert.ok(answered.bytes > 0, 'an allowed ClientHello is answered');
  const targetSawBefore = flows(target);
  assert.deepEqual(await rawHello(port, FROM_3), { bytes: 0, closed: true }, 'a refused ClientHello gets nothing back');
  assert.match(await tlsRefused(port, FROM_3), /^error: /);
  assert.equal(flows(target), targetSawBefore, 'the target saw nothing of the refused clients');
  assert.equal(rt.health().listeners[ID]!.refused, 2);
});

test('a config change moves the ranges on the same socket; an open flow keeps going', async (t) => {
  const { rt, port, l } = await setup(t, { sourceRanges: ['127.0.0.2/32'] });
  const open = tlsConnect({ ...FROM_2, port, servername: 'a.test', ca: ca.certPem });
  await once(open, 'secureConnect');
  open.write('one\n');
  await readUntil(open, (x) => x.includes('one\n'));

  await rt.apply(configOf({ ...l, sourceRanges: ['127.0.0.3/32', '10.0.0.0/8'] }));
  assert.equal(rt.address(ID)!.port, port, 'not rebound');
  assert.equal(await tlsRoundTrip(port, FROM_3), 'hello from t\nping\n');
  assert.deepEqual(await rawHello(port, FROM_2), { bytes: 0, closed: true });
  assert.deepEqual(await rawHello(port, FROM_V6), { bytes: 0, closed: true });
  open.write('two\n');
  assert.match(await readUntil(open, (x) => x.includes('two\n')), /two\n$/, 'the connection accepted before the change is served on');
  open.destroy();
  assert.equal(rt.health().listeners[ID]!.refused, 2);
});

test('IPv4 ranges match IPv4 clients on a dual-stack socket; IPv6 clients need an IPv6 range', async (t) => {
  const { port } = await setup(t, { sourceRanges: ['127.0.0.0/8'] });
  assert.equal(await tlsRoundTrip(port, FROM_3), 'hello from t\nping\n');
  assert.deepEqual(await rawHello(port, FROM_V6), { bytes: 0, closed: true });
});

test('TCP listener: a refused client never sees the bytes a target sends first', async (t) => {
  const { target, port } = await setup(t, { protocol: 'TCP', tls: undefined, sourceRanges: ['127.0.0.2/32'] });
  const allowed = connect({ ...FROM_2, port });
  assert.equal(await readUntil(allowed, (x) => x.includes('\n')), 'hello from t\n');
  allowed.destroy();
  const refused = connect({ ...FROM_3, port });
  refused.on('error', () => {});
  let bytes = 0;
  refused.on('data', (d: Buffer) => (bytes += d.length));
  await once(refused, 'close');
  assert.equal(bytes, 0);
  assert.equal(flows(target), 1);
});

test('refusals are counted and logged at most once a second, with the count of the suppressed ones', async (t) => {
  const { rt, port, log } = await setup(t, { protocol: 'TCP', tls: undefined, sourceRanges: ['127.0.0.2/32'] });
  const start = Date.now();
  const N = 25;
  for (let i = 0; i < N; i++) {
    const s = connect({ ...FROM_3, port });
    s.on('error', () => {});
    await once(s, 'close');
  }
  await waitFor('every refusal accounted for in the log', () => log.refusals().reduce((n, l) => n + 1 + Number(l['suppressed']), 0) === N, 5000);
  const elapsedS = (Date.now() - start) / 1000;
  const lines = log.refusals();
  assert.ok(lines.length >= 2 && lines.length <= Math.ceil(elapsedS) + 1, `${lines.length} lines in ${elapsedS} s`);
  assert.equal(lines[0]!['remote'], '::ffff:127.0.0.3');
  assert.equal(lines[0]!['listener'], ID);
  assert.equal(lines.at(-1)!['refusedTotal'], N);
  assert.equal(rt.health().listeners[ID]!.refused, N);
});

test('an empty list lets nobody in', async (t) => {
  const { port } = await setup(t, { sourceRanges: [] });
  assert.deepEqual(await rawHello(port, FROM_2), { bytes: 0, closed: true });
});
