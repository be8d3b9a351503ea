// Clients and backends that misbehave mid-exchange: the proxy stays up,
// frees what it held, and keeps serving.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { createCa, type Ca } from '../support/pki.ts';
import { cluster, config, ep, get, httpBackend, route, secureVhost, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let big: Backend; // streams a large body slowly
let upload: Backend; // reads uploads
let ca: Ca;
let p: Started;

before(async () => {
  ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['c.test'] });
  big = await httpBackend('big', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let n = 0;
    const t = setInterval(() => {
      if (res.destroyed || n++ > 200) {
        clearInterval(t);
        res.end();
        return;
      }
      res.write(Buffer.alloc(64 * 1024, 120));
    }, 5);
    res.on('close', () => clearInterval(t));
  });
  upload = await httpBackend('upload', (_req, res, seen) => res.end(String(seen.body.length)));
  const routes = [route({ path: { kind: 'prefix', value: '/big' }, to: 'big' }), route({ to: 'upload' })];
  p = await startProxy(
    config({
      clusters: [cluster('big', [ep(big)]), cluster('upload', [ep(upload)])],
      secrets: [{ id: 'default/c', ...cert }],
      httpVirtualHosts: [vhost('c.test', routes)],
      httpsVirtualHosts: [secureVhost('c.test', routes, { secretId: 'default/c' })],
    }),
    [{ name: 'http' }, { name: 'https', tls: true }],
  );
});

after(async () => {
  await p.close();
  await Promise.all([big.close(), upload.close()]);
});

test('client disconnects mid-download: logged DC, proxy keeps serving', async () => {
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p.port('http'), path: '/big', headers: { host: 'c.test' }, agent: false }, (res) => {
      let got = 0;
      res.on('data', (d: Buffer) => {
        got += d.length;
        if (got > 200_000) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (e) => (e.message.includes('aborted') || e.message.includes('socket hang up') ? resolve() : reject(e)));
  });
  for (let i = 0; i < 100 && !p.logs.some((l) => l.path === '/big' && l.responseFlags === 'DC'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(p.logs.some((l) => l.path === '/big' && l.responseFlags === 'DC'));
  assert.equal((await get(p.port('http'), '/ok', { host: 'c.test' })).status, 200);
});

test('client aborts mid-upload: nothing crashes, next request fine', async () => {
  await new Promise<void>((resolve) => {
    const s = net.connect(p.port('http'), '127.0.0.1', () => {
      s.write('POST /up HTTP/1.1\r\nHost: c.test\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 50);
    });
    s.on('error', () => resolve());
  });
  const r = await get(p.port('http'), '/up2', { host: 'c.test' }, 'POST', 'abc');
  assert.equal(r.body, '3');
});

test('HTTP/2 client resets streams mid-download and mid-upload', async () => {
  const client = http2.connect(`https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: 'c.test' });
  client.on('error', () => {});
  try {
    await new Promise<void>((resolve) => {
      const req = client.request({ ':path': '/big', ':authority': 'c.test' });
      let got = 0;
      req.on('data', (d: Buffer) => {
        got += d.length;
        if (got > 100_000) {
          req.close(http2.constants.NGHTTP2_CANCEL);
          resolve();
        }
      });
      req.on('error', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const req = client.request({ ':path': '/up', ':method': 'POST', ':authority': 'c.test' });
      req.write('partial');
      setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        resolve();
      }, 30);
      req.on('error', () => resolve());
    });
    const ok = await new Promise<number>((resolve, reject) => {
      const req = client.request({ ':path': '/after', ':authority': 'c.test' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.end();
    });
    assert.equal(ok, 200);
  } finally {
    client.destroy();
  }
});

test('many half-open connections then close: proxy still answers', async () => {
  const socks: net.Socket[] = [];
  for (let i = 0; i < 50; i++) {
    const s = net.connect(p.port('http'), '127.0.0.1');
    s.on('error', () => {});
    s.write('GET / HTTP/1.1\r\nHost: c.test\r\n');
    socks.push(s);
  }
  for (const s of socks) s.destroy();
  assert.equal((await get(p.port('http'), '/fine', { host: 'c.test' })).status, 200);
});
