// The upstream response parser (h1-response-parser.ts) on its own: every
// malformed response gets its coded error, and every valid one reads the
// same in one piece and split at every byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResponse, type Parsed } from './h1-response-support.ts';

const H = 'HTTP/1.1 200 OK\r\n';
const CHUNKED = `${H}transfer-encoding: chunked\r\n\r\n`;

const malformed: [name: string, input: string, code: string, opts?: { upgrade?: boolean; maxHeaderSize?: number }][] = [
  ['lower-case protocol name', 'http/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['HTTP/2.0 on an HTTP/1.1 connection', 'HTTP/2.0 200 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['HTTP/1.2', 'HTTP/1.2 200 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['HTTP/0.9', 'HTTP/0.9 200 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['tab after the version', 'HTTP/1.1\t200 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['two spaces after the version', 'HTTP/1.1  200 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['status below 100', 'HTTP/1.1 099 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['four-digit status', 'HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['status not digits', 'HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['status glued to the reason', 'HTTP/1.1 200OK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['control character in the reason', 'HTTP/1.1 200 O\x01K\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['DEL in the reason', 'HTTP/1.1 200 O\x7fK\r\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['bare LF after the status line', 'HTTP/1.1 200 OK\ncontent-length: 0\r\n\r\n', 'ISOBAR_H1_INVALID_STATUS'],
  ['bare LF after a field', `${H}x: a\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['bare LF ending the head', `${H}content-length: 0\r\n\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['CR inside a field value', `${H}x: a\rb\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['NUL in a field value', `${H}x: a\x00b\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['DEL in a field value', `${H}x: a\x7fb\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['obs-fold', `${H}x: a\r\n b\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['obs-fold with a tab', `${H}x: a\r\n\tb\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['space before the colon', `${H}x : a\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['empty field name', `${H}: a\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['no colon', `${H}xa\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['obs-text in a field name', `${H}x\xe9: a\r\ncontent-length: 0\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['Content-Length not a number', `${H}content-length: abc\r\n\r\n`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Content-Length signed', `${H}content-length: +3\r\n\r\nabc`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Content-Length empty', `${H}content-length: \r\n\r\n`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Content-Length with inner space', `${H}content-length: 1 2\r\n\r\nabc`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Content-Length over 2^53', `${H}content-length: 99999999999999999999\r\n\r\n`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Content-Length list of different values', `${H}content-length: 3, 4\r\n\r\nabcd`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['two Content-Length fields that differ', `${H}content-length: 3\r\ncontent-length: 4\r\n\r\nabcd`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Content-Length list with an empty member', `${H}content-length: 3,\r\n\r\nabc`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Transfer-Encoding and Content-Length', `${H}transfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Content-Length and Transfer-Encoding (other order, not chunked)', `${H}content-length: 3\r\ntransfer-encoding: gzip\r\n\r\nabc`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['empty Transfer-Encoding', `${H}transfer-encoding: \r\n\r\nabc`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Transfer-Encoding not a token list', `${H}transfer-encoding: chu nked\r\n\r\nabc`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['Transfer-Encoding with an empty member', `${H}transfer-encoding: chunked,\r\n\r\nabc`, 'ISOBAR_H1_INVALID_FRAMING'],
  ['chunk size not hexadecimal', `${CHUNKED}xyz\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk size 0x-prefixed', `${CHUNKED}0x3\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk size with a trailing space', `${CHUNKED}3 \r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk size overflowing 2^53', `${CHUNKED}fffffffffffffffffff\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['empty chunk size line', `${CHUNKED}\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk size line with a bare LF', `${CHUNKED}3\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk data longer than its size', `${CHUNKED}3\r\nabcd\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk data ended by a bare LF', `${CHUNKED}3\r\nabc\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension with a space', `${CHUNKED}3; a=b\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension without a name', `${CHUNKED}3;\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension with an empty name', `${CHUNKED}3;=b\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension name not a token', `${CHUNKED}3;@=b\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension value with two =', `${CHUNKED}3;a=b=c\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension quoted value unterminated', `${CHUNKED}3;a="b\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension quoted value with a control character', `${CHUNKED}3;a="x\x01y"\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['chunk extension text after the quoted value', `${CHUNKED}3;a="b"c\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_INVALID_CHUNK'],
  ['obs-fold in a trailer', `${CHUNKED}3\r\nabc\r\n0\r\nt: 1\r\n 2\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['space before a trailer colon', `${CHUNKED}3\r\nabc\r\n0\r\nt : 1\r\n\r\n`, 'ISOBAR_H1_INVALID_HEADER'],
  ['101 to a request that did not ask to upgrade', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n', 'ISOBAR_H1_UNEXPECTED_RESPONSE'],
  ['101 without an Upgrade field to a request that did not ask', 'HTTP/1.1 101 ,ontinue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na', 'ISOBAR_H1_UNEXPECTED_RESPONSE'],
  ['HTTP/1.0 interim response (it ends the connection)', 'HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 200 OK \r\n\r\nabc', 'ISOBAR_H1_UNEXPECTED_RESPONSE'],
  ['interim response with Connection: close', 'HTTP/1.1 103 Early Hints\r\nconnection: close\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na', 'ISOBAR_H1_UNEXPECTED_RESPONSE'],
  ['a head over the size limit', `${H}x: ${'a'.repeat(200)}\r\n\r\n`, 'ISOBAR_H1_HEADERS_OVERFLOW', { maxHeaderSize: 128 }],
  ['a head over the limit with no line end', `${H}x: ${'a'.repeat(200)}`, 'ISOBAR_H1_HEADERS_OVERFLOW', { maxHeaderSize: 128 }],
  ['trailers over the size limit', `${CHUNKED}3\r\nabc\r\n0\r\nt: ${'a'.repeat(200)}\r\n\r\n`, 'ISOBAR_H1_HEADERS_OVERFLOW', { maxHeaderSize: 128 }],
  ['a chunk size line over the limit', `${CHUNKED}3;a=${'b'.repeat(200)}\r\nabc\r\n0\r\n\r\n`, 'ISOBAR_H1_HEADERS_OVERFLOW', { maxHeaderSize: 128 }],
  ['96 KiB of fields by default', H + `x-f: ${'a'.repeat(1000)}\r\n`.repeat(100) + '\r\n', 'ISOBAR_H1_HEADERS_OVERFLOW'],
];

/** Every split of the input: in one piece, byte by byte, and at every single offset. */
function everySplit(input: string, o: { head?: boolean; upgrade?: boolean; maxHeaderSize?: number; closeAtEnd?: boolean }): Parsed[] {
  const n = Buffer.byteLength(input, 'latin1');
  const out = [parseResponse(input, o), parseResponse(input, { ...o, cuts: Array.from({ length: n }, (_, i) => i) })];
  if (n < 400) for (let i = 1; i < n; i++) out.push(parseResponse(input, { ...o, cuts: [i] }));
  return out;
}

for (const [name, input, code, opts] of malformed) {
  test(`malformed response: ${name} -> ${code}`, () => {
    for (const r of everySplit(input, opts ?? {})) assert.equal(r.error, code);
  });
}

const valid: [name: string, input: string, want: Partial<Parsed>, opts?: { head?: boolean; upgrade?: boolean; closeAtEnd?: boolean }][] = [
  ['Content-Length body', `${H}content-length: 3\r\n\r\nabc`, { status: 200, reason: 'OK', body: 'abc', keepAlive: true, headers: { 'content-length': '3' } }],
  ['no reason phrase', 'HTTP/1.1 204\r\n\r\n', { status: 204, reason: '', body: '' }],
  ['empty reason phrase', 'HTTP/1.1 200 \r\ncontent-length: 0\r\n\r\n', { status: 200, reason: '' }],
  ['reason with a tab and obs-text', 'HTTP/1.1 200 O\tK \xe9\r\ncontent-length: 0\r\n\r\n', { reason: 'O\tK \xe9' }],
  ['names lower-cased, values trimmed, repeats a list', `${H}X-A:  1 \t\r\nx-a: 2\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 0\r\n\r\n`, { headers: { 'x-a': ['1', '2'], 'set-cookie': ['a=1', 'b=2'], 'content-length': '0' } }],
  ['empty field value', `${H}x:\r\ncontent-length: 0\r\n\r\n`, { headers: { x: '', 'content-length': '0' } }],
  ['obs-text in a value', `${H}x: a\xe9b\r\ncontent-length: 0\r\n\r\n`, { headers: { x: 'a\xe9b', 'content-length': '0' } }],
  ['__proto__ and constructor are plain fields', `${H}__proto__: x\r\n__proto__: y\r\nconstructor: z\r\ncontent-length: 0\r\n\r\n`, { headers: JSON.parse('{"__proto__":["x","y"],"constructor":"z","content-length":"0"}') }],
  ['Content-Length list of one value (RFC 9112 §6.3)', `${H}content-length: 3, 3\r\n\r\nabc`, { body: 'abc' }],
  ['two Content-Length fields of one value', `${H}content-length: 3\r\ncontent-length: 3\r\n\r\nabc`, { body: 'abc' }],
  ['Content-Length with leading zeros', `${H}content-length: 00000000000000000003\r\n\r\nabc`, { body: 'abc' }],
  ['chunked with extensions and trailers', `${CHUNKED}3;a=b;c="d \\"e"\r\nabc\r\nA;x=\r\n0123456789\r\n0;z=1\r\nT-One: 1\r\nt-one: 2\r\n\r\n`, { body: 'abc0123456789', trailers: { 't-one': ['1', '2'] } }],
  ['chunk sizes with leading zeros and upper case', `${CHUNKED}000A\r\n0123456789\r\n000\r\n\r\n`, { body: '0123456789', trailers: {} }],
  ['Transfer-Encoding with a tab after chunked (RFC 9110 §5.5 trims it)', `${H}transfer-encoding: chunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, { body: 'abc', keepAlive: true }],
  ['Transfer-Encoding CHUNKED in capitals', `${H}transfer-encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, { body: 'abc' }],
  ['gzip, chunked: chunked', `${H}transfer-encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, { body: 'abc', keepAlive: true }],
  ['chunked, gzip: read to the close (RFC 9112 §6.3)', `${H}transfer-encoding: chunked, gzip\r\n\r\n3\r\nabc`, { body: '3\r\nabc', keepAlive: false }],
  ['gzip alone: read to the close', `${H}transfer-encoding: gzip\r\n\r\nabc`, { body: 'abc', keepAlive: false }],
  ['no framing: read to the close', `${H}\r\nabc`, { body: 'abc', keepAlive: false }],
  ['HTTP/1.0 without keep-alive: read to the close', 'HTTP/1.0 200 OK\r\n\r\nabc', { body: 'abc', keepAlive: false }],
  ['HTTP/1.0 keep-alive with a length', 'HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\n\r\na', { body: 'a', keepAlive: true }],
  ['Connection: close', `${H}connection: Keep-Alive, close\r\ncontent-length: 1\r\n\r\na`, { keepAlive: false }],
  ['Keep-Alive timeout hint', `${H}keep-alive: timeout=5, max=100\r\ncontent-length: 0\r\n\r\n`, { keepAlive: true, hintMs: 5000 }],
  ['100 Continue and 103 Early Hints skipped', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na', { status: 200, body: 'a', headers: { 'content-length': '1' } }],
  ['HTTP/1.0 interim response with keep-alive', 'HTTP/1.0 100 Continue\r\nconnection: keep-alive\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na', { status: 200, body: 'a' }],
  ['CR and LF before the status line', `\r\n\n\r${H}content-length: 0\r\n\r\n`, { status: 200 }],
  ['HEAD: no body whatever the length', `${H}content-length: 10\r\n\r\n`, { body: '', keepAlive: true }, { head: true }],
  ['204 with a length: no body, not reused', 'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n', { body: '', keepAlive: false }],
  ['304: no body', 'HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n', { body: '', keepAlive: true }],
  ['101 to an upgrade request', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\nframes', { status: 101, rest: 6 }, { upgrade: true }],
  // Past 16 names, repeats are found by a set: both ways give the same lists.
  [
    'repeats among many fields, in the head and in trailers',
    `${H}x-a: 1\r\n${Array.from({ length: 40 }, (_, i) => `f${i}: ${i}\r\n`).join('')}X-A: 2\r\nf39: again\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n${Array.from({ length: 20 }, (_, i) => `t${i}: ${i}\r\n`).join('')}t0: again\r\nt19: again\r\n\r\n`,
    {
      headers: {
        'x-a': ['1', '2'],
        ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, i === 39 ? ['39', 'again'] : String(i)])),
        'transfer-encoding': 'chunked',
      },
      trailers: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`t${i}`, i === 0 || i === 19 ? [String(i), 'again'] : String(i)])),
      body: 'a',
    },
  ],
  ['bytes after a response are left over', `${H}content-length: 1\r\n\r\naHTTP/1.1 200`, { body: 'a', rest: 12 }],
];

for (const [name, input, want, opts] of valid) {
  test(`valid response: ${name}`, () => {
    const results = everySplit(input, opts ?? {});
    for (const r of results) {
      assert.equal(r.error, undefined, `read whole: ${JSON.stringify(r)}`);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(r[k as keyof Parsed], v, k);
      assert.deepEqual(r, results[0], 'the same in any pieces');
    }
  });
}

test('cut short: a length or chunked body, a head, nothing at all', () => {
  for (const input of [`${H}content-length: 5\r\n\r\nabc`, `${CHUNKED}3\r\nabc\r\n`, `${H}content-length: 5\r\n`, '']) {
    assert.equal(parseResponse(input).error, 'incomplete', JSON.stringify(input));
  }
});

test('a paused sink stops the parser where it paused; the rest reads on', async () => {
  const { H1ResponseParser } = await import('../../src/proxy/h1-response-parser.ts');
  const chunks: string[] = [];
  let ended = false;
  const sink = {
    paused: false,
    onHead() {},
    onBody(c: Buffer) {
      chunks.push(c.toString());
      sink.paused = true;
    },
    onEnd() {
      ended = true;
    },
  };
  const p = new H1ResponseParser(sink, 1024);
  p.expect(false, false);
  const buf = Buffer.from(`${CHUNKED}1\r\na\r\n1\r\nb\r\n0\r\n\r\n`);
  let at = p.execute(buf);
  assert.deepEqual(chunks, ['a']);
  assert.ok(at < buf.length);
  sink.paused = false;
  at = p.execute(buf, at);
  assert.deepEqual(chunks, ['a', 'b']);
  sink.paused = false;
  at = p.execute(buf, at);
  assert.equal(at, buf.length);
  assert.ok(ended);
});
