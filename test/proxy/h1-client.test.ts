// isobar's HTTP/1.1 upstream client (h1-client.ts) on real sockets against
// raw servers that script their answers: keep-alive and its limits, the
// connections cap, never pipelining, request bodies, backpressure, upgrade,
// malformed and unsolicited responses, close and destroy.
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import fc from 'fast-check';
import type { Dispatcher } from 'undici';
import { H1Pool, type H1PoolOptions } from '../../src/proxy/h1-client.ts';
import { upstreamFailure } from '../../src/proxy/failure.ts';
import { plainConnector } from '../../src/proxy/upstream-tls.ts';
import { waitFor } from '../support/wait.ts';

interface Conn {
  socket: net.Socket;
  /** Every byte the client sent on it. */
  data: string;
}

/** A raw server: `onRequest` is called for each request head it reads (a
 *  request without a body, or with the body read to its Content-Length or
 *  chunked end) with the connection and the request's text. */
async function rawServer(onRequest: (c: Conn, request: string, index: number) => void): Promise<{ port: number; conns: Conn[]; close: () => Promise<void> }> {
  const conns: Conn[] = [];
  const server = net.createServer((socket) => {
    const c: Conn = { socket, data: '' };
    conns.push(c);
    let pending = '';
    let index = 0;
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      c.data += d.toString('latin1');
      pending += d.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = pending.slice(0, end + 4);
        let total = head.length;
        const cl = /\r\ncontent-length: (\d+)/i.exec(head);
        if (cl) total += Number(cl[1]);
        else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
          const last = pending.indexOf('\r\n0\r\n\r\n', end);
          if (last === -1) return;
          total = last + 7;
        }
        if (pending.length < total) return;
        const request = pending.slice(0, total);
        pending = pending.slice(total);
        onRequest(c, request, index++);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.socket.destroy();
        server.close(() => r());
      }),
  };
}

const pools: H1Pool[] = [];
after(async () => {
  for (const p of pools) await p.destroy();
});

function pool(port: number, o: Partial<H1PoolOptions> = {}): H1Pool {
  const p = new H1Pool({
    hostname: '127.0.0.1',
    port,
    secure: false,
    connector: plainConnector(2000),
    connections: 10,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    maxHeaderSize: 96 * 1024,
    ...o,
  });
  pools.push(p);
  return p;
}

interface Outcome {
  status?: number;
  headers?: Record<string, unknown>;
  body: string;
  trailers?: Record<string, unknown>;
  error?: Error & { code?: string };
  gotHeaders: boolean;
}

function send(p: H1Pool, opts: Partial<Dispatcher.DispatchOptions> = {}, hooks: { onData?: (c: Dispatcher.DispatchController) => void } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '', gotHeaders: false };
    p.dispatch(
      { path: '/', method: 'GET', headers: ['host', 'app.test'], ...opts } as Dispatcher.DispatchOptions,
      {
        onResponseStart(_c, status, headers) {
          out.status = status;
          out.headers = headers;
          out.gotHeaders = true;
        },
        onResponseData(c, chunk) {
          out.body += chunk.toString('latin1');
          hooks.onData?.(c);
        },
        onResponseEnd(_c, trailers) {
          out.trailers = trailers;
          resolve(out);
        },
        onResponseError(_c, err) {
          out.error = err;
          resolve(out);
        },
      },
    );
  });
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

test('keep-alive: sequential requests share one connection; the request head is as undici writes it', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port);
  let connects = 0;
  p.on('connect', () => connects++);
  for (let i = 0; i < 3; i++) {
    const r = await send(p, { headers: ['host', 'app.test', 'x-a', '1', 'x-a', '2'] });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  }
  assert.equal(connects, 1);
  assert.equal(s.conns.length, 1);
  assert.ok(s.conns[0]!.data.startsWith('GET / HTTP/1.1\r\nhost: app.test\r\nconnection: keep-alive\r\nx-a: 1\r\nx-a: 2\r\n\r\n'), s.conns[0]!.data);
  await s.close();
});

test('never pipelined: a second request waits for the first response; the cap bounds connections', async () => {
  const held: Conn[] = [];
  const s = await rawServer((c) => held.push(c));
  const p = pool(s.port, { connections: 2 });
  const all = [send(p), send(p), send(p), send(p)];
  await waitFor('two requests held', () => held.length === 2 || undefined, 5000);
  assert.equal(s.conns.length, 2, 'no more than the cap');
  // Nothing more is written on either connection while its request is open.
  await new Promise((r) => setTimeout(r, 50));
  for (const c of s.conns) assert.equal(c.data.split('GET /').length - 1, 1);
  for (let i = 0; i < 4; i++) {
    await waitFor('a held request', () => held.length > 0 || undefined, 5000);
    held.shift()!.socket.write(OK);
  }
  for (const r of await Promise.all(all)) assert.equal(r.body, 'ok');
  assert.equal(s.conns.length, 2);
  await s.close();
});

