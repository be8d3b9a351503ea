import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ProxyRuntime } from '../../src/proxy/index.ts';
import { createCa, type Ca } from '../support/pki.ts';
import { cluster, config, ep, get, httpBackend, raw, route, secureVhost, startProxy, vhost, type Backend, type Started, h2Get } from './fixtures.ts';

let ca: Ca;
let grpcish: http2.Http2Server;
let grpcPort: number;
let app: Backend;
let p: Started;

before(async () => {
  ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['app.example.test'] });
  app = await httpBackend('app');
  // An h2c backend answering like gRPC: body, then status in trailers.
  grpcish = http2.createServer();
  grpcish.on('stream', (stream: http2.ServerHttp2Stream, headers) => {
    let body = '';
    stream.on('data', (d: Buffer) => (body += d.toString()));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': `te=${headers.te}` }));
      stream.end(`echo:${body}`);
    });
  });
  await new Promise<void>((r) => grpcish.listen(0, '127.0.0.1', () => r()));
  grpcPort = (grpcish.address() as net.AddressInfo).port;
  const routes = [route({ path: { kind: 'prefix', value: '/grpc' }, to: 'grpc' }), route({ to: 'app' })];
  p = await startProxy(
    config({
      clusters: [cluster('app', [ep(app)]), cluster('grpc', [{ address: '127.0.0.1', port: grpcPort }], { protocol: 'h2c' })],
      secrets: [{ id: 'default/app', ...cert }],
      httpVirtualHosts: [vhost('app.example.test', routes)],
      httpsVirtualHosts: [secureVhost('app.example.test', routes, { secretId: 'default/app' })],
    }),
    [{ name: 'https', tls: true }, { name: 'http' }],
  );
});

after(async () => {
  await p.close();
  await app.close();
  await new Promise<void>((r) => grpcish.close(() => r()));
});

function h2request(path: string, body?: string): Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }> {
  const client = http2.connect(`https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: 'app.example.test' });
  return new Promise((resolve, reject) => {
    const req = client.request({ ':path': path, ':method': body ? 'POST' : 'GET', ':authority': 'app.example.test', te: 'trailers' });
    let status = 0;
    let out = '';
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => (out += d.toString()));
    req.on('end', () => {
      client.close();
      resolve({ status, body: out, trailers });
    });
    req.on('error', (e) => {
      client.close();
      reject(e);
    });
    req.end(body);
  });
}

test('HTTP/2 downstream POST body reaches an HTTP/1.1 upstream', async () => {
  const r = await h2request('/upload', 'h2-body');
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { method: string; body: string };
  assert.equal(seen.method, 'POST');
  assert.equal(seen.body, 'h2-body');
});

test('HTTP/2 end to end (h2 downstream, h2c upstream) carries trailers and te: trailers', async () => {
  const r = await h2request('/grpc/Echo', 'ping');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'echo:ping');
  assert.equal(r.trailers['grpc-status'], '0');
  assert.equal(r.trailers['grpc-message'], 'te=trailers');
});

test('HTTP/2 with prior knowledge (h2c) on the plain listener', async () => {
  const client = http2.connect(`http://127.0.0.1:${p.port('http')}`);
  try {
    const r = await h2Get(client, '/h2c-down', 'app.example.test');
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/h2c-down');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
  } finally {
    client.close();
  }
});

test('a plain connection that sends nothing is closed after the headers timeout', async () => {
  const q = await startProxy(config(), [{}], { headersTimeoutMs: 200 });
  try {
    const r = await raw(q.port(), [], 3000);
    assert.equal(r.closed, true);
  } finally {
    await q.close();
  }
});

test('Expect: 100-continue is answered by the proxy and the body forwarded', async () => {
  const res = await new Promise<{ status: number; body: string; continued: boolean }>((resolve, reject) => {
    let continued = false;
    const req = http.request(
      { host: '127.0.0.1', port: p.port('http'), path: '/expect', method: 'PUT', headers: { host: 'app.example.test', expect: '100-continue', 'content-length': '4' }, agent: false },
      (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body, continued }));
      },
    );
    req.on('continue', () => {
      continued = true;
      req.end('data');
    });
    req.on('error', reject);
  });
  assert.equal(res.continued, true);
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.body) as { body: string; headers: Record<string, string> };
  assert.equal(seen.body, 'data');
  assert.equal(seen.headers.expect, undefined);
});

test('two runtimes share a port with reusePort', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const spec = { name: 'http', host: '127.0.0.1', port, tls: false, proxyProtocol: false, reusePort: true };
  const one = new ProxyRuntime({ listeners: [spec] });
  const two = new ProxyRuntime({ listeners: [spec] });
  try {
    await one.listen();
    await two.listen();
    assert.equal(one.address('http').port, port);
    assert.equal(two.address('http').port, port);
  } finally {
    await one.close(0);
    await two.close(0);
  }
});

