// isobar's upstream response parser against llhttp (Node's http client
// reading the same bytes from a raw server), over random and mutated
// responses (fast-check): both accept or both reject, and when both accept
// they agree on the status, the fields, the body and the trailers. isobar's
// parser reads the bytes in random pieces.
//
// Where the two differ by design, the difference is named and checked to
// be that one (each a place isobar is stricter than llhttp, or follows
// RFC 9112 §6.3 where llhttp refuses):
// - a status line of a version other than HTTP/1.0 and HTTP/1.1, a status
//   below 100, or a control character in the reason: llhttp accepts, isobar
//   refuses;
// - a Transfer-Encoding that is not a list of transfer codings: llhttp reads
//   the body to the close, isobar refuses;
// - 101 to a request that did not ask to upgrade: llhttp upgrades (or, without
//   an Upgrade field, ends the response there), isobar refuses;
// - a Content-Length or chunk size over 2^53: llhttp reads up to 2^64, isobar refuses;
// - a chunk extension outside RFC 9112 §7.1.1's grammar (";=v", ";;", `;q=a"b"`):
//   llhttp accepts, isobar refuses;
// - Transfer-Encoding with whitespace after the last coding ("chunked\t"):
//   llhttp reads it as not chunked, isobar trims it as RFC 9110 §5.5 says;
// - Content-Length repeated or listed with one value: llhttp refuses,
//   isobar reads that length (RFC 9112 §6.3).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { parseResponse, type Parsed } from './h1-response-support.ts';

let server: net.Server;
let port = 0;
/** What the raw server answers the next connection with. */
let answer: Buffer = Buffer.alloc(0);

before(async () => {
  server = net.createServer((s) => {
    s.on('error', () => {});
    const bytes = answer;
    s.once('data', () => s.end(bytes));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

type Reference = { kind: 'ok'; status: number; headers: Record<string, string | string[]>; body: string; trailers: Record<string, string | string[]> } | { kind: 'error'; code: string } | { kind: 'upgrade' };

function fold(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    const prev = Object.hasOwn(out, k) ? out[k] : undefined;
    if (prev === undefined) Object.defineProperty(out, k, { value: v, enumerable: true, configurable: true, writable: true });
    else if (typeof prev === 'string') out[k] = [prev, v];
    else prev.push(v);
  }
  return out;
}

/** llhttp's reading, through Node's http client. */
function reference(bytes: Buffer): Promise<Reference> {
  answer = bytes;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (r: Reference): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => {
      settled = true;
      req.destroy();
      reject(new Error(`no outcome from the reference for ${JSON.stringify(bytes.toString('latin1'))}`));
    }, 10_000);
    const req = http.get({ host: '127.0.0.1', port, agent: false, maxHeaderSize: 96 * 1024 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done({ kind: 'ok', status: res.statusCode!, headers: fold(res.rawHeaders), body: Buffer.concat(chunks).toString('latin1'), trailers: fold(res.rawTrailers) }),
      );
      res.on('error', (e: Error & { code?: string }) => done({ kind: 'error', code: e.code ?? 'aborted' }));
      res.on('aborted', () => done({ kind: 'error', code: 'aborted' }));
    });
    req.on('upgrade', (_res, socket: net.Socket) => {
      socket.destroy();
      done({ kind: 'upgrade' });
    });
    req.on('error', (e: Error & { code?: string }) => done({ kind: 'error', code: e.code ?? 'error' }));
  });
}

// ---- the generator ----

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const fieldValue = fc.stringMatching(/^[\x21-\x7e\xe9]([\x20-\x7e\t\xe9]{0,14}[\x21-\x7e\xe9])?$/);
const field = fc.tuple(token, fieldValue);
const body = fc.stringMatching(/^[\x00-\xff]{0,40}$/);

const response = fc.record({
  interim: fc.constantFrom('', 'HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n'),
  version: fc.constantFrom('1.1', '1.1', '1.0'),
  status: fc.constantFrom(200, 201, 204, 206, 301, 304, 400, 404, 500, 503),
  reason: fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,10}$/),
  fields: fc.array(field, { maxLength: 5 }),
  framing: fc.constantFrom('length', 'chunked', 'close', 'gzip-close'),
  body,
  cuts: fc.array(fc.nat({ max: 40 }), { maxLength: 6 }),
  ext: fc.constantFrom('', ';a=b', ';n', ';q="x y"', ';e='),
  trailers: fc.array(field, { maxLength: 2 }),
});

