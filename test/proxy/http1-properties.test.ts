// Properties of the HTTP/1 listener over random and mutated request
// streams (fast-check), against a recording upstream:
// - the upstream receives, whole, only requests the client sent whole, in
//   the order sent: each is one the reference reading (http1-reference.ts,
//   RFC 9112 alone) finds in the client's bytes; a request whose bytes end
//   early may be started upstream but is never completed there;
// - the process never throws (an uncaught exception fails the run);
// - every connection ends with a response or a close: a stream that ends
//   with a request saying close is closed by the proxy; any other is closed
//   within a bound once the client half-closes after a pause; and no
//   request is left active in the runtime afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { canonicalPath } from '../../src/proxy/path-normalize.ts';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { readReference, type ReferenceReading } from './http1-reference.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

/** Slow headers are answered (408) and closed after this. */
const HEADERS_TIMEOUT_MS = 400;
/** How long a connection may stay open after the client is done. */
const CLOSE_WITHIN_MS = 3000;
/** The pause before the client half-closes a stream that does not end
 *  with a request saying close. */
const END_AFTER_MS = 150;

let upstream: RawUpstream;
let p: Started;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => {
  uncaught.push(err);
};

before(async () => {
  process.on('uncaughtException', onUncaught);
  upstream = await rawUpstream();
  p = await startProxy(
    config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }),
    [{}],
    { headersTimeoutMs: HEADERS_TIMEOUT_MS },
  );
});

after(async () => {
  process.off('uncaughtException', onUncaught);
  await p.close();
  await upstream.close();
});

// ---- generators ----

const word = fc.stringMatching(/^[a-z0-9]{0,8}$/);
const field = fc.oneof(
  fc.constant('Accept: */*'),
  fc.constant('X-A: v'),
  fc.constant('Connection: keep-alive'),
  fc.constant('Connection: close'),
  fc.constant('Authorization: Bearer t'),
  fc.constant('Content-Type: text/plain'),
  fc.constant('Host: app.test'),
  fc.constant('Transfer-Encoding: chunked'),
  fc.constant('Content-Length: 3'),
  fc.constant('Expect: 100-continue'),
  word.map((w) => `X-${w || 'b'}: ${w}`),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  path: word.map((w) => `/${w}`),
  query: fc.option(word, { nil: undefined }),
  minor: fc.constantFrom('1', '1', '1', '0'),
  host: fc.constantFrom(1, 1, 1, 1, 0, 2),
  fields: fc.array(field, { maxLength: 3 }),
  framing: fc.constantFrom('none', 'length', 'length', 'chunked', 'chunked'),
  body: fc.stringMatching(/^[a-z]{0,12}$/),
  chunks: fc.integer({ min: 1, max: 3 }),
});
/** Requests the proxy serves as they are: one Host, list fields only. */
const plainRequest = request.chain((r) =>
  fc.array(fc.constantFrom('Accept: */*', 'X-A: v', 'Connection: keep-alive', 'Expect: 100-continue', 'X-B: w'), { maxLength: 3 }).map((fields) => ({ ...r, minor: '1' as const, host: 1 as const, fields })),
);
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

function serialize(r: Request): string {
  const lines = [`${r.method} ${r.path}${r.query !== undefined ? `?${r.query}` : ''} HTTP/1.${r.minor}`];
  for (let i = 0; i < r.host; i++) lines.push('Host: app.test');
  lines.push(...r.fields);
  let body = '';
  if (r.framing === 'length') {
    lines.push(`Content-Length: ${r.body.length}`);
    body = r.body;
  } else if (r.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    const size = Math.max(1, Math.ceil(r.body.length / r.chunks));
    for (let i = 0; i < r.body.length; i += size) {
      const part = r.body.slice(i, i + size);
      body += `${part.length.toString(16)}\r\n${part}\r\n`;
    }
    body += '0\r\n\r\n';
  }
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const INTERESTING = ['\r', '\n', '\r\n', ' ', '\t', ':', ';', '0', '9', 'a', 'x', '\0', '\x0b', '\x7f', '\xff', ',', '"'];
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INTERESTING) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(...INTERESTING) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(s: string, muts: Mutation[]): string {
  let out = s;
  for (const m of muts) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.kind === 'replace') out = out.slice(0, at) + m.text + out.slice(at + 1);
    else if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + m.length);
    else out = out.slice(0, at) + out.slice(at, at + m.length) + out.slice(at);
  }
  return out;
}

