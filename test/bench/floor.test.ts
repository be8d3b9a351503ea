// The node floor's HTTP/1.1 forwarder (bench/floor/forwarder.ts) does the
// work it is credited with, so the benchmark compares isobar with an honest
// floor: Host routing, Connection dropped, X-Forwarded-For appended (from
// the PROXY v2 header when there is one), bodies framed by Content-Length
// both ways, requests in order on a kept-alive connection, Connection: close
// honoured, an unknown Host answered 404. Its node:http variant
// (bench/floor/http-forwarder.ts) does the same work behind node:http.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { serveConnection, type Upstream } from '../../bench/floor/forwarder.ts';
import { serveHttpRequests } from '../../bench/floor/http-forwarder.ts';

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Reads from `s` until `done(text)` holds. */
function readUntil(s: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (done(text)) {
        s.off('data', onData);
        resolve(text);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.once('close', () => resolve(text));
  });
}

function proxyV2Header(ip: [number, number, number, number], port: number): Buffer {
  const b = Buffer.alloc(28);
  Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1').copy(b, 0);
  b[12] = 0x21;
  b[13] = 0x11;
  b.writeUInt16BE(12, 14);
  b.set(ip, 16);
  b.set([127, 0, 0, 1], 20);
  b.writeUInt16BE(port, 24);
  b.writeUInt16BE(443, 26);
  return b;
}

test('the floor forwarder routes, rewrites and frames as it claims', async (t) => {
  const backend = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const answer = JSON.stringify({ url: req.url, xff: req.headers['x-forwarded-for'] ?? null, connection: req.headers.connection ?? null, body });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  const backendPort = await listen(backend);
  const routes = new Map<string, Upstream>([['a.test', { name: 'a', host: '127.0.0.1', port: backendPort }]]);
  const plain = net.createServer((s) => serveConnection(s, routes, false));
  const pp = net.createServer((s) => serveConnection(s, routes, true));
  const plainPort = await listen(plain);
  const ppPort = await listen(pp);
  t.after(() => {
    plain.close();
    pp.close();
    backend.closeAllConnections();
    backend.close();
  });

  const bodies = (text: string) => [...text.matchAll(/\r\n\r\n(\{[^}]*\})/g)].map((m) => JSON.parse(m[1]!) as Record<string, string | null>);

  // Two pipelined requests, one with a body, on one kept-alive connection.
  const c = net.connect(plainPort, '127.0.0.1');
  await once(c, 'connect');
  c.write('GET /one HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\nPOST /two HTTP/1.1\r\nHost: A.test:80\r\nContent-Length: 5\r\n\r\nhello');
  const two = bodies(await readUntil(c, (x) => bodies(x).length === 2));
  assert.deepEqual(two[0], { url: '/one', xff: '127.0.0.1', connection: null, body: '' }, 'the client Connection line is not passed on');
  assert.equal(two[1]!.url, '/two');
  assert.equal(two[1]!.body, 'hello');
  assert.equal(two[1]!.xff, '127.0.0.1');

  // Connection: close is honoured after the response.
  c.write('GET /last HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  const last = await readUntil(c, () => false);
  assert.match(last, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(last, /connection: close\r\n/i);
  assert.equal(bodies(last)[0]!.url, '/last');
  assert.ok(c.readableEnded || c.destroyed);

  // An unknown Host gets a 404 from the floor itself.
  const u = net.connect(plainPort, '127.0.0.1');
  await once(u, 'connect');
  u.write('GET / HTTP/1.1\r\nHost: other.test\r\n\r\n');
  assert.match(await readUntil(u, () => false), /^HTTP\/1\.1 404 /);

  // Behind the terminator: the client address comes from the PROXY v2 header.
  const p = net.connect(ppPort, '127.0.0.1');
  await once(p, 'connect');
  p.write(Buffer.concat([proxyV2Header([203, 0, 113, 7], 5555), Buffer.from('GET /pp HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n')]));
  const viaPp = bodies(await readUntil(p, (x) => bodies(x).length === 1))[0]!;
  assert.equal(viaPp.xff, '198.51.100.1, 203.0.113.7', 'X-Forwarded-For appended, with the PROXY header source');
  p.destroy();
});

test('the node:http floor forwards as the raw one does, over pooled upstream connections', async (t) => {
  const upstreamSockets = new Set<net.Socket>();
  const backend = http.createServer((req, res) => {
    upstreamSockets.add(req.socket);
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const answer = JSON.stringify({ url: req.url, xff: req.headers['x-forwarded-for'] ?? null, connection: req.headers.connection ?? null, body });
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer), 'x-from': 'backend' });
      res.end(answer);
    });
  });
  const backendPort = await listen(backend);
  const routes = new Map<string, Upstream>([['a.test', { name: 'a', host: '127.0.0.1', port: backendPort }]]);
  const server = http.createServer();
  serveHttpRequests(server, routes);
  const port = await listen(server);
  t.after(() => {
    server.closeAllConnections();
    server.close();
    backend.closeAllConnections();
    backend.close();
  });

  const bodies = (text: string) => [...text.matchAll(/\r\n\r\n(\{[^}]*\})/g)].map((m) => JSON.parse(m[1]!) as Record<string, string | null>);
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  c.write('GET /one HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\nPOST /two HTTP/1.1\r\nHost: A.test:80\r\nContent-Length: 5\r\n\r\nhello');
  const text = await readUntil(c, (x) => bodies(x).length === 2);
  const two = bodies(text);
  assert.deepEqual(two[0], { url: '/one', xff: '127.0.0.1', connection: null, body: '' }, 'the client Connection line is not passed on');
  assert.deepEqual(two[1], { url: '/two', xff: '127.0.0.1', connection: null, body: 'hello' });
  assert.match(text, /^HTTP\/1\.1 201 Created\r\n/);
  assert.match(text, /x-from: backend\r\n/i, 'the response fields are passed on');
  // node:http hands both pipelined requests over at once: up to two upstream
  // connections, then kept; the next request reuses one.
  const opened = upstreamSockets.size;
  assert.ok(opened >= 1 && opened <= 2, `${opened} upstream connections`);
  c.write('GET /three HTTP/1.1\r\nHost: a.test\r\n\r\n');
  const three = bodies(await readUntil(c, (x) => bodies(x).length === 1));
  assert.equal(three[0]!.url, '/three');
  assert.equal(upstreamSockets.size, opened, 'an idle upstream connection is reused');
  c.destroy();

  const u = net.connect(port, '127.0.0.1');
  await once(u, 'connect');
  u.write('GET / HTTP/1.1\r\nHost: other.test\r\n\r\n');
  assert.match(await readUntil(u, () => false), /^HTTP\/1\.1 404 /);
});