test('maxRequestsPerClient: the last request says Connection: close and the next one opens a new connection', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port, { maxRequestsPerClient: 2 });
  for (let i = 0; i < 3; i++) assert.equal((await send(p)).status, 200);
  assert.equal(s.conns.length, 2);
  const first = s.conns[0]!.data;
  assert.match(first, /^GET \/ HTTP\/1\.1\r\nhost: app\.test\r\nconnection: keep-alive\r\n/);
  assert.match(first.slice(first.indexOf('GET', 4)), /^GET \/ HTTP\/1\.1\r\nhost: app\.test\r\nconnection: close\r\n/);
  await s.close();
});

test("the upstream's Keep-Alive timeout hint: below the threshold the connection is not reused", async () => {
  const s = await rawServer((c) => c.socket.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok'));
  const p = pool(s.port);
  assert.equal((await send(p)).status, 200);
  assert.equal((await send(p)).status, 200);
  assert.equal(s.conns.length, 2, 'timeout=1 s less the 2 s threshold: closed after each');
  await s.close();
});

test('keepAliveTimeout: an idle connection is closed, and disconnect is emitted', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port, { keepAliveTimeout: 100 });
  let disconnects = 0;
  p.on('disconnect', () => disconnects++);
  assert.equal((await send(p)).status, 200);
  await waitFor('the idle connection closed', () => disconnects === 1 || undefined, 5000);
  assert.equal((await send(p)).status, 200);
  assert.equal(s.conns.length, 2);
  await s.close();
});

test('keepAliveTimeout: a connection past its deadline is never reused, even when the close is late', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port, { keepAliveTimeout: 100 });
  assert.equal((await send(p)).status, 200);
  // Hold the event loop past the deadline, so the pool's close has not run
  // when the next request asks for a connection.
  const until = performance.now() + 250;
  while (performance.now() < until);
  assert.equal((await send(p)).status, 200);
  assert.equal(s.conns.length, 2, 'the stale connection was not reused');
  await s.close();
});

test('keepAliveTimeout counts from the last time the connection went idle, not the first', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port, { keepAliveTimeout: 400 });
  let disconnects = 0;
  p.on('disconnect', () => disconnects++);
  const went = performance.now();
  assert.equal((await send(p)).status, 200);
  // Reused at 250 ms: idle again from then, so still open at 500 ms
  // (past the first idle period's end) and reused once more.
  await new Promise((r) => setTimeout(r, 250));
  assert.equal((await send(p)).status, 200);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(disconnects, 0, `open ${Math.round(performance.now() - went)} ms after the first request`);
  assert.equal((await send(p)).status, 200);
  assert.equal(s.conns.length, 1);
  await waitFor('the idle connection closed', () => disconnects === 1 || undefined, 5000);
  await s.close();
});

test("the upstream's Keep-Alive timeout hint shortens the deadline of a connection idle before it", async () => {
  let answers = 0;
  // The first answer has no hint (60 s keep-alive), the second timeout=1: 1 s less the 800 ms threshold.
  const s = await rawServer((c) => c.socket.write(answers++ === 0 ? OK : 'HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok'));
  const p = pool(s.port, { keepAliveTimeoutThreshold: 800 });
  let closedAt = 0;
  p.on('disconnect', () => (closedAt = performance.now()));
  assert.equal((await send(p)).status, 200);
  assert.equal((await send(p)).status, 200);
  const idleAt = performance.now();
  assert.equal(s.conns.length, 1);
  await waitFor('the idle connection closed', () => closedAt > 0 || undefined, 5000);
  assert.ok(closedAt - idleAt < 2000, `closed ${Math.round(closedAt - idleAt)} ms after going idle`);
  await s.close();
});

test('Connection: close, a body to the close, and HTTP/1.0 end the connection after the response', async () => {
  for (const answer of ['HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok', 'HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok']) {
    const s = await rawServer((c) => c.socket.write(answer));
    const p = pool(s.port);
    assert.equal((await send(p)).body, 'ok');
    assert.equal((await send(p)).body, 'ok');
    assert.equal(s.conns.length, 2, answer);
    await s.close();
  }
  const s = await rawServer((c) => c.socket.end('HTTP/1.1 200 OK\r\n\r\nto the close'));
  const r = await send(pool(s.port));
  assert.equal(r.body, 'to the close');
  await s.close();
});