test('runtime options are validated with clear errors', () => {
  assert.throws(
    () => new ProxyRuntime({ listeners: [{ name: 'a', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: false }, { name: 'a', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: false }] }),
    /listener name "a" is used twice/,
  );
  assert.throws(() => new ProxyRuntime({ listeners: [{ name: 'a', host: '127.0.0.1', port: 70000, tls: false, proxyProtocol: false }] }), /port 70000/);
  assert.throws(() => new ProxyRuntime({ listeners: [], ticketKeys: Buffer.alloc(3) }), /48 bytes/);
});

test('IPv6: listener on ::1 and an IPv6 upstream endpoint (plain and TLS)', async () => {
  const cert = await ca.issue({ dnsNames: ['v6.example.test'] });
  const plain6 = http.createServer((req, res) => res.end(`v6 ${req.headers['x-forwarded-for']}`));
  const tls6 = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('tls6'));
  await new Promise<void>((r) => plain6.listen(0, '::1', () => r()));
  await new Promise<void>((r) => tls6.listen(0, '::1', () => r()));
  const q = await startProxy(
    config({
      caBundles: [{ id: 'd/ca', caPem: ca.certPem }],
      clusters: [
        cluster('p6', [{ address: '::1', port: (plain6.address() as net.AddressInfo).port }]),
        cluster('t6', [{ address: '::1', port: (tls6.address() as net.AddressInfo).port }], {
          protocol: 'tls',
          tls: { minVersion: '1.2', maxVersion: '1.3', sni: 'v6.example.test', validation: { caBundleId: 'd/ca', subjectNames: ['v6.example.test'] } },
        }),
      ],
      httpVirtualHosts: [vhost('v6.test', [route({ path: { kind: 'prefix', value: '/tls' }, to: 't6' }), route({ to: 'p6' })])],
    }),
    [{ host: '::1' }],
  );
  try {
    const get6 = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '::1', port: q.port(), path, headers: { host: 'v6.test' }, agent: false }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await get6('/'), 'v6 ::1');
    assert.equal(await get6('/tls'), 'tls6');
    assert.equal(q.logs.at(-1)!.upstreamHost, `[::1]:${(tls6.address() as net.AddressInfo).port}`);
    assert.match(q.logs.at(-1)!.downstreamRemoteAddress, /^\[::1\]:\d+$/);
  } finally {
    await q.close();
    plain6.closeAllConnections();
    tls6.closeAllConnections();
    await new Promise<void>((r) => plain6.close(() => r()));
    await new Promise<void>((r) => tls6.close(() => r()));
  }
});

test('100 concurrent HTTP/2 streams on one connection all complete', async () => {
  const client = http2.connect(`https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: 'app.example.test' });
  try {
    const one = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const req = client.request({ ':path': `/many/${i}`, ':authority': 'app.example.test' });
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', () => {});
        req.on('end', () => resolve(status));
        req.on('error', reject);
        req.end();
      });
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => one(i)));
    assert.deepEqual([...new Set(statuses)], [200]);
  } finally {
    client.close();
  }
});

test('gRPC requests get local replies as gRPC status (unknown host, unavailable upstream)', async () => {
  const q = await startProxy(
    config({
      clusters: [cluster('down', [{ address: '127.0.0.1', port: 1 }])],
      httpVirtualHosts: [vhost('g.test', [route({ to: 'down' })])],
    }),
  );
  const client = http2.connect(`http://127.0.0.1:${q.port()}`);
  try {
    const call = (authority: string) =>
      new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = client.request({ ':path': '/pkg.Svc/Method', ':method': 'POST', ':authority': authority, 'content-type': 'application/grpc', te: 'trailers' });
        let headers: http2.IncomingHttpHeaders = {};
        req.on('response', (h) => (headers = h));
        req.on('data', () => {});
        req.on('end', () => resolve(headers));
        req.on('error', reject);
        req.end();
      });
    const notFound = await call('nope.test');
    assert.equal(notFound[':status'], 200);
    assert.equal(notFound['grpc-status'], '12');
    const unavailable = await call('g.test');
    assert.equal(unavailable['grpc-status'], '14');
    assert.match(decodeURIComponent(String(unavailable['grpc-message'])), /^upstream connect error/);
  } finally {
    client.close();
    await q.close();
  }
});

test('apply() tolerates a partial config (missing lists read as empty)', async () => {
  const q = await startProxy(config());
  try {
    q.proxy.apply({ httpVirtualHosts: [{ fqdn: 'x.test', routes: [] }] } as unknown as Parameters<typeof q.proxy.apply>[0]);
    assert.equal((await get(q.port(), '/', { host: 'x.test' })).status, 404);
    assert.equal(q.proxy.stats().configApplies, 2);
  } finally {
    await q.close();
  }
});

test('a DNS-named endpoint (ExternalName) is resolved and used', async () => {
  const q = await startProxy(
    config({
      clusters: [cluster('ext', [{ address: 'localhost', port: app.port }])],
      httpVirtualHosts: [vhost('ext.test', [route({ to: 'ext' })])],
    }),
  );
  try {
    const r = await get(q.port(), '/ext', { host: 'ext.test' });
    assert.equal(r.status, 200);
    assert.equal(q.logs.at(-1)!.upstreamHost, `localhost:${app.port}`);
  } finally {
    await q.close();
  }
});
