// isobar's own request-head reader (the fast HTTP/1.1 path) never refuses:
// it reads a head or declines it to node:http. What it reads must be what
// llhttp reads. Tables for the grammar's edges, then a fast-check property
// against a real node:http server over random and mutated heads: every
// head isobar reads, node:http reads the same way (method, target,
// version, fields in order, persistence) as a request without a body.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { INCOMPLETE, parseRequestHead, UNFIT, type RequestHead } from '../../src/proxy/h1-request-head.ts';

const MAX = 16 * 1024;
const read = (s: string): RequestHead | typeof INCOMPLETE | typeof UNFIT => parseRequestHead(Buffer.from(s, 'latin1'), MAX);

test('reads a bodiless head: method, target, version, fields as sent, names lowercased, values trimmed', () => {
  const h = read('GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: app.test\r\nX-Thing:  v a l \t\r\nAccept:\r\n\r\nleftover');
  assert.ok(typeof h === 'object');
  assert.deepEqual(
    { method: h.method, url: h.url, minor: h.minor, keepAlive: h.keepAlive, length: h.length, headers: h.headers, raw: h.rawHeaders },
    {
      method: 'GET',
      url: '/a/b?x=1&y=%20',
      minor: 1,
      keepAlive: true,
      length: 'GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: app.test\r\nX-Thing:  v a l \t\r\nAccept:\r\n\r\n'.length,
      headers: { host: 'app.test', 'x-thing': 'v a l', accept: '' },
      raw: ['Host', 'app.test', 'X-Thing', 'v a l', 'Accept', ''],
    },
  );
});

test('persistence as llhttp reads it', () => {
  const cases: [string, string, boolean][] = [
    ['1.1', '', true],
    ['1.1', 'Connection: close\r\n', false],
    ['1.1', 'Connection: keep-alive, Close\r\n', false],
    ['1.0', '', false],
    ['1.0', 'Connection: keep-alive\r\n', true],
    // llhttp lets an HTTP/1.0 keep-alive outweigh close (asksToClose() then ends it).
    ['1.0', 'Connection: close, keep-alive\r\n', true],
  ];
  for (const [v, field, want] of cases) {
    const h = read(`GET / HTTP/${v}\r\nHost: a\r\n${field}\r\n`);
    assert.ok(typeof h === 'object', `${v} ${field}`);
    assert.equal(h.keepAlive, want, `${v} ${JSON.stringify(field)}`);
  }
});