test('chunked responses with trailers; HEAD, 204 and 304 have no body', async () => {
  const s = await rawServer((c, req) => {
    if (req.startsWith('HEAD')) c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n');
    else if (req.includes('/204')) c.socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    else if (req.includes('/304')) c.socket.write('HTTP/1.1 304 Not Modified\r\n\r\n');
    else c.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\ngrpc-status: 0\r\n\r\n');
  });
  const p = pool(s.port);
  const r = await send(p);
  assert.equal(r.body, 'abcde');
  assert.deepEqual(r.trailers, { 'grpc-status': '0' });
  const head = await send(p, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await send(p, { path: '/204' })).status, 204);
  assert.equal((await send(p, { path: '/304' })).status, 304);
  await s.close();
});

test('100 Continue and 103 Early Hints are skipped; the final response is delivered', async () => {
  const s = await rawServer((c) => c.socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n${OK}`));
  const r = await send(pool(s.port));
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok');
  await s.close();
});

const broken: [name: string, answer: string, code: string][] = [
  ['an invalid status line', 'HTTP/1.1 2OO OK\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nx: a\r\n b\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_HEADER'],
  ['Content-Length and Transfer-Encoding', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 'ISOBAR_H1_INVALID_FRAMING'],
  ['differing Content-Lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd', 'ISOBAR_H1_INVALID_FRAMING'],
  ['101 without an upgrade request', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n', 'ISOBAR_H1_UNEXPECTED_RESPONSE'],
  ['closed before a response', '', 'ISOBAR_H1_SOCKET_CLOSED'],
  ['closed in the head', 'HTTP/1.1 200 OK\r\ncontent-le', 'ISOBAR_H1_SOCKET_CLOSED'],
];

for (const [name, answer, code] of broken) {
  test(`a malformed response (${name}): ${code}, the failure table's reset before headers`, async () => {
    const s = await rawServer((c) => c.socket.end(answer));
    const r = await send(pool(s.port));
    assert.equal(r.error?.code, code);
    assert.equal(r.gotHeaders, false);
    assert.equal(upstreamFailure(r.error!, false), code === 'ISOBAR_H1_SOCKET_CLOSED' ? 'socket-closed' : 'reset');
    await s.close();
  });
}

test('a body cut short after the head: an error after headers (response-reset)', async () => {
  const s = await rawServer((c) => c.socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
  const r = await send(pool(s.port));
  assert.equal(r.gotHeaders, true);
  assert.equal(r.body, 'abc');
  assert.equal(r.error?.code, 'ISOBAR_H1_SOCKET_CLOSED');
  assert.equal(upstreamFailure(r.error!, true), 'response-reset');
  await s.close();
});

test('bytes from the upstream with no request outstanding close that connection; the next request gets a fresh one', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port);
  let disconnects = 0;
  p.on('disconnect', () => disconnects++);
  assert.equal((await send(p)).body, 'ok');
  s.conns[0]!.socket.write(OK); // an answer to nothing
  await waitFor('the connection closed', () => disconnects === 1 || undefined, 5000);
  assert.equal((await send(p)).body, 'ok');
  assert.equal(s.conns.length, 2);
  // A response with more behind it: delivered, then the connection closes.
  const s2 = await rawServer((c) => c.socket.write(OK + OK));
  const p2 = pool(s2.port);
  assert.equal((await send(p2)).body, 'ok');
  assert.equal((await send(p2)).body, 'ok');
  assert.equal(s2.conns.length, 2);
  await s.close();
  await s2.close();
});

test('request bodies: a Buffer with its length, a stream chunked or with its declared length, Content-Length: 0 for an empty POST', async () => {
  const seen: string[] = [];
  const s = await rawServer((c, req) => {
    seen.push(req);
    c.socket.write(OK);
  });
  const p = pool(s.port);
  let sent = 0;
  await new Promise<void>((resolve) =>
    p.dispatch(
      { path: '/b', method: 'POST', headers: ['host', 'a'], body: Buffer.from('hello') },
      { onBodySent: (c) => void (sent += c.length), onResponseEnd: () => resolve(), onResponseError: () => resolve() },
    ),
  );
  assert.equal(sent, 5);
  const chunked = new PassThrough();
  const a = send(p, { method: 'POST', path: '/c', body: chunked });
  chunked.write('ab');
  setTimeout(() => chunked.end('cd'), 20);
  assert.equal((await a).body, 'ok');
  const sized = new PassThrough();
  const b = send(p, { method: 'PUT', path: '/s', headers: ['host', 'a', 'content-length', '4'], body: sized });
  sized.end('wxyz');
  assert.equal((await b).body, 'ok');
  assert.equal((await send(p, { method: 'POST', path: '/e' })).body, 'ok');
  assert.equal(seen[0], 'POST /b HTTP/1.1\r\nhost: a\r\nconnection: keep-alive\r\ncontent-length: 5\r\n\r\nhello');
  assert.equal(seen[1], 'POST /c HTTP/1.1\r\nhost: app.test\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n');
  assert.equal(seen[2], 'PUT /s HTTP/1.1\r\nhost: a\r\nconnection: keep-alive\r\ncontent-length: 4\r\n\r\nwxyz');
  assert.equal(seen[3], 'POST /e HTTP/1.1\r\nhost: app.test\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n');
  await s.close();
});

