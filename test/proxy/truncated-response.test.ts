// An upstream that dies mid-body: the downstream must see a truncated
// response, never a complete one. HTTP/2 streams are reset with
// INTERNAL_ERROR (as Envoy does), not ended with END_STREAM or NO_ERROR;
// HTTP/1.1 connections close without the chunked terminator, short of the
// Content-Length.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { createCa, type Ca } from '../support/pki.ts';
import { cluster, config, raw, route, secureVhost, startProxy, vhost, type Started } from './fixtures.ts';
import { ERR, FLAG, FRAME, H2Wire, headers, request } from './h2-wire.ts';

const HOST = 'cut.test';
let ca: Ca;
let p: Started;
let backend: http.Server;

before(async () => {
  ca = await createCa();
  const cert = await ca.issue({ dnsNames: [HOST] });
  backend = http.createServer((req, res) => {
    // Either framing: a declared length, or chunked (no length).
    if (req.url === '/cut-length') res.writeHead(200, { 'content-length': '100000' });
    else res.writeHead(200);
    res.write('x'.repeat(1000), () => setTimeout(() => req.socket.destroy(), 20));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as net.AddressInfo).port;
  const routes = [route({ to: 'app' })];
  p = await startProxy(
    config({
      clusters: [cluster('app', [{ address: '127.0.0.1', port }])],
      secrets: [{ id: 'default/c', ...cert }],
      httpVirtualHosts: [vhost(HOST, routes)],
      httpsVirtualHosts: [secureVhost(HOST, routes, { secretId: 'default/c' })],
    }),
    [{ name: 'http' }, { name: 'https', tls: true }],
  );
});

after(async () => {
  await p.close();
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

for (const path of ['/cut-length', '/cut-chunked']) {
  for (const plain of [false, true]) {
    test(`HTTP/2${plain ? ' (h2c)' : ''} ${path}: RST_STREAM INTERNAL_ERROR after the bytes that came, no END_STREAM`, async () => {
      const w = await H2Wire.connect({ port: p.port(plain ? 'http' : 'https'), ...(plain ? {} : { tls: { servername: HOST, ca: ca.certPem } }) });
      try {
        await w.send(headers(1, request(HOST, path)));
        const rst = await w.waitFor((f) => f.stream === 1 && f.type === FRAME.RST_STREAM, 10_000);
        assert.ok(rst, 'the stream is reset');
        assert.equal(rst.payload.readUInt32BE(0), ERR.INTERNAL_ERROR);
        const mine = w.frames.filter((f) => f.stream === 1);
        assert.ok(mine.some((f) => f.type === FRAME.HEADERS), 'the response had started');
        assert.equal(mine.filter((f) => f.type === FRAME.DATA).reduce((n, f) => n + f.payload.length, 0), 1000);
        assert.ok(!mine.some((f) => (f.type === FRAME.DATA || f.type === FRAME.HEADERS) && f.flags & FLAG.END_STREAM), 'never ended as complete');
        assert.equal(w.goaway(), undefined, 'a stream error: the connection stays');
      } finally {
        w.destroy();
      }
    });
  }
}

test('HTTP/2 client (node:http2) sees an error, not a complete body', async () => {
  const client = http2.connect(`https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: HOST });
  client.on('error', () => {});
  try {
    const outcome = await new Promise<{ ended: boolean; code: number | undefined; bytes: number }>((resolve) => {
      const req = client.request({ ':path': '/cut-length', ':authority': HOST });
      let bytes = 0;
      let ended = false;
      req.on('data', (d: Buffer) => (bytes += d.length));
      req.on('end', () => (ended = true));
      req.on('error', () => {});
      req.on('close', () => resolve({ ended, code: req.rstCode, bytes }));
      req.end();
    });
    assert.equal(outcome.code, http2.constants.NGHTTP2_INTERNAL_ERROR);
    assert.equal(outcome.ended, false);
    assert.equal(outcome.bytes, 1000);
  } finally {
    client.destroy();
  }
});

test('HTTP/1.1 with Content-Length: the connection closes short of the length', async () => {
  const r = await raw(p.port('http'), `GET /cut-length HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`, 10_000);
  assert.ok(r.closed, 'the proxy closed the connection');
  const [head, body = ''] = r.text.split('\r\n\r\n');
  assert.match(head!, /^HTTP\/1\.1 200 /);
  assert.match(head!, /\r\ncontent-length: 100000/i);
  assert.equal(body.length, 1000);
});

test('HTTP/1.1 chunked: the connection closes without the last chunk', async () => {
  const r = await raw(p.port('http'), `GET /cut-chunked HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`, 10_000);
  assert.ok(r.closed, 'the proxy closed the connection');
  const [head, ...rest] = r.text.split('\r\n\r\n');
  assert.match(head!, /transfer-encoding: chunked/i);
  const body = rest.join('\r\n\r\n');
  assert.ok(body.startsWith('3e8\r\n' + 'x'.repeat(1000) + '\r\n'), 'the chunk that came');
  assert.ok(!/(^|\r\n)0\r\n/.test(body), 'no terminating chunk');
});

test('HTTP/1.1 client (node:http) sees an aborted response', async () => {
  const outcome = await new Promise<{ complete: boolean; bytes: number }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p.port('http'), path: '/cut-length', headers: { host: HOST }, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('error', () => {});
      res.on('close', () => resolve({ complete: res.complete, bytes }));
    });
    req.on('error', reject);
  });
  assert.equal(outcome.complete, false);
  assert.equal(outcome.bytes, 1000);
});
