// HTTP/2 under attack, on the wire: malformed requests get a stream error
// (or 400) and never reach the upstream; frame-level violations get the
// GOAWAY code RFC 9113 names; floods run into a budget and get GOAWAY; and
// through each attack the process's memory stays bounded while a bystander
// connection keeps being answered.
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait.ts';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, test, type TestContext } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { http2Process } from '../../src/proxy/http2-guard.ts';
import { DEFAULT_HTTP2_BUDGETS, http2HeaderListLimit, MAX_CONCURRENT_STREAMS } from '../../src/proxy/http2-limits.ts';
import { createCa, type Ca } from '../support/pki.ts';
import { cluster, config, route, secureVhost, startProxy, vhost, type Started } from './fixtures.ts';
import { data, ERR, frame, FLAG, FRAME, H2Wire, headerBlock, headers, ping, request, rstStream, settings, SETTING } from './h2-wire.ts';

/** Live heap + external memory may grow this much across one attack. */
const MEMORY_BOUND = 24 * 1024 * 1024;
/** A bystander request may take this long while an attack runs (measured
 *  worst: 1.3 s, at a load of 13 on 2 shared cores). */
const LATENCY_BOUND_MS = 3000;
const PROXY_MAX_HEADER = 60 * 1024;
const HOST = 'h2.test';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// In a worker an error no one listens for ends the process: here it is
// collected, and the last test fails on it.
const uncaught: Error[] = [];
process.on('uncaughtException', (err) => uncaught.push(err));

let ca: Ca;
let p: Started;
let backend: http.Server;
/** Every request path the upstream received. */
const seen: string[] = [];
/** Header names of every request the upstream received, by path. */
const seenHeaders = new Map<string, string[]>();
/** Paths of /hold/ requests whose upstream connection has closed. */
const heldClosed = new Set<string>();
/** Paths of requests whose whole body the upstream received. */
const completed: string[] = [];

before(async () => {
  ca = await createCa();
  const cert = await ca.issue({ dnsNames: [HOST] });
  backend = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    seenHeaders.set(req.url ?? '', Object.keys(req.headers));
    // /hold/... is never answered: a stream that stays open upstream.
    if (req.url?.startsWith('/hold/')) {
      res.on('close', () => heldClosed.add(req.url ?? ''));
      return;
    }
    if (req.url === '/cut') {
      // The upstream dies mid-body: the proxy has to reset the stream itself.
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(1000));
      setTimeout(() => req.socket.destroy(), 2);
      return;
    }
    req.resume();
    req.on('end', () => {
      completed.push(req.url ?? '');
      res.end('ok');
    });
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
    { maxHeaderSize: PROXY_MAX_HEADER },
  );
});