test('a streamed body short of its Content-Length, or one that breaks off: request-body-aborted, the connection closed', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port);
  const short = new PassThrough();
  const r = send(p, { method: 'POST', headers: ['host', 'a', 'content-length', '10'], body: short });
  short.end('abc');
  const e = (await r).error!;
  assert.equal(e.code, 'ISOBAR_H1_REQUEST_BODY');
  assert.equal(upstreamFailure(e, false), 'request-body-aborted');
  const broken = new PassThrough();
  const r2 = send(p, { method: 'POST', body: broken });
  broken.write('abc');
  broken.destroy(new Error('client went away'));
  assert.match((await r2).error!.message, /client went away/);
  assert.equal((await send(pool(s.port, {}), { body: Buffer.from('abc'), headers: ['host', 'a', 'content-length', '2'] })).error?.code, 'ISOBAR_H1_REQUEST_BODY');
  await s.close();
});

test('invalid request heads are refused before anything is written', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port);
  for (const opts of [{ headers: ['x-a', 'a\r\nx-b: b'] }, { headers: ['bad name', 'v'] }, { path: '/a b' }, { method: 'GE T' }, { headers: ['transfer-encoding', 'chunked'] }]) {
    const r = await send(p, opts as Partial<Dispatcher.DispatchOptions>);
    assert.equal(r.error?.code, 'ISOBAR_H1_INVALID_REQUEST', JSON.stringify(opts));
    assert.equal(upstreamFailure(r.error!, false), 'reset');
  }
  assert.equal(s.conns.length, 0);
  await s.close();
});

test('each field of a request head is checked, whatever its place and case: the error names it', async () => {
  const s = await rawServer((c) => c.socket.write(OK));
  const p = pool(s.port);
  const cases: [string[] | (string | string[])[], RegExp][] = [
    [['host', 'a', 'x-ok', 'fine', 'x-bad', 'v\u0000'], /invalid x-bad header/],
    [['host', 'a', 'x-list', ['ok', 'b\nad']], /invalid x-list header/],
    [['host', 'a', 'x-a', 'v', 'b(d', 'v'], /invalid header name/],
    [['host', 'a', '', 'v'], /invalid header name/],
    [['HOST', 'a', 'Host', 'b'], /duplicate host header/],
    [['host', 'a', 'Content-Length', '1x'], /invalid content-length header/],
    [['host', 'a', 'Transfer-Encoding', 'chunked'], /invalid transfer-encoding header/],
    [['host', 'a', 'KEEP-ALIVE', '5'], /invalid keep-alive header/],
    [['host', 'a', 'Upgrade', 'h2c'], /invalid upgrade header/],
    [['host', 'a', 'EXPECT', '100-continue'], /invalid expect header/],
  ];
  for (const [headers, message] of cases) {
    const r = await send(p, { headers } as Partial<Dispatcher.DispatchOptions>);
    assert.equal(r.error?.code, 'ISOBAR_H1_INVALID_REQUEST', JSON.stringify(headers));
    assert.match(r.error!.message, message, JSON.stringify(headers));
  }
  assert.equal(s.conns.length, 0);
  await s.close();
});

