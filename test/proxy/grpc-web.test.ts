// gRPC-Web through the proxy runtime to a real gRPC server (grpc-js, h2c),
// as Envoy's grpc_web filter translates it: binary and text, unary and
// server-streaming, OK and error statuses (in the trailer frame, or in
// headers when the server answered trailers-only), over HTTP/1.1 and
// HTTP/2 (prior knowledge on the plain listener). Also: the request head
// the upstream gets, answers that are not gRPC, the proxy's own answers,
// CORS on them, bodies that are not base64 (Envoy's 400), and requests that
// are not gRPC-Web left alone.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { CorsConfig } from '../../src/dag/index.ts';
import { cluster, config, ep, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';
import { startEchoServer, STREAM, UNARY, type EchoServer } from './grpc-echo-server.ts';
import { dataFrame, fromText, grpcWebCall, parseFrames, toText, type GrpcWebAnswer, type GrpcWebRequest } from './grpc-web-client.ts';

const HOST = 'grpc.test';
const WEB = 'application/grpc-web';
const WEB_PROTO = 'application/grpc-web+proto';
const TEXT = 'application/grpc-web-text';
const TEXT_PROTO = 'application/grpc-web-text+proto';
const INVALID = 'Bad gRPC-web request, invalid base64 data.';

let echo: EchoServer;
let inspector: http2.Http2Server;
/** What the inspector got: headers and body of each stream. */
const inspected: { headers: http2.IncomingHttpHeaders; body: Buffer }[] = [];
let plain: Backend;
let p: Started;
let session: http2.ClientHttp2Session;

const cors: CorsConfig = {
  allowOrigin: [{ kind: 'exact', value: 'https://app.example.com' }],
  allowMethods: 'POST',
  allowHeaders: 'content-type,x-grpc-web,x-user-agent',
  exposeHeaders: 'grpc-status,grpc-message',
  maxAge: '600',
  allowCredentials: false,
  allowPrivateNetwork: false,
};

before(async () => {
  echo = await startEchoServer();
  // An h2c server that records the request head it is sent and answers
  // one gRPC message with trailers.
  inspector = http2.createServer();
  inspector.on('stream', (stream: http2.ServerHttp2Stream, headers) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      inspected.push({ headers, body: Buffer.concat(parts) });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'content-length': '9' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(dataFrame('seen'));
    });
  });
  await new Promise<void>((r) => inspector.listen(0, '127.0.0.1', () => r()));
  const inspectorPort = (inspector.address() as net.AddressInfo).port;
  plain = await httpBackend('plain', (req, res, seen) => {
    if (req.url?.startsWith('/plain/missing')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such page: 100% gone\n');
    } else if (req.url?.startsWith('/plain/big')) {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('x'.repeat(40_000));
    } else if (req.url?.startsWith('/plain/empty')) {
      res.writeHead(403, { 'content-length': '0' });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen));
    }
  });
  const routes = [
    route({ path: { kind: 'prefix', value: '/test.Echo/' }, to: 'echo' }),
    route({ path: { kind: 'prefix', value: '/inspect/' }, to: 'inspector' }),
    route({ path: { kind: 'prefix', value: '/plain/' }, to: 'plain' }),
    route({ path: { kind: 'prefix', value: '/nobody/' }, to: 'empty' }),
  ];
  p = await startProxy(
    config({
      clusters: [
        cluster('echo', [{ address: '127.0.0.1', port: echo.port }], { protocol: 'h2c' }),
        cluster('inspector', [{ address: '127.0.0.1', port: inspectorPort }], { protocol: 'h2c' }),
        cluster('plain', [ep(plain)]),
        cluster('empty', []),
      ],
      httpVirtualHosts: [
        vhost(HOST, routes),
        {
          ...vhost('cors.grpc.test', [
            route({ path: { kind: 'prefix', value: '/test.Echo/Closed' }, to: 'echo', ipFilter: { action: 'allow', rules: [{ cidr: '192.0.2.0/24', source: 'Remote' }] } }),
            route({ path: { kind: 'prefix', value: '/test.Echo/' }, to: 'echo' }),
          ]),
          cors,
        },
      ],
    }),
  );
  session = http2.connect(`http://127.0.0.1:${p.port()}`);
});

after(async () => {
  session.close();
  await p.close();
  await echo.close();
  await plain.close();
  await new Promise<void>((r) => inspector.close(() => r()));
});

