// IP filters on real requests through the proxy runtime: clients bound to
// different loopback addresses, Remote from the PROXY header, Peer from
// the socket, route rules replacing the virtual host's, spoofed
// X-Forwarded-For, HTTP/2 and WebSocket upgrades. A refused request gets
// Envoy's 403 and the upstream never sees it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import type { IpFilterConfig } from '../../src/dag/index.ts';
import { cluster, config, ep, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;
const allow = (...cidrs: string[]): IpFilterConfig => ({ action: 'allow', rules: cidrs.map((cidr) => ({ cidr, source: 'Remote' as const })) });
const deny = (...cidrs: string[]): IpFilterConfig => ({ action: 'deny', rules: cidrs.map((cidr) => ({ cidr, source: 'Remote' as const })) });

before(async () => {
  app = await httpBackend('app');
  const vh = {
    ...vhost('filtered.test', [
      // In Contour's precedence order, as the DAG hands them over.
      route({ to: 'app', path: { kind: 'prefix', value: '/open' }, ipFilter: deny('192.0.2.0/24') }),
      route({ to: 'app', path: { kind: 'prefix', value: '/peer' }, ipFilter: { action: 'allow', rules: [{ cidr: '127.0.0.1/32', source: 'Peer' }] } }),
      route({ to: 'app', path: { kind: 'prefix', value: '/ws' }, websocket: true }),
      route({ to: 'app' }),
    ]),
    ipFilter: allow('127.0.0.2/32', '10.1.0.0/16', '2001:db8::/32'),
  };
  p = await startProxy(
    config({ httpVirtualHosts: [vh, vhost('open.test', [route({ to: 'app' })])], clusters: [cluster('app', [ep(app)])] }),
    [{ name: 'http' }, { name: 'pp', proxyProtocol: true }],
  );
});

after(async () => {
  await p.close();
  await app.close();
});

/** One GET from `localAddress`, optionally behind a PROXY v2 header naming
 *  `source`, on a connection of its own; the status and (unchunked) body. */
function request(opts: { from?: string; source?: string; path?: string; host?: string; headers?: Record<string, string> }): Promise<{ status: number; body: string }> {
  const port = opts.source ? p.port('pp') : p.port('http');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, ...(opts.from ? { localAddress: opts.from } : {}) });
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body });
    });
    if (opts.source) {
      const v6 = opts.source.includes(':');
      s.write(encodeV2({ command: 'PROXY', source: { address: opts.source, port: 40000 }, destination: { address: v6 ? '::1' : '127.0.0.1', port: 80 } }));
    }
    const headers = { host: opts.host ?? 'filtered.test', connection: 'close', ...opts.headers };
    s.write(`GET ${opts.path ?? '/'} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  });
}

const rows: [name: string, opts: Parameters<typeof request>[0], status: number][] = [
  ['an allowed client address', { from: '127.0.0.2' }, 200],
  ['another loopback address is refused', { from: '127.0.0.3' }, 403],
  ['a spoofed X-Forwarded-For from a refused client changes nothing', { from: '127.0.0.3', headers: { 'x-forwarded-for': '127.0.0.2' } }, 403],
  ['Remote is the PROXY header\'s source, not the socket', { from: '127.0.0.3', source: '10.1.2.3' }, 200],
  ['a PROXY source outside the rules is refused even from an allowed socket', { from: '127.0.0.2', source: '10.2.0.1' }, 403],
  ['IPv6 PROXY sources', { source: '2001:db8::7' }, 200],
  ['a route\'s deny list replaces the virtual host\'s allow list', { from: '127.0.0.3', path: '/open' }, 200],
  ['and refuses what it lists', { from: '127.0.0.3', source: '192.0.2.9', path: '/open' }, 403],
  ['a Peer rule looks at the connection, whatever the PROXY source', { from: '127.0.0.1', source: '203.0.113.1', path: '/peer' }, 200],
  ['a Peer rule refuses another connection address', { from: '127.0.0.2', path: '/peer' }, 403],
  ['a virtual host without filters serves everyone', { from: '127.0.0.3', host: 'open.test' }, 200],
];

for (const [name, opts, status] of rows) {
  test(`ip filter requests: ${name}`, async () => {
    const before = app.seen.length;
    const r = await request(opts);
    assert.equal(r.status, status);
    if (status === 403) {
      assert.equal(r.body, 'RBAC: access denied');
      assert.equal(app.seen.length, before, 'the upstream never saw a refused request');
    } else assert.equal(app.seen.length, before + 1);
  });
}

test('ip filter requests: the access log shows the refusal', async () => {
  p.logs.length = 0;
  await request({ from: '127.0.0.3', path: '/x' });
  const e = p.logs.find((l) => l.path === '/x');
  assert.ok(e);
  assert.equal(e.status, 403);
  assert.equal(e.upstreamCluster, '-');
});

test('ip filter requests: HTTP/2 requests are filtered too', async () => {
  const get = (from: string) =>
    new Promise<number>((resolve, reject) => {
      const c = http2.connect(`http://127.0.0.1:${p.port('http')}`, { localAddress: from } as http2.SecureClientSessionOptions);
      c.on('error', reject);
      const r = c.request({ ':path': '/', ':authority': 'filtered.test' });
      r.on('response', (h) => {
        resolve(Number(h[':status']));
        c.close();
      });
      r.on('error', reject);
      r.end();
    });
  assert.equal(await get('127.0.0.2'), 200);
  assert.equal(await get('127.0.0.3'), 403);
});

test('ip filter requests: a WebSocket upgrade from a refused address is refused before the upstream is asked', async () => {
  const upgrade = (from: string) =>
    new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: p.port('http'), localAddress: from });
      let text = '';
      s.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) {
          s.destroy();
          resolve(text.split('\r\n')[0]!);
        }
      });
      s.on('error', () => resolve(text));
      s.write('GET /ws HTTP/1.1\r\nhost: filtered.test\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    });
  const before = app.seen.length;
  assert.equal(await upgrade('127.0.0.3'), 'HTTP/1.1 403 Forbidden');
  assert.equal(app.seen.length, before, 'no upgrade was asked for');
});