test('declines what node:http must decide', () => {
  const unfit: [string, string][] = [
    ['a body by length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc'],
    ['chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['an upgrade', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['Connection: upgrade alone', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n'],
    ['Expect', 'PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n'],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n'],
    ['an unknown method', 'FOO / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a lowercase method', 'get / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n'],
    ['HTTP/0.9', 'GET /\r\n\r\n'],
    ['a fragment', 'GET /#x HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['absolute form', 'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['asterisk form', 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a target not starting with /', 'GET ) HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a quote in the target', 'GET /"x HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['obs-text in the target', 'GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a bare LF', 'GET / HTTP/1.1\nHost: a\r\n\r\n'],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n'],
    ['a control character in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX: b\x01c\r\n\r\n'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX: b\x7f\r\n\r\n'],
    ['obs-text in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n'],
    ['a repeated name', 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nx: 2\r\n\r\n'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['__proto__', 'GET / HTTP/1.1\r\nHost: a\r\n__proto__: x\r\n\r\n'],
    ['constructor', 'GET / HTTP/1.1\r\nHost: a\r\nconstructor: x\r\n\r\n'],
    ['a field without a colon', 'GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n'],
    ['101 fields', `GET / HTTP/1.1\r\n${Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`],
    ['a head over the limit', `GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(MAX)}\r\n\r\n`],
    ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ];
  for (const [name, bytes] of unfit) assert.equal(read(bytes), UNFIT, name);
  assert.equal(read('GET / HTTP/1.1\r\nHost: a\r\n'), INCOMPLETE);
  assert.equal(read(''), INCOMPLETE);
  assert.equal(read(`GET / HTTP/1.1\r\nX: ${'v'.repeat(MAX)}`), UNFIT, 'no end in sight past the limit');
  // Content-Length: 0 is no body; 100 fields is the limit itself.
  assert.ok(typeof read('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n') === 'object');
  assert.ok(typeof read(`GET / HTTP/1.1\r\n${Array.from({ length: 100 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`) === 'object');
});

// ---- against llhttp ----

interface NodeReading {
  method: string;
  url: string;
  minor: number;
  raw: string[];
  headers: Record<string, string | string[] | undefined>;
  keepAlive: boolean;
  bodyBytes: number;
}

let server: http.Server;
let port = 0;
let next: ((r: NodeReading | 'refused' | 'upgrade') => void) | undefined;

before(async () => {
  // node:http as the listener sets it up for HTTP/1.
  server = http.createServer({ maxHeaderSize: MAX, requireHostHeader: false }, (req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      next?.({ method: req.method!, url: req.url!, minor: req.httpVersionMinor, raw: req.rawHeaders, headers: { ...req.headers }, keepAlive: res.shouldKeepAlive, bodyBytes });
      res.destroy();
    });
  });
  server.on('clientError', (_e, s: net.Socket) => {
    next?.('refused');
    s.destroy();
  });
  server.on('upgrade', (_r, s: net.Socket) => {
    next?.('upgrade');
    s.destroy();
  });
  server.on('connect', (_r, s: net.Socket) => {
    next?.('upgrade');
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function nodeReads(bytes: Buffer): Promise<NodeReading | 'refused' | 'upgrade'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node:http gave no outcome for ${JSON.stringify(bytes.toString('latin1'))}`)), 3000);
    next = (r) => {
      next = undefined;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('error', () => {});
  });
}

/** Mostly what the fast grammar takes, sometimes what it must not. */
const mostly = <T,>(fit: T[], other: T[]): fc.Arbitrary<T> => fc.oneof({ arbitrary: fc.constantFrom(...fit), weight: 6 }, { arbitrary: fc.constantFrom(...other), weight: 1 });
const METHOD = mostly(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'], ['TRACE', 'FOO', 'get', 'GE T', 'CONNECT']);
const VERSION = mostly(['HTTP/1.1', 'HTTP/1.0'], ['HTTP/1.2', 'HTTP/2.0', 'HTTP/1.', 'http/1.1', 'HTTP/1.1 ']);
const NAME = fc.oneof(
  { arbitrary: fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}$/), weight: 4 },
  { arbitrary: mostly(['Host', 'Connection', 'Keep-Alive', 'TE', 'Cookie', 'Authorization', 'User-Agent', 'Content-Length'], ['Transfer-Encoding', 'Upgrade', 'Expect', 'A b', 'A:b', '', 'host']), weight: 2 },
);
const VALUE = fc.oneof(
  { arbitrary: fc.stringMatching(/^[\t\x20-\x7e]{0,12}$/), weight: 4 },
  { arbitrary: mostly(['app.test', 'close', 'keep-alive', 'Keep-Alive, close', 'close, keep-alive', '0', ' x ', '\tx\t', ''], ['upgrade', '00', '1', 'chunked', 'a\x01b', 'a\x7fb', 'caf\xe9', 'a\rb', 'a\nb']), weight: 2 },
);
const TARGET = fc.oneof(
  { arbitrary: fc.stringMatching(/^\/[!$&'()*+,;=:@\/?%._~A-Za-z0-9-]{0,16}$/), weight: 6 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...'/?&=%:@[]aZ09"#<>\\^`{|}\x01 \xe9'.split('')), minLength: 1, maxLength: 10 }).map((t) => `/${t}`), weight: 1 },
  { arbitrary: fc.constantFrom('*', 'http://app.test/x', 'app.test:80'), weight: 1 },
);

const head = fc
  .record({
    method: METHOD,
    target: TARGET,
    version: VERSION,
    fields: fc.uniqueArray(fc.tuple(NAME, VALUE, mostly([': ', ':', ':\t', ':  '], [' : ', ' :'])), { maxLength: 6, selector: ([n]) => n.toLowerCase() }),
    eol: mostly(['\r\n'], ['\n']),
  })
  .map(({ method, target, version, fields, eol }) => `${method} ${target} ${version}${eol}${fields.map(([n, v, sep]) => `${n}${sep}${v}${eol}`).join('')}${eol}`);

/** A head with one byte replaced, inserted or removed. */
const mutated = fc.tuple(head, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('replace', 'insert', 'delete')).map(([h, at, byte, how]) => {
  const b = Buffer.from(h, 'latin1');
  const i = at % b.length;
  if (how === 'replace') b[i] = byte;
  else if (how === 'insert') return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
  else return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
  return b;
});

test('property: every head isobar reads, node:http reads the same way, without a body', async () => {
  const counts = { read: 0, declined: 0 };
  await fc.assert(
    fc.asyncProperty(fc.oneof(head.map((h) => Buffer.from(h, 'latin1')), mutated), async (bytes) => {
      const mine = parseRequestHead(bytes, MAX);
      if (typeof mine === 'number') {
        counts.declined++;
        return;
      }
      counts.read++;
      const theirs = await nodeReads(bytes);
      assert.ok(typeof theirs === 'object', `node:http: ${theirs} for ${JSON.stringify(bytes.toString('latin1'))}`);
      assert.deepEqual(
        { method: mine.method, url: mine.url, minor: mine.minor, raw: mine.rawHeaders, headers: mine.headers, keepAlive: mine.keepAlive, bodyBytes: 0 },
        { ...theirs },
        JSON.stringify(bytes.toString('latin1')),
      );
      assert.equal(mine.length, bytes.indexOf('\r\n\r\n') + 4);
    }),
    { numRuns: 1500 },
  );
  // The generators reach both sides.
  assert.ok(counts.read > 150 && counts.declined > 150, JSON.stringify(counts));
});

test('property: any bytes at all give a head, INCOMPLETE or UNFIT, never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = parseRequestHead(Buffer.from(bytes), 256);
      assert.ok(r === INCOMPLETE || r === UNFIT || typeof r === 'object');
    }),
    { numRuns: 3000 },
  );
});