type Transport = 'HTTP/1.1' | 'HTTP/2';
const TRANSPORTS: Transport[] = ['HTTP/1.1', 'HTTP/2'];

function call(transport: Transport, r: Omit<GrpcWebRequest, 'port' | 'host' | 'session'> & { host?: string }): Promise<GrpcWebAnswer> {
  return grpcWebCall({ port: p.port(), host: HOST, ...r, ...(transport === 'HTTP/2' ? { session } : {}) });
}

/** The answer's frames, read from base64 when its content type says text. */
function framesOf(a: GrpcWebAnswer): ReturnType<typeof parseFrames> {
  const text = a.headers['content-type'] === TEXT_PROTO;
  if (text) assert.match(a.body.toString('latin1'), /^[A-Za-z0-9+/=]*$/, 'a text answer is base64');
  const f = parseFrames(text ? fromText(a.body) : a.body);
  assert.equal(f.junk, 0, 'nothing after the trailer frame, no cut frame');
  return f;
}

function assertFramed(a: GrpcWebAnswer, contentType: string): void {
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-type'], contentType);
  assert.equal(a.headers['content-length'], undefined, 'the length of a translated body is not known');
  assert.equal(a.headers['grpc-status'], undefined, 'the status is in the trailer frame');
  assert.deepEqual(a.trailers, {}, 'no HTTP trailers: they are in the body');
}