type Spec = typeof response extends fc.Arbitrary<infer T> ? T : never;

function serialize(r: Spec): string {
  let head = `${r.interim}HTTP/${r.version} ${r.status} ${r.reason}\r\n`;
  for (const [k, v] of r.fields) {
    // Framing fields come from `framing` alone.
    if (/^(content-length|transfer-encoding)$/i.test(k)) continue;
    head += `${k}: ${v}\r\n`;
  }
  const noBody = r.status === 204 || r.status === 304;
  switch (r.framing) {
    case 'length':
      return `${head}content-length: ${r.body.length}\r\n\r\n${noBody ? '' : r.body}`;
    case 'chunked': {
      if (noBody) return `${head}\r\n`;
      let out = `${head}transfer-encoding: chunked\r\n\r\n`;
      let at = 0;
      const sizes = r.cuts.length > 0 ? r.cuts : [r.body.length];
      for (const n of sizes) {
        const piece = r.body.slice(at, at + Math.max(1, n));
        if (piece.length === 0) break;
        at += piece.length;
        out += `${piece.length.toString(16)}${r.ext}\r\n${piece}\r\n`;
      }
      if (at < r.body.length) out += `${(r.body.length - at).toString(16)}\r\n${r.body.slice(at)}\r\n`;
      out += '0\r\n';
      for (const [k, v] of r.trailers) out += `${k}: ${v}\r\n`;
      return `${out}\r\n`;
    }
    case 'gzip-close':
      return noBody ? `${head}\r\n` : `${head}transfer-encoding: gzip\r\n\r\n${r.body}`;
    default:
      return noBody ? `${head}\r\n` : `${head}\r\n${r.body}`;
  }
}

const interesting = [13, 10, 32, 9, 58, 59, 44, 34, 48, 49, 97, 0, 0x7f, 0xe9, 0x2c, 0x3d];
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(...interesting) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.constantFrom(...interesting) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(bytes: Buffer, ms: { kind: 'set' | 'insert' | 'delete'; at: number; byte: number }[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'set') b[at] = m.byte;
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }
  return b;
}

// ---- the named differences ----

/** The status lines of the input: the interim responses' and the final one's. */
function statusLines(text: string): string[] {
  // CR and LF before a status line are skipped by both (RFC 9112 §2.2).
  return text.split('\r\n').map((l) => l.replace(/^[\r\n]+/, '')).filter((l) => l.startsWith('HTTP/'));
}

/** chunk-ext of RFC 9112 §7.1.1, without the BWS (which llhttp refuses
 *  too): `;name`, `;name=token` or `;name="quoted"`, any number of times. */
const TCHAR = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
const CHUNK_EXT = new RegExp(`^(;${TCHAR}+(=(${TCHAR}*|"([\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"))?)*$`);

/** The extensions of every line that reads as a chunk size line. */
function chunkExtensions(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)[0-9a-f]+(;[^\r\n]*)\r?(?=\n|$)/gi)].map((m) => m[1]!);
}

/** Why isobar may refuse what llhttp accepted, or undefined if it may not. */
function strictnessReason(text: string, mine: Parsed, ref: Reference): string | undefined {
  if (mine.error === 'ISOBAR_H1_INVALID_STATUS') {
    const lines = statusLines(text);
    if (lines.some((l) => !/^HTTP\/1\.[01] /.test(l))) return 'version';
    if (lines.some((l) => /^HTTP\/1\.[01] 0\d\d/.test(l))) return 'status below 100';
    if (lines.some((l) => /^HTTP\/1\.[01] \d{3} .*[\x00-\x08\x0a-\x1f\x7f]/.test(l))) return 'control character in the reason';
  }
  if (mine.error === 'ISOBAR_H1_UNEXPECTED_RESPONSE' && (ref.kind === 'upgrade' || (ref.kind === 'ok' && ref.status === 101))) return '101';
  if (mine.error === 'ISOBAR_H1_INVALID_FRAMING' && /\r\ntransfer-encoding:/i.test(text) && !/\r\ncontent-length:/i.test(text)) return 'transfer-encoding syntax';
  if (mine.error === 'ISOBAR_H1_INVALID_FRAMING' && /content-length:\s*0*[1-9]\d{15,}/i.test(text)) return 'content-length over 2^53';
  if (mine.error === 'ISOBAR_H1_INVALID_CHUNK' && /\r\n0*[0-9a-f]{14,}[;\r]/i.test(text)) return 'chunk size over 2^53';
  if (mine.error === 'ISOBAR_H1_INVALID_CHUNK' && chunkExtensions(text).some((e) => !CHUNK_EXT.test(e))) return 'chunk extension syntax';
  return undefined;
}