test('a request head is refused exactly when a name is not a token or a value holds a forbidden character', async () => {
  const heads: string[] = [];
  const s = await rawServer((c, request) => {
    heads.push(request);
    c.socket.write(OK);
  });
  const p = pool(s.port);
  const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const nameChar = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...tchar) }, { weight: 1, arbitrary: fc.constantFrom(' ', ':', '(', '\r', '\u00e9', '@') });
  const valueChar = fc.oneof({ weight: 12, arbitrary: fc.constantFrom('a', 'Z', '9', ' ', '\t', '~', '\u00ff', '"') }, { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\u0000', '\u007f', '\u0100') });
  // x- first: no generated name is one of the fields the head sets itself.
  const field = fc.tuple(fc.array(nameChar, { minLength: 1, maxLength: 6 }).map((cs) => `x-${cs.join('')}`), fc.array(valueChar, { maxLength: 8 }).map((cs) => cs.join('')));
  const isToken = (n: string) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n);
  const isValue = (v: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(v);
  await fc.assert(
    fc.asyncProperty(fc.array(field, { maxLength: 5 }), async (fields) => {
      const r = await send(p, { headers: ['host', 'a', ...fields.flat()] });
      const valid = fields.every(([n, v]) => isToken(n) && isValue(v));
      assert.equal(r.error === undefined, valid, JSON.stringify(fields));
      if (valid) assert.ok(fields.every(([n, v]) => heads.at(-1)!.includes(`\r\n${n}: ${v}\r\n`)), JSON.stringify(fields));
    }),
    { numRuns: 150 },
  );
  await s.close();
});

test('pause holds the response where it is; resume reads on', async () => {
  const big = 'x'.repeat(256 * 1024);
  const s = await rawServer((c) => c.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`));
  const p = pool(s.port);
  let paused: Dispatcher.DispatchController | undefined;
  let seenWhilePaused = 0;
  let chunks = 0;
  const r = send(p, {}, {
    onData(c) {
      if (paused !== undefined) seenWhilePaused++;
      if (++chunks === 1) {
        paused = c;
        c.pause();
        setTimeout(() => {
          paused = undefined;
          c.resume();
        }, 100);
      }
    },
  });
  const out = await r;
  assert.equal(out.body.length, big.length);
  assert.equal(seenWhilePaused, 0, 'no data while paused');
  await s.close();
});

test('upgrade: the 101 hands the socket over with what followed the head; a refusal is a plain response', async () => {
  const s = await rawServer((c, req) => {
    if (req.includes('/refuse')) c.socket.write('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno');
    else c.socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\nhello');
  });
  const p = pool(s.port);
  let disconnects = 0;
  p.on('disconnect', () => disconnects++);
  const got = await new Promise<{ status: number; first: string }>((resolve, reject) =>
    p.dispatch(
      { path: '/ws', method: 'GET', headers: ['host', 'a'], upgrade: 'websocket', body: null },
      {
        onRequestUpgrade(_c, status, _h, socket) {
          socket.once('data', (d: Buffer) => {
            resolve({ status, first: d.toString() });
            socket.destroy();
          });
        },
        onResponseError: (_c, err) => reject(err),
      },
    ),
  );
  assert.deepEqual(got, { status: 101, first: 'hello' });
  assert.match(s.conns[0]!.data, /^GET \/ws HTTP\/1\.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n$/);
  assert.equal(disconnects, 1, 'the upgraded connection leaves the pool');
  const refused = await send(p, { path: '/refuse', upgrade: 'websocket' });
  assert.equal(refused.status, 403);
  assert.equal(refused.body, 'no');
  await s.close();
});

test('abort mid-response closes the connection; connect failures emit connectionError and fail the request', async () => {
  const s = await rawServer((c) => c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nab'));
  const p = pool(s.port);
  let disconnects = 0;
  p.on('disconnect', () => disconnects++);
  const r = await send(p, {}, { onData: (c) => c.abort(new Error('enough')) });
  assert.equal(r.error?.message, 'enough');
  await waitFor('closed', () => disconnects === 1 || undefined, 5000);
  await s.close();
  const dead = pool(s.port);
  let connectionErrors = 0;
  dead.on('connectionError', () => connectionErrors++);
  const e = await send(dead);
  assert.equal(upstreamFailure(e.error!, false), 'connect-refused');
  assert.equal(connectionErrors, 1);
});

test('close() lets the request in flight finish, then resolves; destroy() fails what is left', async () => {
  const held: Conn[] = [];
  const s = await rawServer((c) => held.push(c));
  const p = pool(s.port);
  const r = send(p);
  await waitFor('held', () => held.length === 1 || undefined, 5000);
  let closed = false;
  const closing = p.close().then(() => (closed = true));
  assert.equal((await send(p)).error?.code, 'ISOBAR_H1_CLOSED', 'no new requests once closing');
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(closed, false);
  held[0]!.socket.write(OK);
  assert.equal((await r).body, 'ok');
  await closing;
  const p2 = pool(s.port);
  const r2 = send(p2);
  await waitFor('held', () => held.length === 2 || undefined, 5000);
  await p2.destroy();
  assert.equal((await r2).error?.code, 'ISOBAR_H1_CLOSED');
  await s.close();
});
