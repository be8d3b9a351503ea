// A request body that arrives slower than the route's response timeout:
// the timeout runs from the request's end, as Envoy's route timeout, so the
// upload is answered by the upstream. And a response that starts before its
// request has arrived whole (here a local 403) closes the connection after
// it: the rest of the body is never read as a request, and no second
// response (node:http's 408 at its request timeout) follows the first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { IpFilterConfig } from '../../src/dag/index.ts';
import { cluster, config, ep, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

const RESPONSE_MS = 300;
const denyAll: IpFilterConfig = { action: 'deny', rules: [{ cidr: '0.0.0.0/0', source: 'Peer' }] };
let app: Backend;
let p: Started;

before(async () => {
  app = await httpBackend('app', (_req, res, seen) => res.end(`got ${seen.body.length}`));
  p = await startProxy(
    config({
      httpVirtualHosts: [
        vhost('up.test', [
          route({ to: 'app', path: { kind: 'prefix', value: '/denied' }, ipFilter: denyAll }),
          route({ to: 'app', timeouts: { responseMs: RESPONSE_MS, idleMs: null } }),
        ]),
      ],
      clusters: [cluster('app', [ep(app)])],
    }),
    [{ name: 'http' }],
    { downstream: { requestTimeoutMs: 1500 } },
  );
});

after(async () => {
  await p.close();
  await app.close();
});

/** Sends a POST head, then its body in `pieces` one every `gapMs`; what
 *  comes back until the connection closes (or `waitMs` passes). */
function slowPost(path: string, pieces: number, gapMs: number, waitMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: p.port('http') });
    let text = '';
    let closed = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      clearTimeout(giveUp);
      resolve({ text, closed });
    });
    const giveUp = setTimeout(() => {
      s.destroy();
      resolve({ text, closed });
    }, waitMs);
    s.once('connect', () => {
      s.write(`POST ${path} HTTP/1.1\r\nhost: up.test\r\ncontent-length: ${pieces}\r\n\r\n`);
      let sent = 0;
      const t = setInterval(() => {
        if (s.destroyed || sent === pieces) return clearInterval(t);
        s.write('x');
        sent++;
      }, gapMs);
    });
    s.once('error', reject);
  });
}

test('an upload slower than the response timeout is answered by the upstream: the timeout starts when the body has arrived', async () => {
  const r = await slowPost('/upload', 6, 120, 5000);
  assert.match(r.text, /^HTTP\/1\.1 200 /);
  assert.match(r.text, /got 6$/);
  assert.equal((r.text.match(/HTTP\/1\.1 /g) ?? []).length, 1);
});

test('a local reply before the body has arrived closes the connection after it, and is the only response', async () => {
  const r = await slowPost('/denied', 20, 100, 4000);
  assert.match(r.text, /^HTTP\/1\.1 403 /);
  assert.match(r.text, /\r\nconnection: close\r\n/i);
  assert.equal((r.text.match(/HTTP\/1\.1 /g) ?? []).length, 1, r.text);
  assert.equal(r.closed, true, 'the connection closed');
});
