// isobar's own HTTP/1.1 server writes the bytes node:http writes. The same
// handler runs behind a node:http server and behind h1-connection.ts, the
// same request is sent to both over real sockets, and the raw responses
// (Date aside) and whether the connection closes after them must match:
// framing (length, chunked, trailers, close-delimited for HTTP/1.0, none
// for HEAD, 204 and 304), Connection and Keep-Alive lines, repeated
// fields, implicit heads, and the errors bad names and values throw.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { H1Connection } from '../../src/proxy/h1-connection.ts';

interface Res {
  statusCode: number;
  statusMessage: string;
  shouldKeepAlive: boolean;
  writeHead(status: number, headers?: Record<string, string | string[] | number>): unknown;
  write(chunk: string | Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  addTrailers(t: Record<string, string>): void;
}

type Handler = (res: Res) => void;

/** `n` distinct fields. */
function many(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-f${i}`, `v${i}`]));
}

interface Case {
  name: string;
  request: string;
  handler: Handler;
}

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
const cases: Case[] = [
  { name: 'length', request: GET, handler: (r) => (r.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }), r.end('hello')) },
  { name: 'no length: chunked', request: GET, handler: (r) => (r.writeHead(200, { 'x-a': '1' }), r.write('abc'), r.write(Buffer.from('defgh')), r.end()) },
  { name: 'chunked, end with a body', request: GET, handler: (r) => (r.writeHead(201, {}), r.end('tail')) },
  { name: 'chunked with trailers', request: 'GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n', handler: (r) => (r.writeHead(200, { trailer: 'grpc-status' }), r.write('x'), r.addTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }), r.end()) },
  { name: 'empty writes', request: GET, handler: (r) => (r.writeHead(200, { 'content-length': '2' }), r.write(''), r.write('ok'), r.end()) },
  { name: 'HEAD with a length', request: 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n', handler: (r) => (r.writeHead(200, { 'content-length': '42' }), r.end()) },
  { name: 'HEAD without a length', request: 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n', handler: (r) => (r.writeHead(200, { 'x-a': '1' }), r.write('dropped'), r.end('dropped too')) },
  { name: '204', request: GET, handler: (r) => (r.writeHead(204, { 'x-a': '1' }), r.end()) },
  { name: '304 with a body written', request: GET, handler: (r) => (r.writeHead(304, { etag: '"x"' }), r.end('dropped')) },
  { name: '1.0 without a length: close-delimited', request: 'GET / HTTP/1.0\r\nHost: a\r\n\r\n', handler: (r) => (r.writeHead(200, {}), r.write('a'), r.end('b')) },
  { name: '1.0 keep-alive with a length', request: 'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n', handler: (r) => (r.writeHead(200, { 'content-length': '1' }), r.end('a')) },
  { name: '1.0 keep-alive without a length', request: 'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n', handler: (r) => (r.writeHead(200, {}), r.end('a')) },
  { name: '1.0 asking for chunked', request: 'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTE: chunked\r\n\r\n', handler: (r) => (r.writeHead(200, {}), r.end('a')) },
  { name: 'the client says close', request: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', handler: (r) => (r.writeHead(200, { 'content-length': '1' }), r.end('a')) },
  { name: 'keep-alive turned off before the head', request: GET, handler: (r) => ((r.shouldKeepAlive = false), r.writeHead(200, { 'content-length': '1' }), r.end('a')) },
  { name: 'a Connection field of its own', request: GET, handler: (r) => (r.writeHead(200, { connection: 'close', 'content-length': '1' }), r.end('a')) },
  { name: 'a Date field of its own', request: GET, handler: (r) => (r.writeHead(200, { date: 'Thu, 01 Jan 1970 00:00:00 GMT', 'content-length': '0' }), r.end()) },
  { name: 'a Keep-Alive field of its own', request: GET, handler: (r) => (r.writeHead(200, { 'keep-alive': 'timeout=1', 'content-length': '0' }), r.end()) },
  { name: 'repeated fields', request: GET, handler: (r) => (r.writeHead(200, { 'set-cookie': ['a=1', 'b=2'], cookie: ['x=1', 'y=2'], 'x-one': ['only'], 'content-length': 0 }), r.end()) },
  { name: 'an implicit head', request: GET, handler: (r) => ((r.statusCode = 404), r.end('not here: ünïcode')) },
  { name: 'an implicit head, no body', request: GET, handler: (r) => r.end() },
  { name: 'an unknown status', request: GET, handler: (r) => (r.writeHead(599, { 'content-length': '0' }), r.end()) },
  { name: 'a length given as a one-element array', request: GET, handler: (r) => (r.writeHead(200, { 'Content-Length': ['2'] as unknown as string }), r.end('ok')) },
  { name: 'framing names in capitals', request: GET, handler: (r) => (r.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'x' }), r.write('ab'), r.addTrailers({ x: '1' }), r.end()) },
  { name: 'more fields than one counted pattern checks (200)', request: GET, handler: (r) => (r.writeHead(200, { ...many(200), 'content-length': '0' }), r.end()) },
  { name: 'values with tabs, obs-text and colons', request: GET, handler: (r) => (r.writeHead(200, { 'x-a': 'a\tb: c', 'x-b': 'caf\u00e9', 'x-c': '', 'content-length': '0' }), r.end()) },
  { name: 'UTF-8 body by length', request: GET, handler: (r) => (r.writeHead(200, { 'content-length': String(Buffer.byteLength('héllo')) }), r.end('héllo')) },
];

/** What the handler threw, if it did. */
type Thrown = { code: string } | undefined;

const throwing: { name: string; handler: Handler }[] = [
  { name: 'a name with a space', handler: (r) => r.writeHead(200, { 'x a': '1' }) },
  { name: 'an empty name', handler: (r) => r.writeHead(200, { '': '1' }) },
  { name: 'a CR in a value', handler: (r) => r.writeHead(200, { x: 'a\rb' }) },
  { name: 'a LF in an array value', handler: (r) => r.writeHead(200, { x: ['ok', 'a\nb'] }) },
  { name: 'a NUL in a value', handler: (r) => r.writeHead(200, { x: 'a\0b' }) },
  { name: 'an undefined value', handler: (r) => r.writeHead(200, { x: undefined as unknown as string }) },
  { name: 'a bad value before a bad name', handler: (r) => r.writeHead(200, { ok: '1', x: 'a\rb', 'y z': '1' }) },
  { name: 'a bad name before an undefined value', handler: (r) => r.writeHead(200, { ok: '1', 'y z': '1', x: undefined as unknown as string }) },
  { name: 'an undefined in an array', handler: (r) => r.writeHead(200, { x: ['a', undefined as unknown as string] }) },
  { name: 'a value holding a whole field line', handler: (r) => r.writeHead(200, { ok: '1', x: 'a\r\ny: b', z: '2' }) },
  { name: 'a name holding a colon and a space', handler: (r) => r.writeHead(200, { 'a: b': '1' }) },
  { name: 'a character above U+00FF in a value', handler: (r) => r.writeHead(200, { x: 'a\u0100' }) },
  { name: 'a CRLF in the reason phrase', handler: (r) => ((r.statusMessage = 'OK\r\nx: y'), r.writeHead(200, {})) },
  { name: 'a bad value after more fields than one counted pattern checks', handler: (r) => r.writeHead(200, { ...many(200), x: 'a\nb' }) },
  { name: 'a status below 100', handler: (r) => r.writeHead(99, {}) },
  { name: 'a status over 999', handler: (r) => r.writeHead(1000, {}) },
  { name: 'a head twice', handler: (r) => (r.writeHead(200, { 'content-length': '0' }), r.writeHead(200, {})) },
  { name: 'a trailer with a CR', handler: (r) => (r.writeHead(200, {}), r.addTrailers({ x: 'a\rb' })) },
  { name: 'a trailer field without chunked', handler: (r) => r.writeHead(200, { trailer: 'x', 'content-length': '0' }) },
];

let current: Handler = () => {};
let thrown: Thrown;
const run = (res: Res): void => {
  thrown = undefined;
  try {
    current(res);
  } catch (err) {
    thrown = { code: (err as { code: string }).code };
    (res as unknown as { destroy(): void }).destroy();
  }
};

let nodeServer: http.Server;
let ownServer: net.Server;

before(async () => {
  nodeServer = http.createServer({ keepAliveTimeout: 5000, requireHostHeader: false }, (_req, res) => run(res as unknown as Res));
  ownServer = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    new H1Connection(socket, {
      maxHeaderSize: 16384,
      idleMs: 5000,
      onRequest: (_req, res) => run(res as unknown as Res),
      handOff: (s) => s.destroy(),
      released: () => {},
    }).start(undefined);
  });
  await Promise.all([new Promise<void>((r) => nodeServer.listen(0, '127.0.0.1', r)), new Promise<void>((r) => ownServer.listen(0, '127.0.0.1', r))]);
});

after(async () => {
  nodeServer.closeAllConnections();
  await Promise.all([new Promise((r) => nodeServer.close(r)), new Promise((r) => ownServer.close(r))]);
});

/** The raw answer to `request`, and whether the server closed after it. */
function exchange(server: net.Server | http.Server, request: string): Promise<{ bytes: string; closed: boolean; thrown: Thrown }> {
  const { port } = server.address() as net.AddressInfo;
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let bytes = '';
    let idle: NodeJS.Timeout | undefined;
    const done = (closed: boolean): void => {
      clearTimeout(idle);
      s.destroy();
      resolve({ bytes: dechunk(bytes.replace(/\r\nDate: [^\r]+/, '\r\nDate: (now)')), closed, thrown });
    };
    // A response that keeps the connection: done once nothing more comes.
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => done(false), 150);
    };
    arm();
    s.on('data', (d: Buffer) => {
      bytes += d.toString('latin1');
      arm();
    });
    s.on('end', () => done(true));
    s.on('error', () => done(true));
  });
}

/** A chunked body as its content and trailers: where one chunk ends and
 *  the next begins is the writer's choice (node:http joins writes made in
 *  one tick). */
function dechunk(bytes: string): string {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1 || !/\r\nTransfer-Encoding: chunked\r\n/.test(bytes.slice(0, end + 2))) return bytes;
  let at = end + 4;
  let body = '';
  for (;;) {
    const eol = bytes.indexOf('\r\n', at);
    if (eol === -1) return `${bytes.slice(0, end + 4)}[unterminated chunks: ${JSON.stringify(body)}]`;
    const size = parseInt(bytes.slice(at, eol), 16);
    if (size === 0) return `${bytes.slice(0, end + 4)}[chunked: ${JSON.stringify(body)}; trailers: ${JSON.stringify(bytes.slice(eol + 2))}]`;
    body += bytes.slice(eol + 2, eol + 2 + size);
    assert.equal(bytes.slice(eol + 2 + size, eol + 4 + size), '\r\n', 'a chunk ends with CRLF');
    at = eol + 4 + size;
  }
}

for (const c of cases) {
  test(`same bytes as node:http: ${c.name}`, async () => {
    current = c.handler;
    const theirs = await exchange(nodeServer, c.request);
    const mine = await exchange(ownServer, c.request);
    assert.equal(theirs.thrown, undefined, `node:http threw ${theirs.thrown?.code}`);
    assert.deepEqual(mine, theirs);
    assert.match(mine.bytes, /^HTTP\/1\.1 \d{3} /);
  });
}

for (const c of throwing) {
  test(`throws as node:http does: ${c.name}`, async () => {
    current = c.handler;
    const theirs = await exchange(nodeServer, GET);
    const mine = await exchange(ownServer, GET);
    assert.ok(theirs.thrown !== undefined, 'node:http threw nothing');
    assert.deepEqual(mine.thrown, theirs.thrown);
  });
}

test('no empty writes: a body sent with write() and then end() adds no write of nothing (each write is a system call)', async () => {
  const { Duplex } = await import('node:stream');
  const { H1Response } = await import('../../src/proxy/h1-response.ts');
  const sizes: number[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      sizes.push(chunk.length);
      cb();
    },
  });
  let done = false;
  const res = new H1Response({ socket, responseDone: () => (done = true) }, 'GET', 1, true, undefined, 5000);
  res.writeHead(200, { 'content-length': '2' });
  res.write('ok');
  res.end();
  await new Promise((r) => setImmediate(r));
  assert.equal(done, true);
  assert.ok(sizes.length > 0 && sizes.every((n) => n > 0), `write sizes ${JSON.stringify(sizes)}`);
});
