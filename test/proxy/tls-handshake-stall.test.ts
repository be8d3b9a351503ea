// A TLS client that sends its ClientHello and then stalls, or closes its
// side, before the handshake is done: the proxy closes the connection at
// the handshake timeout. Node only reports such a handshake, and each one
// left open held a socket (enough of them exhausted a worker's files).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { createCa } from '../support/pki.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, startProxy, type Backend, type Started } from './fixtures.ts';

const HANDSHAKE_MS = 600;
let app: Backend;
let p: Started;

before(async () => {
  const ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['s.test'] });
  app = await httpBackend('app');
  p = await startProxy(
    config({ clusters: [cluster('app', [ep(app)])], secrets: [{ id: 'default/s', ...cert }], httpsVirtualHosts: [secureVhost('s.test', [route({ to: 'app' })], { secretId: 'default/s' })] }),
    [{ name: 'https', tls: true }],
    { tlsHandshakeTimeoutMs: HANDSHAKE_MS },
  );
});

after(async () => {
  await p.close();
  await app.close();
});

/** A raw connection that carries a real client's ClientHello, and nothing
 *  after it: the client never sees the ServerHello, so it never answers. */
function stalledHandshake(endAfterHello: boolean): Promise<{ raw: net.Socket; closedAfterMs: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: '127.0.0.1', port: p.port('https') }, () => {
      const started = Date.now();
      const closedAfterMs = new Promise<number>((done) => raw.once('close', () => done(Date.now() - started)));
      let sent = false;
      const wire = new Duplex({
        read() {},
        write(chunk: Buffer, _enc, cb) {
          if (!sent) {
            sent = true;
            raw.write(chunk, () => {
              if (endAfterHello) raw.end();
            });
          }
          cb();
        },
      });
      const client = tls.connect({ socket: wire, servername: 's.test', rejectUnauthorized: false });
      client.on('error', () => {});
      raw.on('error', () => {});
      raw.resume();
      resolve({ raw, closedAfterMs });
    });
    raw.once('error', reject);
  });
}

for (const endAfterHello of [false, true]) {
  test(`a handshake that stalls after the ClientHello${endAfterHello ? ' and a FIN' : ''} is closed at the handshake timeout, and counted`, async () => {
    const failures = p.proxy.stats().tlsHandshakeFailures ?? 0;
    const { raw, closedAfterMs } = await stalledHandshake(endAfterHello);
    // Without the close it would hang: give up well after the timeout.
    const ms = await Promise.race([closedAfterMs, new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), HANDSHAKE_MS + 3000).unref())]);
    raw.destroy();
    assert.ok(ms >= HANDSHAKE_MS * 0.8 && ms < HANDSHAKE_MS + 3000, `closed after ${ms} ms`);
    assert.equal(p.proxy.stats().tlsHandshakeFailures, failures + 1);
    // The listener still serves whole handshakes.
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: p.port('https'), servername: 's.test', headers: { host: 's.test' }, rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    assert.equal(status, 200);
  });
}