/** Why isobar may accept what llhttp refused. */
function leniencyReason(text: string, ref: Reference): string | undefined {
  if (ref.kind === 'error' && ref.code === 'HPE_UNEXPECTED_CONTENT_LENGTH') return 'repeated content-length';
  if (ref.kind === 'error' && ref.code === 'HPE_INVALID_CONTENT_LENGTH' && /content-length:[^\r]*,/i.test(text)) return 'content-length list';
  return undefined;
}

function sameReading(mine: Parsed, ref: Reference): boolean {
  if (ref.kind !== 'ok' || mine.error !== undefined) return ref.kind !== 'ok' && ref.kind !== 'upgrade' && mine.error !== undefined;
  return mine.status === ref.status && mine.body === ref.body;
}

async function check(bytes: Buffer, cuts: number[], tally: Map<string, number>): Promise<void> {
  const count = (k: string): void => void tally.set(k, (tally.get(k) ?? 0) + 1);
  const mine = parseResponse(bytes, { cuts });
  const whole = parseResponse(bytes);
  assert.deepEqual(mine, whole, 'the same in pieces as whole');
  // Bytes after the message are no response of isobar's (its client closes
  // the connection on them); llhttp would read them as the next one: the
  // reference reads the message alone.
  if (mine.rest !== undefined && mine.rest > 0) {
    bytes = bytes.subarray(0, bytes.length - mine.rest);
    count('bytes after the message');
  }
  const text = bytes.toString('latin1');
  const ref = await reference(bytes);
  if (/\r\ntransfer-encoding:[^\r]*[\t ]\r\n/i.test(text) && !sameReading(mine, ref)) return count('RFC 9110 §5.5: transfer-encoding with trailing whitespace');
  if (ref.kind === 'ok' && mine.error === undefined) {
    assert.equal(mine.status, ref.status, text);
    assert.deepEqual(mine.headers, ref.headers, text);
    assert.equal(mine.body, ref.body, text);
    assert.deepEqual(mine.trailers, ref.trailers, text);
    return count('both accept');
  }
  if (ref.kind !== 'ok' && ref.kind !== 'upgrade' && mine.error !== undefined) return count('both reject');
  if (mine.error !== undefined) {
    const why = strictnessReason(text, mine, ref);
    assert.ok(why !== undefined, `isobar refused (${mine.error}) what llhttp read: ${JSON.stringify(text)} -> ${JSON.stringify(ref)}`);
    return count(`isobar stricter: ${why}`);
  }
  const why = leniencyReason(text, ref);
  assert.ok(why !== undefined, `isobar read what llhttp refused (${JSON.stringify(ref)}): ${JSON.stringify(text)}`);
  count(`RFC 9112 §6.3: ${why}`);
}

test('isobar and llhttp read well-formed responses alike', async () => {
  const tally = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(response, fc.array(fc.nat(), { maxLength: 4 }), async (r, cuts) => check(Buffer.from(serialize(r), 'latin1'), cuts, tally)),
    { numRuns: 200 },
  );
  assert.equal(tally.get('both accept'), 200, JSON.stringify([...tally]));
});

test('isobar and llhttp agree on mutated responses, but for the named differences', async (t) => {
  const tally = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(response, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 4 }), async (r, ms, cuts) =>
      check(mutate(Buffer.from(serialize(r), 'latin1'), ms), cuts, tally),
    ),
    { numRuns: Number(process.env.RUNS ?? 400) },
  );
  t.diagnostic(JSON.stringify(Object.fromEntries(tally)));
  const agreed = (tally.get('both accept') ?? 0) + (tally.get('both reject') ?? 0);
  assert.ok(agreed >= 300, `most mutated responses read alike: ${JSON.stringify([...tally])}`);
  assert.ok((tally.get('both reject') ?? 0) > 50 && (tally.get('both accept') ?? 0) > 50, JSON.stringify([...tally]));
});