/** Random pieces of requests, glued in any order. */
const TOKENS = ['GET ', 'POST ', '/', '/a', ' HTTP/1.1', ' HTTP/1.0', '\r\n', '\n', '\r', 'Host: app.test', 'Content-Length: 3', 'Content-Length: 0', 'Transfer-Encoding: chunked', 'Connection: close', '0', '3', 'abc', ':', ' ', '\t', ';x=y'];
const soup = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 40 }).map((t) => t.join(''));

/** Where the stream is cut into separate writes. */
const cuts = fc.array(fc.nat(), { maxLength: 3 });

function pieces(s: string, at: number[]): string[] {
  const points = [...new Set(at.map((a) => (s.length ? a % s.length : 0)))].filter((a) => a > 0).sort((x, y) => x - y);
  const out: string[] = [];
  let last = 0;
  for (const a of points) {
    out.push(s.slice(last, a));
    last = a;
  }
  out.push(s.slice(last));
  return out;
}

// ---- the check ----

/** Waits until no request is left active in the runtime. */
async function settled(): Promise<boolean> {
  const deadline = Date.now() + 2000;
  while (p.proxy.stats().activeRequests !== 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  return p.proxy.stats().activeRequests === 0;
}

async function check(stream: string, writes: number[]): Promise<void> {
  await settled();
  upstream.reset();
  const reading: ReferenceReading = readReference(stream);
  const closing = reading.end === 'clean' && reading.closes;
  const r = await wire(p.port(), pieces(stream, writes), { timeoutMs: CLOSE_WITHIN_MS, gapMs: writes.length ? 2 : 0, ...(closing ? {} : { endAfterMs: END_AFTER_MS }) });
  // Every request the proxy forwards and the upstream receives whole is one
  // the reference found, in order.
  let i = 0;
  for (const got of upstream.requests) {
    while (i < reading.requests.length && !same(reading.requests[i]!, got)) i++;
    assert.ok(i < reading.requests.length, `upstream got ${got.method} ${got.target} <${got.body}>, which the client did not send whole: ${JSON.stringify(stream)} reads as ${JSON.stringify(reading)}`);
    i++;
  }
  assert.deepEqual(upstream.errors, []);
  assert.ok(r.closed, `still open after ${CLOSE_WITHIN_MS} ms (${r.responses.length} responses): ${JSON.stringify(stream)} (${reading.end})`);
  for (const x of r.responses) assert.ok(x.status >= 200, `a response: ${x.status}`);
  // Nothing left running in the runtime once the client is gone.
  assert.ok(await settled(), `a request left active: ${JSON.stringify(stream)}`);
  assert.deepEqual(uncaught, []);
}

/** An empty query ("/a?") is forwarded without its "?". */
function same(a: { method: string; target: string; body: string }, b: { method: string; target: string; body: string }): boolean {
  const sent = a.target.indexOf('?') === a.target.length - 1 ? a.target.slice(0, -1) : a.target;
  // The proxy forwards the path canonical (path-normalize.ts), the query as sent.
  const q = sent.indexOf('?');
  const target = (canonicalPath(q === -1 ? sent : sent.slice(0, q)) ?? '') + (q === -1 ? '' : sent.slice(q));
  return a.method === b.method && target === b.target && a.body === b.body;
}

/** Every stream ends with this request, so a clean stream ends promptly. */
const LAST = 'GET /last HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n';

test('mutated request streams: the upstream gets only whole requests the client sent, every connection ends', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 3 }), fc.array(mutation, { maxLength: 3 }), cuts, async (reqs, muts, at) => {
      await check(mutate(reqs.map(serialize).join('') + LAST, muts), at);
    }),
    { numRuns: 1500 },
  );
});

test('well-formed request streams: every request is answered and forwarded in order', { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(plainRequest, { minLength: 1, maxLength: 4 }), cuts, async (reqs, at) => {
      await settled();
      upstream.reset();
      const stream = reqs.map(serialize).join('') + LAST;
      const r = await wire(p.port(), pieces(stream, at), { gapMs: at.length ? 2 : 0 });
      const want = [...reqs.map((x) => `${x.method} ${x.path}${x.query ? `?${x.query}` : ''}`), 'GET /last'];
      assert.deepEqual(r.responses.map((x) => x.body), want.map((w) => `ok ${w}`), 'every request answered, in order');
      assert.deepEqual(upstream.requests.map((x) => `${x.method} ${x.target}`), want, 'and sent upstream in that order');
      assert.equal(r.closed, true);
    }),
    { numRuns: 300 },
  );
});

test('random bytes and token soup: nothing the client did not send whole reaches the upstream', { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(soup, fc.string({ unit: 'binary-ascii', maxLength: 200 })), cuts, async (s, at) => {
      await check(s + LAST, at);
    }),
    { numRuns: 600 },
  );
});