for (const t of TRANSPORTS) {
  describe(`gRPC-Web over ${t}`, () => {
    test('unary, binary: the message and the trailer frame with grpc-status and the server\'s own trailer', async () => {
      const a = await call(t, { path: UNARY, contentType: WEB, chunks: [dataFrame('hello')], contentLength: true });
      assertFramed(a, WEB_PROTO);
      const f = framesOf(a);
      assert.deepEqual(f.messages, ['echo:hello']);
      assert.equal(f.trailers?.['grpc-status'], '0');
      assert.equal(f.trailers?.['x-echo-trailer'], 'done');
    });

    test('unary, text both ways: a base64 body in, base64 frames out', async () => {
      const a = await call(t, { path: UNARY, contentType: TEXT, accept: TEXT, chunks: [toText(dataFrame('in text'))] });
      assertFramed(a, TEXT_PROTO);
      const f = framesOf(a);
      assert.deepEqual(f.messages, ['echo:in text']);
      assert.equal(f.trailers?.['grpc-status'], '0');
    });

    test('text body padded in the middle (a client flushing twice) and written in odd pieces', async () => {
      const frameBytes = dataFrame('chunked base64');
      const text = Buffer.concat([toText(frameBytes.subarray(0, 4)), toText(frameBytes.subarray(4, 11)), toText(frameBytes.subarray(11))]);
      assert.ok(text.toString().indexOf('=') < text.length - 4, 'padding before the end');
      const pieces = [text.subarray(0, 3), text.subarray(3, 10), text.subarray(10)];
      const a = await call(t, { path: UNARY, contentType: 'application/grpc-web-text+proto', accept: TEXT_PROTO, chunks: pieces });
      assertFramed(a, TEXT_PROTO);
      assert.deepEqual(framesOf(a).messages, ['echo:chunked base64']);
    });

    test('a text request without Accept text gets a binary answer (Envoy reads the Accept header)', async () => {
      const a = await call(t, { path: UNARY, contentType: TEXT, chunks: [toText(dataFrame('x'))] });
      assertFramed(a, WEB_PROTO);
      assert.deepEqual(framesOf(a).messages, ['echo:x']);
    });

    test('server streaming, binary and text: every message in order, then OK', async () => {
      for (const text of [false, true]) {
        const body = dataFrame('3');
        const a = await call(t, { path: STREAM, contentType: text ? TEXT : WEB_PROTO, accept: text ? TEXT : undefined, chunks: [text ? toText(body) : body] });
        assertFramed(a, text ? TEXT_PROTO : WEB_PROTO);
        const f = framesOf(a);
        assert.deepEqual(f.messages, ['message 0', 'message 1', 'message 2']);
        assert.equal(f.trailers?.['grpc-status'], '0');
      }
    });

    test('server streaming that fails after two messages: the error status in the trailer frame', async () => {
      for (const text of [false, true]) {
        const body = dataFrame('2 fail');
        const a = await call(t, { path: STREAM, contentType: text ? TEXT : WEB, accept: text ? TEXT : undefined, chunks: [text ? toText(body) : body] });
        assertFramed(a, text ? TEXT_PROTO : WEB_PROTO);
        const f = framesOf(a);
        assert.deepEqual(f.messages, ['message 0', 'message 1']);
        assert.equal(f.trailers?.['grpc-status'], '8');
        assert.equal(decodeURIComponent(f.trailers!['grpc-message']!), 'stream stopped: 100% used');
      }
    });

    test('an error before any message: trailers-only, grpc-status in the headers and no body', async () => {
      for (const accept of [undefined, TEXT]) {
        const a = await call(t, { path: UNARY, contentType: WEB, accept, chunks: [dataFrame('fail')] });
        assert.equal(a.status, 200);
        assert.equal(a.headers['content-type'], accept ? TEXT_PROTO : WEB_PROTO);
        assert.equal(a.headers['grpc-status'], '5');
        assert.equal(decodeURIComponent(String(a.headers['grpc-message'])), 'no such thing');
        assert.equal(a.body.length, 0);
      }
    });

    test('the upstream gets gRPC: application/grpc, te: trailers, grpc-accept-encoding, no Content-Length, the body decoded', async () => {
      const before = inspected.length;
      const a = await call(t, { path: '/inspect/A', contentType: TEXT, accept: TEXT, chunks: [toText(dataFrame('decoded?'))], headers: { 'x-user-agent': 'grpc-web-javascript/0.1' } });
      assertFramed(a, TEXT_PROTO);
      assert.deepEqual(framesOf(a).messages, ['seen']);
      const got = inspected[before]!;
      assert.equal(got.headers['content-type'], 'application/grpc');
      assert.equal(got.headers.te, 'trailers');
      assert.equal(got.headers['grpc-accept-encoding'], 'identity,deflate,gzip');
      // Not the client's length (of the base64 text): undici may state the
      // decoded body's when it is complete before the request is sent.
      assert.ok(got.headers['content-length'] === undefined || got.headers['content-length'] === String(got.body.length), `content-length ${got.headers['content-length']}`);
      assert.equal(got.headers['x-user-agent'], 'grpc-web-javascript/0.1', 'the client\'s other headers pass');
      assert.equal(got.headers.accept, TEXT);
      assert.deepEqual(got.body, dataFrame('decoded?'));
      // A client's own grpc-accept-encoding is kept; a binary body is sent as it came.
      await call(t, { path: '/inspect/B', contentType: WEB, chunks: [dataFrame('as is')], headers: { 'grpc-accept-encoding': 'identity' }, contentLength: true });
      assert.equal(inspected[before + 1]!.headers['grpc-accept-encoding'], 'identity');
      assert.deepEqual(inspected[before + 1]!.body, dataFrame('as is'));
    });

    test('an upstream answer that is not gRPC: its status stays, its body becomes grpc-status and grpc-message', async () => {
      const missing = await call(t, { path: '/plain/missing', contentType: WEB, chunks: [dataFrame('q')] });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['content-type'], WEB_PROTO);
      assert.equal(missing.headers['grpc-status'], '12', 'UNIMPLEMENTED, as Envoy maps 404');
      assert.equal(missing.headers['grpc-message'], 'no such page: 100%25 gone%0A', 'Envoy\'s percent-encoding');
      assert.equal(missing.headers['content-length'], '0');
      assert.equal(missing.body.length, 0);
      // At most 16 KiB of the body becomes the message.
      const big = await call(t, { path: '/plain/big', contentType: TEXT, accept: TEXT, chunks: [toText(dataFrame('q'))] });
      assert.equal(big.status, 503);
      assert.equal(big.headers['content-type'], TEXT_PROTO);
      assert.equal(big.headers['grpc-status'], '14');
      assert.equal(big.headers['grpc-message'], 'x'.repeat(16384));
      assert.equal(big.body.length, 0);
      // No body: only the content type changes.
      const empty = await call(t, { path: '/plain/empty', contentType: WEB, chunks: [dataFrame('q')] });
      assert.equal(empty.status, 403);
      assert.equal(empty.headers['content-type'], WEB_PROTO);
      assert.equal(empty.headers['grpc-status'], undefined);
    });

    test('the proxy\'s own answers are trailers-only gRPC with the gRPC-Web content type', async () => {
      const noRoute = await call(t, { path: '/unknown.Svc/M', contentType: WEB, chunks: [dataFrame('q')] });
      assert.equal(noRoute.status, 200);
      assert.equal(noRoute.headers['content-type'], WEB_PROTO);
      assert.equal(noRoute.headers['grpc-status'], '12');
      const down = await call(t, { path: '/nobody/M', contentType: TEXT, accept: TEXT, chunks: [toText(dataFrame('q'))] });
      assert.equal(down.status, 200);
      assert.equal(down.headers['content-type'], TEXT_PROTO);
      assert.equal(down.headers['grpc-status'], '14');
      assert.equal(decodeURIComponent(String(down.headers['grpc-message'])), 'no healthy upstream');
      assert.equal(down.body.length, 0);
    });

    test('CORS: exposed grpc-status on answers from the server and on a filter\'s refusal', async () => {
      const origin = { origin: 'https://app.example.com' };
      const ok = await call(t, { host: 'cors.grpc.test', path: UNARY, contentType: WEB, chunks: [dataFrame('c')], headers: origin });
      assertFramed(ok, WEB_PROTO);
      assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.equal(ok.headers['access-control-expose-headers'], 'grpc-status,grpc-message');
      const refused = await call(t, { host: 'cors.grpc.test', path: '/test.Echo/Closed', contentType: WEB, chunks: [dataFrame('c')], headers: origin });
      assert.equal(refused.status, 200);
      assert.equal(refused.headers['grpc-status'], '7', 'PERMISSION_DENIED for the IP filter\'s 403');
      assert.equal(refused.headers['content-type'], WEB_PROTO);
      assert.equal(refused.headers['access-control-allow-origin'], 'https://app.example.com', 'a browser can read the refusal');
      assert.equal(refused.headers['access-control-expose-headers'], 'grpc-status,grpc-message');
    });

    const malformed: [string, string][] = [
      ['a character outside the alphabet', 'AAAA!AAA'],
      ['white space', 'AAAA AAA'],
      ['a length that is not a multiple of 4', 'AAAAA'],
      ['padding inside a quantum', 'A=AA'],
      ['three padding characters', 'A==='],
      ['bits left over before the padding', 'AB=='],
      ['URL-safe base64', 'AA-_'],
    ];
    for (const [what, text] of malformed) {
      test(`a text body with ${what}: Envoy's 400 with grpc-status 13, the server never sees the call`, async () => {
        const calls = echo.calls.length;
        const a = await call(t, { path: UNARY, contentType: TEXT, accept: TEXT, chunks: [Buffer.from(text)] });
        assert.equal(a.status, 400);
        assert.equal(a.headers['content-type'], TEXT_PROTO);
        assert.equal(a.headers['grpc-status'], '13');
        assert.equal(a.headers['grpc-message'], INVALID);
        assert.equal(a.headers['content-length'], '0');
        assert.equal(a.body.length, 0);
        assert.equal(echo.calls.length, calls);
      });
    }

    test('not gRPC-Web (another subtype, a parameter, gRPC itself): passed on untouched', async () => {
      for (const contentType of ['application/grpc-web+json', 'application/grpc-web; charset=utf-8', 'application/grpc-web-text+thrift']) {
        const a = await call(t, { path: '/plain/echo', contentType, chunks: [Buffer.from('raw body')], contentLength: true });
        assert.equal(a.status, 200);
        assert.equal(a.headers['content-type'], 'application/json');
        const seen = JSON.parse(a.body.toString()) as { headers: Record<string, string>; body: string };
        assert.equal(seen.headers['content-type'], contentType);
        assert.equal(seen.body, 'raw body');
        assert.equal(seen.headers['grpc-accept-encoding'], undefined);
        if (t === 'HTTP/1.1') assert.equal(seen.headers['content-length'], '8');
      }
    });
  });
}

test('HTTP/1.1 keep-alive: after a 400 for a bad body the connection serves the next call', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const sockets = new Set<net.Socket>();
    agent.on('free', (s: net.Socket) => sockets.add(s));
    const big = Buffer.concat([Buffer.from('!!!!'), Buffer.alloc(256 * 1024, 'A')]);
    const bad = await call('HTTP/1.1', { path: UNARY, contentType: TEXT, chunks: [big], agent });
    assert.equal(bad.status, 400);
    const good = await call('HTTP/1.1', { path: UNARY, contentType: WEB, chunks: [dataFrame('again')], agent });
    assert.deepEqual(framesOf(good).messages, ['echo:again']);
    assert.equal(sockets.size, 1, 'one connection for both');
  } finally {
    agent.destroy();
  }
});
