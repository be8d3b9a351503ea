// What an HTTP/1.x request head must satisfy before anything acts on it,
// beyond what node:http's parser (llhttp, strict) refuses on its own: the
// version, the request target, Host, the number of field lines, the
// singleton fields Node would silently deduplicate, and the transfer
// codings. Pure: a function of the parsed head.
import type { IncomingMessage } from 'node:http';
import type { H1Request } from './h1-connection.ts';
import { parseRequestTarget, validAuthority } from './request-target.ts';

/** An HTTP/1.x request as node:http or isobar's own server read it. */
export type Http1Message = IncomingMessage | H1Request;

export interface Http1Refusal {
  /** 400; 431 (too many field lines); 501 (a transfer coding the proxy
   *  does not implement); 505 (a version other than 1.0 and 1.1). */
  status: 400 | 431 | 501 | 505;
  /** Why, for the log. */
  reason: string;
}

/** The fields node:http keeps only the first line of (its `http` docs,
 *  message.headers): a second line would never reach the upstream, so a
 *  check behind the edge that reads the other copy could be bypassed. A
 *  request with two lines of one of these is refused, never trimmed. */
export const SINGLETON_FIELDS: ReadonlySet<string> = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Envoy's default max_headers_count: a request with more field lines is
 *  refused with 431 (node:http alone would drop those past 2000). */
export const MAX_FIELD_LINES = 100;


export function checkHttp1Request(req: Http1Message): Http1Refusal | undefined {
  const major = req.httpVersionMajor;
  const minor = req.httpVersionMinor;
  // llhttp reads `GET /x` (no version) and `HTTP/0.9` as 0.9; neither is
  // served (an HTTP/0.9 response has no status line to say so).
  if (major === 0) return { status: 400, reason: 'HTTP/0.9 request' };
  // llhttp accepts any one-digit version (HTTP/2.0 among them) on the
  // HTTP/1 listener; only 1.0 and 1.1 are spoken there.
  if (major !== 1 || minor > 1) return { status: 505, reason: `HTTP/${major}.${minor} on an HTTP/1 connection` };
  const target = parseRequestTarget(req.url ?? '', true);
  if (!target.ok) return { status: 400, reason: target.reason };
  const raw = req.rawHeaders;
  if (raw.length > 2 * MAX_FIELD_LINES) return { status: 431, reason: `more than ${MAX_FIELD_LINES} header fields` };
  if (raw.length > 2 && fewerNamesThanFields(req.headers, raw.length >> 1)) {
    let seen: Set<string> | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (!SINGLETON_FIELDS.has(name)) continue;
      seen ??= new Set();
      if (seen.has(name)) return { status: 400, reason: `more than one ${name} field` };
      seen.add(name);
    }
  }
  const host = req.headers.host;
  if (host === undefined) {
    if (minor === 1) return { status: 400, reason: 'HTTP/1.1 request without Host' };
  } else if (!validAuthority(host)) {
    return { status: 400, reason: 'invalid Host' };
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    // RFC 9112 §6.1: Transfer-Encoding in a 1.0 message is faulty framing.
    if (minor === 0) return { status: 400, reason: 'Transfer-Encoding in an HTTP/1.0 request' };
    // llhttp frames the body by a final `chunked` and forgets the codings
    // before it; forwarding the body as if it had none would change it.
    if (te.trim().toLowerCase() !== 'chunked') return { status: 501, reason: 'a transfer coding other than chunked' };
  }
  return undefined;
}

/** Whether node:http's headers object has fewer names than the head has
 *  fields. It has one name per field name, however often the name comes
 *  (repeats are joined or dropped), so when the counts agree no name is
 *  repeated, and the per-field scan for repeated singletons (lowercasing
 *  and set lookups, bench/instructions.ts) can be skipped. */
function fewerNamesThanFields(headers: object, fields: number): boolean {
  let names = 0;
  for (const _ in headers) names++;
  return names < fields;
}

/** The request asks for the connection to close after its response (RFC
 *  9112 §9.6): a `close` option on any Connection line. llhttp lets an
 *  HTTP/1.0 request's `keep-alive` outweigh its `close`; it never does. */
export function asksToClose(req: Http1Message): boolean {
  const c = req.headers.connection;
  if (c === undefined) return false;
  for (const t of c.split(',')) if (t.trim().toLowerCase() === 'close') return true;
  return false;
}
