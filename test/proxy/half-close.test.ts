// A load balancer's TCP health check opens a connection, sends a PROXY v2
// LOCAL header and closes. The proxy must close its side at once: a socket
// left half-open would sit in CLOSE-WAIT and hold up every drain.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { createCa } from '../support/pki.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;

before(async () => {
  const ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['app.example.test'] });
  app = await httpBackend('app');
  p = await startProxy(
    config({
      clusters: [cluster('app', [ep(app)])],
      secrets: [{ id: 'default/app', ...cert }],
      httpVirtualHosts: [vhost('app.example.test', [route({ to: 'app' })])],
      httpsVirtualHosts: [secureVhost('app.example.test', [route({ to: 'app' })], { secretId: 'default/app' })],
    }),
    [
      { name: 'pp', proxyProtocol: true },
      { name: 'pps', proxyProtocol: true, tls: true },
      { name: 'plain' },
    ],
    // Long enough that only the fix, not a timer, can close the socket in time.
    { headersTimeoutMs: 60_000, tlsInspectorTimeoutMs: 60_000, proxyProtocolTimeoutMs: 60_000 },
  );
});

after(async () => {
  await p.close();
  await app.close();
});

/** Connects, writes `bytes` and closes, as a TCP health check does; then
 *  waits for the proxy to have no connection left open. */
async function probe(port: number, bytes: Buffer): Promise<'closed' | 'still open'> {
  await new Promise<void>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      if (bytes.length) s.write(bytes);
      s.end(() => {
        s.destroy();
        resolve();
      });
    });
    s.on('error', () => resolve());
  });
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if (p.proxy.stats().activeConnections === 0) return 'closed';
    await new Promise((r) => setTimeout(r, 20));
  }
  return 'still open';
}

test('PROXY LOCAL then close: the plain listener closes its side', async () => {
  assert.equal(await probe(p.port('pp'), encodeV2({ command: 'LOCAL' })), 'closed');
});

test('PROXY LOCAL then close: the TLS listener closes its side before any ClientHello', async () => {
  assert.equal(await probe(p.port('pps'), encodeV2({ command: 'LOCAL' })), 'closed');
});

test('a connection that sends nothing and closes is closed', async () => {
  assert.equal(await probe(p.port('plain'), Buffer.alloc(0)), 'closed');
});

test('traffic still flows after the probes', async () => {
  const s = net.connect({ host: '127.0.0.1', port: p.port('plain') });
  const answer = await new Promise<string>((resolve) => {
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => resolve(data));
    s.write('GET / HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n');
  });
  assert.match(answer, /^HTTP\/1\.1 200/);
});
