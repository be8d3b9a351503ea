// The request heads isobar's own HTTP/1.1 server reads itself: the common
// case of a bodiless request, in a grammar strictly inside what llhttp
// (node:http's parser, strict mode) accepts and reads the same way. A head
// outside it is not an error here: it is "unfit", and the connection goes
// to node:http, whose parser decides (and answers 400, 431, 505 ... as it
// always has). So this file never refuses anything; it only declines.
//
// Fit: a method of GET, HEAD, POST, PUT, DELETE, OPTIONS or PATCH; a
// request target in origin form (a path, then maybe a query) of RFC 3986
// characters, without a fragment; HTTP/1.0 or
// HTTP/1.1; at most MAX_FIELD_LINES field lines of a token name, a colon
// and a value of visible ASCII with inner spaces and tabs; no field name
// twice (node:http joins or drops repeats: its rules stay its own); no
// body (no Transfer-Encoding, Content-Length absent or 0); no Upgrade,
// Expect or `Connection: upgrade`; the whole head within the size limit.
import { MAX_FIELD_LINES } from './http1-request.ts';

export interface RequestHead {
  method: string;
  url: string;
  /** 0 or 1: HTTP/1.0 or HTTP/1.1. */
  minor: number;
  /** Field names lowercased; no name repeats. */
  headers: Record<string, string>;
  /** Names as sent, values trimmed, in order (node:http's rawHeaders). */
  rawHeaders: string[];
  /** llhttp's reading of the connection's persistence after this request. */
  keepAlive: boolean;
  /** Bytes of the head, its final empty line included. */
  length: number;
}

/** The head is not whole in the bytes given. */
export const INCOMPLETE = 0;
/** The head is whole but outside the fast grammar (or too large). */
export const UNFIT = 1;

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const REQUEST_LINE = /^(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) \/[!$-;=?-[\]_a-z~]* HTTP\/1\.[01]\r\n/;
// Capture-free, so one test() checks every field line at once.
const FIELD_LINES = /(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?[ \t]*\r\n)*/y;

/** Reads the request head at the start of `buf`. */
export function parseRequestHead(buf: Buffer, maxHeaderSize: number): RequestHead | typeof INCOMPLETE | typeof UNFIT {
  const end = buf.indexOf(CRLFCRLF);
  if (end === -1) return buf.length > maxHeaderSize ? UNFIT : INCOMPLETE;
  const length = end + 4;
  if (length > maxHeaderSize) return UNFIT;
  // Through the CRLF of the last line before the empty one.
  const text = buf.toString('latin1', 0, end + 2);
  const line = REQUEST_LINE.exec(text);
  if (line === null) return UNFIT;
  const lineEnd = line[0].length;
  FIELD_LINES.lastIndex = lineEnd;
  FIELD_LINES.test(text);
  if (FIELD_LINES.lastIndex !== text.length) return UNFIT;
  const sp1 = text.indexOf(' ');
  const sp2 = lineEnd - 11;
  const method = text.slice(0, sp1);
  const url = text.slice(sp1 + 1, sp2);
  const minor = text.charCodeAt(lineEnd - 3) - 48;
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  // Latin-1 keeps its length when lowercased, so offsets hold.
  const lower = text.toLowerCase();
  let keepAlive = minor === 1;
  let at = lineEnd;
  while (at < text.length) {
    if (rawHeaders.length === 2 * MAX_FIELD_LINES) return UNFIT;
    const colon = text.indexOf(':', at);
    const cr = text.indexOf('\r', colon);
    let vs = colon + 1;
    let ve = cr;
    let c = text.charCodeAt(vs);
    while (vs < ve && (c === 32 || c === 9)) c = text.charCodeAt(++vs);
    c = text.charCodeAt(ve - 1);
    while (ve > vs && (c === 32 || c === 9)) c = text.charCodeAt(--ve - 1);
    const name = lower.slice(at, colon);
    const value = vs === ve ? '' : text.slice(vs, ve);
    // A repeat, or a name an object already has ("constructor", "__proto__").
    if (headers[name] !== undefined) return UNFIT;
    switch (name) {
      case 'content-length':
        if (value !== '0') return UNFIT;
        break;
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return UNFIT;
      case 'connection': {
        const v = lower.slice(vs, ve);
        if (v.includes('upgrade')) return UNFIT;
        keepAlive = connectionKeepsAlive(v, minor);
        break;
      }
    }
    headers[name] = value;
    rawHeaders.push(text.slice(at, colon), value);
    at = cr + 2;
  }
  return { method, url, minor, headers, rawHeaders, keepAlive, length };
}

/** llhttp's persistence for a lowercased Connection value: an HTTP/1.1
 *  connection ends on `close`; an HTTP/1.0 one is kept only with
 *  `keep-alive`, even beside `close` (the listener's asksToClose() then
 *  ends it, as it does for node:http's requests). */
function connectionKeepsAlive(value: string, minor: number): boolean {
  let close = false;
  let keep = false;
  for (const t of value.split(',')) {
    const o = t.trim();
    if (o === 'close') close = true;
    else if (o === 'keep-alive') keep = true;
  }
  return minor === 1 ? !close : keep;
}
