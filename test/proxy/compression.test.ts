// Response compression as Contour's default filter chain (Envoy's
// compressor): what the client gets is decoded and compared with what the
// backend sent, for gzip, brotli and zstd; the responses Envoy leaves alone
// (HEAD, 204, 304, already encoded, short, other content types,
// no-transform, not accepted) pass unchanged, with Vary where Envoy adds it.
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { acceptsEncoding, compressibleResponse } from '../../src/proxy/compression.ts';
import { cluster, config, ep, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

const JSON_BODY = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `item ${i}` })) });
const BIG = 'x'.repeat(1024 * 1024);

let backend: Backend;
const proxies = new Map<string, Started>();

before(async () => {
  backend = await httpBackend('c', (req, res) => {
    const u = req.url ?? '/';
    if (u === '/json') return void res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(JSON_BODY), etag: '"v1"', vary: 'Origin' }).end(JSON_BODY);
    if (u === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(BIG);
    if (u === '/short') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('short');
    if (u === '/png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(JSON_BODY);
    if (u === '/encoded') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(zlib.gzipSync(JSON_BODY));
    if (u === '/no-transform') return void res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, no-transform' }).end(JSON_BODY);
    if (u === '/204') return void res.writeHead(204).end();
    if (u === '/304') return void res.writeHead(304, { etag: '"v1"' }).end();
    res.writeHead(200, { 'content-type': 'text/html' }).end(JSON_BODY);
  });
  for (const algorithm of ['gzip', 'brotli', 'zstd', 'disabled'] as const) {
    proxies.set(algorithm, await startProxy(config({ clusters: [cluster('c', [ep(backend)])], httpVirtualHosts: [vhost('c.test', [route({ to: 'c' })])] }), [{}], { compression: algorithm }));
  }
});

after(async () => {
  for (const p of proxies.values()) await p.close();
  await backend.close();
});

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
}

function fetchRaw(p: Started, path: string, headers: Record<string, string>, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p.port(), path, method, headers: { host: 'c.test', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const decode: Record<string, (b: Buffer) => Buffer> = { gzip: zlib.gunzipSync, br: zlib.brotliDecompressSync, zstd: zlib.zstdDecompressSync };

for (const [algorithm, token] of [['gzip', 'gzip'], ['brotli', 'br'], ['zstd', 'zstd']] as const) {
  test(`${algorithm}: a compressible response is sent as ${token}, decoded it is the backend's body; Vary, no Content-Length, the ETag weakened`, async () => {
    const p = proxies.get(algorithm)!;
    const r = await fetchRaw(p, '/json', { 'accept-encoding': `gzip;q=0.5, ${token}, identity` });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], token);
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers['vary'], 'Origin, Accept-Encoding');
    assert.equal(r.headers['etag'], 'W/"v1"');
    assert.equal(decode[token]!(r.raw).toString(), JSON_BODY);
    assert.ok(r.raw.length < Buffer.byteLength(JSON_BODY));
    const big = await fetchRaw(p, '/big', { 'accept-encoding': token });
    assert.equal(decode[token]!(big.raw).toString(), BIG);
    assert.equal(p.logs.at(-1)!.bytesSent, big.raw.length, 'the access log counts the bytes sent');
  });
}

test('not compressed: no Accept-Encoding (Vary still set), q=0, HEAD, 204, 304, already encoded, short, other types, no-transform', async () => {
  const p = proxies.get('gzip')!;
  const plain = await fetchRaw(p, '/json', {});
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers['vary'], 'Origin, Accept-Encoding');
  assert.equal(plain.raw.toString(), JSON_BODY);
  assert.equal(plain.headers['content-length'], String(Buffer.byteLength(JSON_BODY)));
  assert.equal((await fetchRaw(p, '/json', { 'accept-encoding': 'gzip;q=0, br' })).headers['content-encoding'], undefined);
  const head = await fetchRaw(p, '/json', { 'accept-encoding': 'gzip' }, 'HEAD');
  assert.equal(head.headers['content-encoding'], undefined);
  for (const path of ['/204', '/304', '/short', '/png', '/no-transform']) {
    const r = await fetchRaw(p, path, { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined, path);
  }
  const encoded = await fetchRaw(p, '/encoded', { 'accept-encoding': 'gzip' });
  assert.equal(zlib.gunzipSync(encoded.raw).toString(), JSON_BODY, 'passed through once, not twice');
  const html = await fetchRaw(p, '/html', { 'accept-encoding': '*' });
  assert.equal(html.headers['content-encoding'], 'gzip');
});

test('compression disabled: nothing is compressed and no Vary is added', async () => {
  const r = await fetchRaw(proxies.get('disabled')!, '/json', { 'accept-encoding': 'gzip, br, zstd' });
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.headers['vary'], 'Origin');
  assert.equal(r.raw.toString(), JSON_BODY);
});

test('Accept-Encoding: q-values, "*", case, the token over "*"', () => {
  assert.equal(acceptsEncoding('gzip', 'gzip'), true);
  assert.equal(acceptsEncoding('GZip;Q=0.1', 'gzip'), true);
  assert.equal(acceptsEncoding('gzip;q=0', 'gzip'), false);
  assert.equal(acceptsEncoding('*', 'br'), true);
  assert.equal(acceptsEncoding('*;q=0, br', 'br'), true);
  assert.equal(acceptsEncoding('br;q=0, *', 'br'), false);
  assert.equal(acceptsEncoding('identity', 'gzip'), false);
  assert.equal(acceptsEncoding(undefined, 'gzip'), false);
  assert.equal(acceptsEncoding(', ,;', 'gzip'), false);
});

test('the Content-Type answer is the same however the types alternate (the last one is remembered)', () => {
  const types: [string, boolean][] = [
    ['application/json; charset=utf-8', true],
    ['image/png', false],
    ['image/png', false],
    ['TEXT/Plain', true],
    ['text/plain', true],
    ['image/png', false],
    ['application/json; charset=utf-8', true],
    ['application/octet-stream', false],
  ];
  for (const [ct, listed] of [...types, ...types.reverse()]) {
    assert.equal(compressibleResponse('GET', 200, { 'content-type': ct, 'content-length': '1000' }), listed, ct);
  }
});

test('property: any Accept-Encoding value is read without throwing', () => {
  fc.assert(fc.property(fc.string(), fc.constantFrom('gzip', 'br', 'zstd'), (v, t) => typeof acceptsEncoding(v, t) === 'boolean'), { numRuns: 500 });
});