after(async () => {
  await p.close();
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

function wire(o: { plain?: boolean; ackSettings?: boolean } = {}): Promise<H2Wire> {
  return H2Wire.connect({ port: p.port(o.plain ? 'http' : 'https'), ...(o.plain ? {} : { tls: { servername: HOST, ca: ca.certPem } }), ackSettings: o.ackSettings ?? true });
}

function liveBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Sends `make(i)` frames in batches until `count` are sent or the server
 *  closes. The attacker shares this process with the proxy: it yields to
 *  the event loop after each batch, as one in another process would. */
async function flood(w: H2Wire, count: number, make: (i: number) => Buffer, batch = 200): Promise<number> {
  let sent = 0;
  while (sent < count && !w.closed) {
    const chunk: Buffer[] = [];
    for (let i = 0; i < batch && sent < count; i++, sent++) chunk.push(make(sent));
    await w.send(...chunk);
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

/** A normal client on its own connection (already open), asking again as
 *  soon as it is answered. */
async function bystander(): Promise<{ stop(): Promise<{ answered: number; failed: number; worstMs: number }> }> {
  const client = http2.connect(`https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: HOST });
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const req = client.request({ ':path': '/bystander', ':authority': HOST });
    req.on('error', reject);
    req.resume();
    req.on('end', () => resolve());
    req.end();
  });
  let running = true;
  let answered = 0;
  let failed = 0;
  let worstMs = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = client.request({ ':path': '/bystander', ':authority': HOST });
      let status = 0;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.resume();
      req.on('end', () => {
        worstMs = Math.max(worstMs, performance.now() - t0);
        if (status === 200) answered++;
        else failed++;
        resolve();
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const loop = (async () => {
    while (running) await one();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      client.close();
      return { answered, failed, worstMs };
    },
  };
}

/** Runs an attack with a bystander beside it and checks both bounds. */
async function measured<T>(t: TestContext, name: string, attack: () => Promise<T>): Promise<T> {
  const by = await bystander();
  const before = liveBytes();
  const t0 = performance.now();
  const result = await attack();
  const ms = performance.now() - t0;
  const b = await by.stop();
  await new Promise((r) => setTimeout(r, 50));
  const grown = liveBytes() - before;
  t.diagnostic(`${name}: ${ms.toFixed(0)} ms, memory ${(grown / 1048576).toFixed(1)} MiB, bystander ${b.answered} answered, worst ${b.worstMs.toFixed(0)} ms`);
  assert.ok(grown < MEMORY_BOUND, `${name}: memory grew ${(grown / 1048576).toFixed(1)} MiB`);
  assert.equal(b.failed, 0, `${name}: bystander requests failed`);
  assert.ok(b.answered > 0, `${name}: the bystander was answered`);
  assert.ok(b.worstMs < LATENCY_BOUND_MS, `${name}: bystander waited ${b.worstMs.toFixed(0)} ms`);
  return result;
}

const post = (path: string, extra: [string, string][] = []): [string, string][] => [[':method', 'POST'], [':scheme', 'https'], [':authority', HOST], [':path', path], ...extra];

interface MalformedRow {
  name: string;
  fields: (path: string) => [string, string][];
  expect: { reset: number } | { status: number };
}

// RFC 9113 §8.1.1 (malformed: stream error PROTOCOL_ERROR), §8.2.1 (field
// names), §8.2.2 (connection-specific fields), §8.3 (pseudo-header fields).
const MALFORMED: MalformedRow[] = [
  { name: 'no :path', fields: () => [[':method', 'GET'], [':scheme', 'https'], [':authority', HOST]], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'no :method', fields: (path) => [[':scheme', 'https'], [':authority', HOST], [':path', path]], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'no :scheme', fields: (path) => [[':method', 'GET'], [':authority', HOST], [':path', path]], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'empty :path', fields: () => [[':method', 'GET'], [':scheme', 'https'], [':authority', HOST], [':path', '']], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: ':path not starting with /', fields: (path) => request(HOST, path.slice(1)), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'no pseudo-header at all', fields: () => [['x-only', 'regular']], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'uppercase field name', fields: (path) => request(HOST, path, [['X-Upper', '1']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: ':status in a request', fields: (path) => request(HOST, path, [[':status', '200']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'unknown pseudo-header', fields: (path) => request(HOST, path, [[':protocol-x', 'y']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'duplicate :path', fields: (path) => [...request(HOST, path), [':path', '/other']], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'duplicate :method', fields: (path) => [[':method', 'GET'], [':method', 'POST'], [':scheme', 'https'], [':authority', HOST], [':path', path]], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'pseudo-header after a regular one', fields: (path) => [[':method', 'GET'], [':scheme', 'https'], ['x-a', '1'], [':authority', HOST], [':path', path]], expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'connection', fields: (path) => request(HOST, path, [['connection', 'close']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'keep-alive', fields: (path) => request(HOST, path, [['keep-alive', 'timeout=5']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'proxy-connection', fields: (path) => request(HOST, path, [['proxy-connection', 'keep-alive']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'transfer-encoding', fields: (path) => post(path, [['transfer-encoding', 'chunked']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'upgrade', fields: (path) => request(HOST, path, [['upgrade', 'websocket']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'te other than trailers', fields: (path) => request(HOST, path, [['te', 'gzip']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'te: trailers, gzip', fields: (path) => request(HOST, path, [['te', 'trailers, gzip']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'content-length with END_STREAM and no body', fields: (path) => post(path, [['content-length', '5']]), expect: { reset: ERR.PROTOCOL_ERROR } },
  { name: 'Host naming another host than :authority', fields: (path) => request(HOST, path, [['host', 'other.test']]), expect: { status: 400 } },
  { name: 'CONNECT (not proxied)', fields: () => [[':method', 'CONNECT'], [':authority', `${HOST}:443`]], expect: { status: 405 } },
];

test('malformed requests: RST_STREAM PROTOCOL_ERROR (or 400), and the upstream receives nothing', async () => {
  for (const [i, row] of MALFORMED.entries()) {
    const path = `/malformed/${i}`;
    const w = await wire();
    try {
      await w.send(headers(1, row.fields(path)));
      const outcome = await w.outcome(1, 5000);
      assert.deepEqual(outcome, row.expect, row.name);
      assert.equal(w.goaway(), undefined, `${row.name}: a stream error, the connection stays`);
    } finally {
      w.destroy();
    }
  }
  // Controls: the same requests without the defect are served.
  const w = await wire();
  try {
    await w.send(headers(1, request(HOST, '/control/te', [['te', 'trailers']])), headers(3, request(HOST, '/control/host', [['host', HOST]])));
    assert.deepEqual(await w.outcome(1, 5000), { status: 200 });
    assert.deepEqual(await w.outcome(3, 5000), { status: 200 });
  } finally {
    w.destroy();
  }
  assert.deepEqual(seen.filter((s) => s.startsWith('/malformed/')), []);
  assert.ok(seen.includes('/control/te') && seen.includes('/control/host'));
});

test('fields with invalid names or values are removed by node:http2 before the proxy sees the request: never forwarded', async () => {
  const bad: [string, string][] = [
    ['x-crlf', 'a\r\nx-injected: 1'],
    ['x-lf', 'a\nb'],
    ['x-nul', 'a\0b'],
    ['x-lead', ' a'],
    ['x-trail', 'a '],
    ['x space', '1'],
    ['x:colon', '1'],
    ['x-del', 'a\x7fb'],
  ];
  const w = await wire();
  try {
    await w.send(headers(1, request(HOST, '/fields', [...bad, ['x-good', 'kept']])));
    assert.deepEqual(await w.outcome(1, 5000), { status: 200 });
  } finally {
    w.destroy();
  }
  const names = seenHeaders.get('/fields') ?? [];
  assert.ok(names.includes('x-good'));
  for (const [n] of bad) assert.ok(!names.includes(n), `${JSON.stringify(n)} not forwarded`);
  assert.ok(!names.includes('x-injected'));
});

// RFC 9113 §8.1.1: a body that does not add up to its content-length makes
// the request malformed, a stream error. node:http2 would end the whole
// connection for it (GOAWAY INTERNAL_ERROR); the guard keeps it to the stream.
test('a body longer or shorter than its content-length: RST_STREAM PROTOCOL_ERROR on that stream only, never a complete request upstream', async () => {
  for (const plain of [false, true]) {
    const w = await wire({ plain });
    try {
      // A stream waiting upstream on the same connection must outlive the error.
      await w.send(headers(1, request(HOST, `/hold/cl-${plain}`)));
      await waitFor('the held stream forwarded', () => seen.includes(`/hold/cl-${plain}`));
      await w.send(headers(3, post(`/cl/over-${plain}`, [['content-length', '5']]), FLAG.END_HEADERS));
      await new Promise((r) => setTimeout(r, 20));
      await w.send(data(3, Buffer.from('0123456789'), FLAG.END_STREAM));
      assert.deepEqual(await w.outcome(3, 5000), { reset: ERR.PROTOCOL_ERROR }, 'longer');
      // In one read, the headers and a short body.
      await w.send(headers(5, post(`/cl/under-${plain}`, [['content-length', '10']]), FLAG.END_HEADERS), data(5, Buffer.from('01234'), FLAG.END_STREAM));
      assert.deepEqual(await w.outcome(5, 5000), { reset: ERR.PROTOCOL_ERROR }, 'shorter');
      await w.send(headers(7, request(HOST, `/cl/after-${plain}`)));
      assert.deepEqual(await w.outcome(7, 5000), { status: 200 }, 'the connection serves on');
      assert.equal(w.goaway(), undefined, 'no GOAWAY');
      assert.equal(w.frames.find((f) => f.stream === 1 && f.type === FRAME.RST_STREAM), undefined, 'the held stream is not reset');
      assert.ok(!heldClosed.has(`/hold/cl-${plain}`), 'the held stream is still open upstream');
    } finally {
      w.destroy();
    }
  }
  assert.deepEqual(completed.filter((s) => s.startsWith('/cl/over') || s.startsWith('/cl/under')), []);
});

interface ConnectionErrorRow {
  name: string;
  frames: () => Buffer[];
  goaway: number;
}

// Violations RFC 9113 makes connection errors: GOAWAY with the named code, then close.
const CONNECTION_ERRORS: ConnectionErrorRow[] = [
  { name: 'HEADERS on an even (server) stream id', frames: () => [headers(2, request(HOST, '/ce/even'))], goaway: ERR.PROTOCOL_ERROR },
  { name: 'DATA on stream 0', frames: () => [data(0, Buffer.from('x'))], goaway: ERR.PROTOCOL_ERROR },
  { name: 'RST_STREAM on an idle stream', frames: () => [rstStream(7)], goaway: ERR.PROTOCOL_ERROR },
  { name: 'PUSH_PROMISE from a client', frames: () => [frame(FRAME.PUSH_PROMISE, FLAG.END_HEADERS, 1, Buffer.concat([Buffer.from([0, 0, 0, 2]), headerBlock(request(HOST, '/ce/push'))]))], goaway: ERR.PROTOCOL_ERROR },
  { name: 'CONTINUATION without HEADERS', frames: () => [frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, headerBlock(request(HOST, '/ce/cont')))], goaway: ERR.PROTOCOL_ERROR },
  { name: 'HEADERS on a half-closed stream', frames: () => [headers(1, request(HOST, '/hold/ce')), headers(1, [['x-trailer', '1']])], goaway: ERR.STREAM_CLOSED },
  { name: 'padding longer than the frame', frames: () => [frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM | FLAG.PADDED, 1, Buffer.concat([Buffer.from([200]), headerBlock(request(HOST, '/ce/pad'))]))], goaway: ERR.PROTOCOL_ERROR },
  { name: 'frame larger than SETTINGS_MAX_FRAME_SIZE', frames: () => [frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, headerBlock(request(HOST, '/ce/big', [['x-pad', 'p'.repeat(17_000)]])))], goaway: ERR.FRAME_SIZE_ERROR },
  { name: 'SETTINGS with a length not a multiple of 6', frames: () => [frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(5))], goaway: ERR.FRAME_SIZE_ERROR },
  { name: 'SETTINGS_ENABLE_PUSH = 2', frames: () => [settings([[SETTING.ENABLE_PUSH, 2]])], goaway: ERR.PROTOCOL_ERROR },
  { name: 'SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1', frames: () => [settings([[SETTING.INITIAL_WINDOW_SIZE, 0x80000000]])], goaway: ERR.FLOW_CONTROL_ERROR },
  { name: 'SETTINGS_MAX_FRAME_SIZE under 16384', frames: () => [settings([[SETTING.MAX_FRAME_SIZE, 100]])], goaway: ERR.PROTOCOL_ERROR },
  { name: 'SETTINGS with 40 entries (limit 32)', frames: () => [settings(Array.from({ length: 40 }, (): [number, number] => [SETTING.INITIAL_WINDOW_SIZE, 65535]))], goaway: ERR.ENHANCE_YOUR_CALM },
  { name: 'WINDOW_UPDATE overflowing the window', frames: () => [frame(FRAME.WINDOW_UPDATE, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff]))], goaway: ERR.FLOW_CONTROL_ERROR },
  { name: 'header block that is not HPACK', frames: () => [frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.alloc(6, 0xff))], goaway: ERR.COMPRESSION_ERROR },
];

test('frame-level violations: GOAWAY with the RFC 9113 error code, then close', async () => {
  for (const row of CONNECTION_ERRORS) for (const plain of [false, true]) {
    const w = await wire({ plain });
    try {
      await w.send(...row.frames());
      const g = await w.waitGoaway(5000);
      assert.equal(g?.code, row.goaway, `${row.name} (${plain ? 'h2c' : 'h2'}): GOAWAY ${g?.code}`);
      assert.ok(await w.waitClosed(5000), `${row.name} (${plain ? 'h2c' : 'h2'}): closed`);
    } finally {
      w.destroy();
    }
  }
  assert.deepEqual(seen.filter((s) => s.startsWith('/ce/')), []);
});

/** One request's header block, split into HEADERS + CONTINUATION frames of at most 16 KiB. */
function splitBlock(stream: number, block: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const max = 16_384;
  for (let at = 0; at < block.length; at += max) {
    const last = at + max >= block.length;
    const type = at === 0 ? FRAME.HEADERS : FRAME.CONTINUATION;
    const flags = (at === 0 ? FLAG.END_STREAM : 0) | (last ? FLAG.END_HEADERS : 0);
    out.push(frame(type, flags, stream, block.subarray(at, at + max)));
  }
  return out;
}

const fields = (n: number, size: number): [string, string][] => Array.from({ length: n }, (_, i): [string, string] => [`x-f${String(i).padStart(3, '0')}`, 'v'.repeat(size)]);

/** A header block that adds one 4000-byte field to the HPACK dynamic table
 *  and then refers to it 2000 times: 8 MB of headers in 6 KB. */
function hpackBomb(path: string): Buffer {
  const name = Buffer.from('x-bomb');
  const len = 4000 - 127;
  const add = Buffer.concat([Buffer.from([0x40, name.length]), name, Buffer.from([0x7f, (len & 0x7f) | 0x80, len >> 7]), Buffer.alloc(4000, 0x62)]);
  return Buffer.concat([headerBlock(request(HOST, path)), add, Buffer.alloc(2000, 0x80 | 62)]);
}

test('header lists: over the limit 431, too many fields or an HPACK bomb RST_STREAM ENHANCE_YOUR_CALM, one field over 64 KiB GOAWAY COMPRESSION_ERROR', async (t) => {
  const limit = http2HeaderListLimit(PROXY_MAX_HEADER);
  t.diagnostic(`header list limit in this process: ${limit} bytes`);
  // HPACK counts 32 bytes per field on top of name and value.
  const fit = Math.floor((limit - 200) / (1000 + 5 + 32));
  const rows: { name: string; block: (path: string) => Buffer; expect: Record<string, number> }[] = [
    { name: 'just under the limit', block: (path) => headerBlock(request(HOST, path, fields(fit, 1000))), expect: { status: 200 } },
    { name: 'over the limit', block: (path) => headerBlock(request(HOST, path, fields(fit + 2, 1000))), expect: { status: 431 } },
    { name: '200 small fields (limit 128)', block: (path) => headerBlock(request(HOST, path, fields(200, 1))), expect: { reset: ERR.ENHANCE_YOUR_CALM } },
    { name: 'HPACK bomb', block: (path) => hpackBomb(path), expect: { reset: ERR.ENHANCE_YOUR_CALM } },
    { name: 'one field of 70 KB', block: (path) => headerBlock(request(HOST, path, [['x-huge', 'h'.repeat(70_000)]])), expect: { goaway: ERR.COMPRESSION_ERROR } },
  ];
  for (const [i, row] of rows.entries()) {
    const path = `/headers/${i}`;
    await measured(t, row.name, async () => {
      const w = await wire();
      try {
        await w.send(...splitBlock(1, row.block(path)));
        assert.deepEqual(await w.outcome(1, 5000), row.expect, row.name);
      } finally {
        w.destroy();
      }
    });
    assert.equal(seen.includes(path), i === 0, `${row.name}: upstream ${i === 0 ? 'served' : 'received nothing'}`);
  }
});

interface FloodRow {
  name: string;
  attack: (w: H2Wire) => Promise<number>;
  /** GOAWAY codes expected (either, when two limits race). */
  goaway: number[];
  /** Paths that reach the upstream at most this many times. */
  upstreamAtMost?: { prefix: string; count: number };
}

/** The proxy's reset budget says ENHANCE_YOUR_CALM; when one read carries
 *  more than MAX_CONCURRENT_STREAMS of them, node:http2 refuses the streams
 *  it has not yet let go of and, past maxSessionRejectedStreams, ends the
 *  session itself with INTERNAL_ERROR. Either way: GOAWAY and closed. */
const RAPID_RESET_GOAWAY: number[] = [ERR.ENHANCE_YOUR_CALM, ERR.INTERNAL_ERROR];

const FLOODS: FloodRow[] = [
  {
    // CVE-2023-44487: open a stream, reset it, again, as fast as possible.
    name: 'rapid reset (HEADERS + RST_STREAM)',
    attack: (w) => flood(w, 20_000, (i) => Buffer.concat([headers(2 * i + 1, request(HOST, `/rapid/${i}`)), rstStream(2 * i + 1)]), 50),
    goaway: RAPID_RESET_GOAWAY,
    upstreamAtMost: { prefix: '/rapid/', count: DEFAULT_HTTP2_BUDGETS.connectionResets.burst + MAX_CONCURRENT_STREAMS },
  },
  {
    // CVE-2024-27983: a header block that never ends.
    name: 'CONTINUATION flood',
    attack: async (w) => {
      await w.send(frame(FRAME.HEADERS, FLAG.END_STREAM, 1, headerBlock(request(HOST, '/continuation'))));
      return 1 + (await flood(w, 50_000, () => frame(FRAME.CONTINUATION, 0, 1, headerBlock([['x-c', 'c'.repeat(100)]]))));
    },
    goaway: [ERR.INTERNAL_ERROR],
    upstreamAtMost: { prefix: '/continuation', count: 0 },
  },
  {
    name: 'empty CONTINUATION flood',
    attack: async (w) => {
      await w.send(frame(FRAME.HEADERS, FLAG.END_STREAM, 1, headerBlock(request(HOST, '/continuation-empty'))));
      return 1 + (await flood(w, 100_000, () => frame(FRAME.CONTINUATION, 0, 1), 1000));
    },
    goaway: [ERR.INTERNAL_ERROR],
    upstreamAtMost: { prefix: '/continuation-empty', count: 0 },
  },
  { name: 'SETTINGS flood', attack: (w) => flood(w, 100_000, () => settings([[SETTING.INITIAL_WINDOW_SIZE, 65535]]), 1000), goaway: [ERR.ENHANCE_YOUR_CALM] },
  { name: 'PING flood', attack: (w) => flood(w, 100_000, () => ping(), 1000), goaway: [ERR.ENHANCE_YOUR_CALM] },
  {
    name: 'empty DATA flood',
    attack: async (w) => {
      await w.send(headers(1, post('/hold/empty-data'), FLAG.END_HEADERS));
      return 1 + (await flood(w, 100_000, () => data(1, Buffer.alloc(0)), 1000));
    },
    // node:http2's maxSessionInvalidFrames; the guard sends the GOAWAY node:http2 would not.
    goaway: [ERR.ENHANCE_YOUR_CALM],
  },
  {
    // Stream errors nghttp2 finds in DATA (a body past its content-length)
    // keep the connection (see above), so their number is what bounds them:
    // node:http2's maxSessionInvalidFrames ends the session.
    name: 'bodies past their content-length',
    attack: (w) => flood(w, 20_000, (i) => Buffer.concat([headers(2 * i + 1, post(`/cl-flood/${i}`, [['content-length', '1']]), FLAG.END_HEADERS), data(2 * i + 1, Buffer.from('xx'), FLAG.END_STREAM)]), 50),
    goaway: [ERR.ENHANCE_YOUR_CALM],
    upstreamAtMost: { prefix: '/cl-flood/', count: 0 },
  },
  {
    name: 'PRIORITY flood',
    attack: (w) => flood(w, 100_000, (i) => frame(FRAME.PRIORITY, 0, 3 + 2 * (i % 500), Buffer.from([0, 0, 0, 1, 15])), 1000),
    goaway: [ERR.ENHANCE_YOUR_CALM],
  },
];

for (const row of FLOODS) {
  test(`flood: ${row.name} -> GOAWAY ${row.goaway.join(' or ')}, memory and a bystander within bounds`, async (t) => {
    const w = await wire();
    try {
      const sent = await measured(t, row.name, async () => {
        const n = await row.attack(w);
        assert.ok(await w.waitClosed(10_000), `${row.name}: connection closed`);
        return n;
      });
      const g = w.goaway();
      assert.ok(g !== undefined && row.goaway.includes(g.code), `${row.name}: GOAWAY ${g?.code}`);
      t.diagnostic(`${row.name}: ${sent} frames sent, server answered ${w.received} bytes`);
      if (row.upstreamAtMost) {
        const n = seen.filter((s) => s.startsWith(row.upstreamAtMost!.prefix)).length;
        assert.ok(n <= row.upstreamAtMost.count, `${row.name}: ${n} requests reached the upstream`);
      }
    } finally {
      w.destroy();
    }
  });
}

test('concurrency: streams over SETTINGS_MAX_CONCURRENT_STREAMS are refused until the client acknowledges the SETTINGS, a connection error after', async (t) => {
  // A client that has not acknowledged the limit may not know it yet.
  const early = await wire({ ackSettings: false });
  try {
    const n = MAX_CONCURRENT_STREAMS + 50;
    await measured(t, 'streams before SETTINGS', () => early.send(...Array.from({ length: n }, (_, i) => headers(2 * i + 1, request(HOST, `/hold/early/${i}`)))));
    const over = await Promise.all(Array.from({ length: 50 }, (_, i) => early.outcome(2 * (MAX_CONCURRENT_STREAMS + i) + 1, 5000)));
    for (const o of over) assert.deepEqual(o, { reset: ERR.REFUSED_STREAM });
    await waitFor('the streams within the limit upstream', () => seen.filter((s) => s.startsWith('/hold/early/')).length === MAX_CONCURRENT_STREAMS);
    assert.equal(early.goaway(), undefined);
  } finally {
    early.destroy();
  }
  // A client that keeps opening refused streams is cut off after 100 of them.
  const persistent = await wire({ ackSettings: false });
  try {
    await persistent.send(...Array.from({ length: MAX_CONCURRENT_STREAMS + 150 }, (_, i) => headers(2 * i + 1, request(HOST, `/hold/persistent/${i}`))));
    assert.ok(await persistent.waitClosed(5000), 'closed');
    const refused = persistent.frames.filter((f) => f.type === FRAME.RST_STREAM && f.payload.readUInt32BE(0) === ERR.REFUSED_STREAM).length;
    assert.ok(refused > 0 && refused <= 102, `${refused} streams refused before the close`);
  } finally {
    persistent.destroy();
  }
  const late = await wire();
  try {
    assert.ok(await late.waitSettings(5000));
    await measured(t, 'streams after SETTINGS', () => late.send(...Array.from({ length: MAX_CONCURRENT_STREAMS * 4 }, (_, i) => headers(2 * i + 1, request(HOST, `/hold/late/${i}`)))));
    const g = await late.waitGoaway(5000);
    assert.equal(g?.code, ERR.PROTOCOL_ERROR);
    assert.equal(g?.lastStream, 2 * (MAX_CONCURRENT_STREAMS - 1) + 1, 'the streams within the limit are the ones processed');
    assert.ok(await late.waitClosed(5000));
  } finally {
    late.destroy();
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(seen.filter((s) => s.startsWith('/hold/late/')).length <= MAX_CONCURRENT_STREAMS);
});

test('flood: WINDOW_UPDATE increments cost nghttp2 only: the connection stays usable, memory and a bystander within bounds', async (t) => {
  const w = await wire();
  try {
    await measured(t, 'WINDOW_UPDATE flood', () => flood(w, 100_000, () => frame(FRAME.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 0, 1])), 1000));
    await w.send(headers(1, request(HOST, '/after-window-updates')));
    assert.deepEqual(await w.outcome(1, 5000), { status: 200 });
  } finally {
    w.destroy();
  }
});

test('flood: malformed requests, one after another on one connection, cost one stream error each', async (t) => {
  const w = await wire();
  try {
    await measured(t, 'malformed HEADERS flood', () => flood(w, 5000, (i) => headers(2 * i + 1, request(HOST, `/malformed-flood/${i}`, [['connection', 'close']])), 100));
    const resets = w.frames.filter((f) => f.type === FRAME.RST_STREAM && f.payload.readUInt32BE(0) === ERR.PROTOCOL_ERROR).length;
    t.diagnostic(`${resets} streams reset with PROTOCOL_ERROR before ${w.closed ? 'the connection closed' : 'the flood ended'}`);
    assert.ok(resets > 0);
  } finally {
    w.destroy();
  }
  assert.deepEqual(seen.filter((s) => s.startsWith('/malformed-flood/')), []);
});

test('rapid reset on the plain listener (h2c) meets the same budget', async () => {
  const w = await wire({ plain: true });
  try {
    await flood(w, 20_000, (i) => Buffer.concat([headers(2 * i + 1, request(HOST, `/rapid-h2c/${i}`)), rstStream(2 * i + 1)]), 50);
    const g = await w.waitGoaway(10_000);
    assert.ok(g !== undefined && RAPID_RESET_GOAWAY.includes(g.code), `GOAWAY ${g?.code}`);
    assert.ok(await w.waitClosed(10_000));
  } finally {
    w.destroy();
  }
});

/** Runs `body` with the process budgets replaced, then restores the defaults. */
async function withBudgets(budgets: Partial<typeof DEFAULT_HTTP2_BUDGETS>, body: () => Promise<void>): Promise<void> {
  http2Process.configure({ ...DEFAULT_HTTP2_BUDGETS, ...budgets });
  try {
    await body();
  } finally {
    http2Process.configure(DEFAULT_HTTP2_BUDGETS);
  }
}

test('process budget: resets spread over connections, each under its own budget, add up to GOAWAY', async (t) => {
  await withBudgets({ connectionResets: { burst: 100, perSecond: 0.001 }, processResets: { burst: 150, perSecond: 0.001 } }, async () => {
    const first = await wire();
    const second = await wire();
    try {
      // 90 resets each: under the connection budget (100), over the process's (150) together.
      const burst = (w: H2Wire, tag: string): Promise<void> => w.send(...Array.from({ length: 90 }, (_, i) => Buffer.concat([headers(2 * i + 1, request(HOST, `/spread/${tag}/${i}`)), rstStream(2 * i + 1)])));
      await burst(first, 'a');
      await first.send(headers(181, request(HOST, '/spread/a/alive')));
      assert.deepEqual(await first.outcome(181, 5000), { status: 200 }, 'the first connection is within both budgets');
      await burst(second, 'b');
      const g = await second.waitGoaway(5000);
      assert.equal(g?.code, ERR.ENHANCE_YOUR_CALM, 'the connection that empties the process budget gets GOAWAY');
      assert.ok(await second.waitClosed(5000));
      t.diagnostic(`second connection: GOAWAY last stream ${g?.lastStream}`);
    } finally {
      first.destroy();
      second.destroy();
    }
  });
});

test('process budget: streams open over every connection beyond the budget are refused (REFUSED_STREAM), never forwarded', async () => {
  await withBudgets({ processStreams: 150 }, async () => {
    const first = await wire();
    const second = await wire();
    try {
      await first.send(...Array.from({ length: 100 }, (_, i) => headers(2 * i + 1, request(HOST, `/hold/budget/a/${i}`))));
      await waitFor('the first 100 streams upstream', () => seen.filter((s) => s.startsWith('/hold/budget/a/')).length === 100);
      await second.send(...Array.from({ length: 60 }, (_, i) => headers(2 * i + 1, request(HOST, `/hold/budget/b/${i}`))));
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => second.outcome(2 * (50 + i) + 1, 5000)));
      for (const o of outcomes) assert.deepEqual(o, { reset: ERR.REFUSED_STREAM });
      await waitFor('the 50 streams within the budget upstream', () => seen.filter((s) => s.startsWith('/hold/budget/b/')).length === 50);
      await new Promise((r) => setTimeout(r, 100));
      const b = seen.filter((s) => s.startsWith('/hold/budget/b/'));
      assert.equal(b.length, 50);
      for (let i = 50; i < 60; i++) assert.ok(!b.includes(`/hold/budget/b/${i}`), `refused stream ${i} not forwarded`);
      assert.equal(second.goaway(), undefined, 'refusing is not a connection error');
    } finally {
      first.destroy();
      second.destroy();
    }
  });
  // Their streams closed with the connections: the budget is free again.
  await waitFor('open stream count back to 0', () => http2Process.openStreams === 0);
});

test('a client that goes away frees its streams: the requests it left waiting upstream are cancelled', async () => {
  const base = http2Process.openStreams;
  for (const plain of [false, true]) {
    const tag = plain ? 'h2c' : 'h2';
    const w = await wire({ plain });
    await w.send(...Array.from({ length: 20 }, (_, i) => headers(2 * i + 1, request(HOST, `/hold/vanish/${tag}/${i}`))));
    const paths = Array.from({ length: 20 }, (_, i) => `/hold/vanish/${tag}/${i}`);
    await waitFor(`${tag}: 20 requests upstream`, () => paths.every((x) => seen.includes(x)));
    assert.equal(http2Process.openStreams, base + 20);
    // A FIN, as any client that closes its socket sends.
    w.socket.end();
    await waitFor(`${tag}: the 20 upstream requests cancelled`, () => paths.every((x) => heldClosed.has(x)));
    await waitFor(`${tag}: open streams back to ${base}`, () => http2Process.openStreams === base);
    w.destroy();
  }
});


test('no false alarm: resets the proxy sends itself, client cancels within the burst and 500 requests on one connection keep it open', async () => {
  const client = http2.connect(`https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: HOST });
  let goaway: number | undefined;
  client.on('goaway', (code) => (goaway = code));
  client.on('error', () => {});
  const exchange = (path: string, cancelAfterMs?: number): Promise<void> =>
    new Promise((resolve) => {
      const req = client.request({ ':path': path, ':authority': HOST });
      req.on('error', () => {});
      req.resume();
      req.on('close', () => resolve());
      if (cancelAfterMs !== undefined) setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), cancelAfterMs);
      req.end();
    });
  try {
    // The upstream dies mid-body: the proxy ends those streams, 250 times.
    for (let i = 0; i < 250; i++) await exchange('/cut');
    // The client gives up on requests still waiting upstream, within its burst.
    const cancels = DEFAULT_HTTP2_BUDGETS.connectionResets.burst - 20;
    for (let at = 0; at < cancels; at += MAX_CONCURRENT_STREAMS / 2) {
      await Promise.all(Array.from({ length: MAX_CONCURRENT_STREAMS / 2 }, (_, i) => exchange(`/hold/cancel/${at + i}`, 20)));
    }
    for (let i = 0; i < 500; i++) await exchange(`/normal/${i % 10}`);
    assert.equal(goaway, undefined);
    assert.ok(!client.destroyed && !client.closed);
  } finally {
    client.destroy();
  }
});

test('nothing above threw or emitted an error no one listened for', async () => {
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(uncaught.map((e) => e.message), []);
});
