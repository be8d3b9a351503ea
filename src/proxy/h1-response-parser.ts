// The HTTP/1.1 response parser of isobar's upstream client (h1-client.ts),
// held to RFC 9112: a status line of HTTP/1.0 or HTTP/1.1, header fields of
// token names and visible values (no obs-fold, no space before the colon,
// CRLF line ends), framing by Transfer-Encoding chunked (sizes checked for
// overflow, extensions by their grammar, trailers), Content-Length (a list
// or repeats of one value accepted, as §6.3 allows; anything else invalid),
// or the connection's close. Both Transfer-Encoding and Content-Length: an
// error (a response smuggling vector). 1xx interim responses are skipped;
// 101 is a response only to a request that asked to upgrade. HEAD, 204 and
// 304 have no body. Every defect is an H1ResponseError with a code.
//
// Incremental: execute() takes what the socket gave and returns how far it
// read, stopping early when the sink pauses (the rest is the caller's to
// keep and hand back). The sink is an object, not closures, so a parse
// allocates nothing beyond the head's strings and the body's views.

export type ResponseHeaders = Record<string, string | string[]>;

export type H1ResponseErrorCode =
  | 'ISOBAR_H1_INVALID_STATUS'
  | 'ISOBAR_H1_INVALID_HEADER'
  | 'ISOBAR_H1_INVALID_FRAMING'
  | 'ISOBAR_H1_INVALID_CHUNK'
  | 'ISOBAR_H1_HEADERS_OVERFLOW'
  | 'ISOBAR_H1_UNEXPECTED_RESPONSE';

export class H1ResponseError extends Error {
  readonly code: H1ResponseErrorCode;
  constructor(code: H1ResponseErrorCode, message: string) {
    super(`invalid upstream response: ${message}`);
    this.name = 'H1ResponseError';
    this.code = code;
  }
}

/** What the parser tells about the response it reads. */
export interface H1ResponseSink {
  /** True while the sink wants no more events; execute() returns early. */
  readonly paused: boolean;
  /** The final response's head (or 101 to an upgrade request). */
  onHead(status: number, reason: string, headers: ResponseHeaders, keepAlive: boolean, keepAliveHintMs: number | undefined): void;
  onBody(chunk: Buffer): void;
  onEnd(trailers: ResponseHeaders): void;
}

// Byte classes.
const TOKEN = 1;
const FIELD_VCHAR = 2; // VCHAR and obs-text: what a field value may hold besides SP and HTAB
const HEX = 4;
const CLASS = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) CLASS[c]! |= FIELD_VCHAR;
for (let c = 0x80; c <= 0xff; c++) CLASS[c]! |= FIELD_VCHAR;
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") CLASS[ch.charCodeAt(0)]! |= TOKEN;
for (const ch of '0123456789abcdefABCDEF') CLASS[ch.charCodeAt(0)]! |= HEX;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

const S_STATUS = 0;
const S_HEADERS = 1;
const S_LENGTH = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_DATA = 4;
const S_CHUNK_CRLF = 5;
const S_TRAILERS = 6;
const S_UNTIL_CLOSE = 7;
/** The message is complete; nothing more may arrive until the next request. */
const S_DONE = 8;
/** 101 to an upgrade request: the rest of the bytes are the new protocol's. */
const S_UPGRADED = 9;
const S_ERROR = 10;

const NO_LENGTH = -1;
/** A Content-Length that is one safe integer (at most 15 digits). */
const DIGITS = /^[0-9]{1,15}$/;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
/** Names of a head looked through one by one for a repeat; past them, a set. */
const SCANNED_NAMES = 16;
/** Field lines exactly as field() accepts them, as many as there are: a
 *  token name, a colon, OWS, a value of VCHAR / obs-text with inner SP and
 *  HTAB, OWS, CRLF. A line it does not match goes the byte-wise way, which
 *  names the defect. No captures: one match for the lines of a head, which
 *  are then cut at their colon and CR (a value holds neither CR nor LF). */
const FIELD_LINES = /(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?[ \t]*\r\n)*/y;
/** transfer-coding = token *( OWS ";" OWS transfer-parameter ), lower-cased. */
const TRANSFER_CODING = /^[!#$%&'*+\-.^_`|~0-9a-z]+(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9a-z]+=(?:[!#$%&'*+\-.^_`|~0-9a-z]+|"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"))*$/;

export class H1ResponseParser {
  readonly maxHeaderSize: number;
  private sink: H1ResponseSink;
  private state = S_DONE;
  /** A line cut by the end of a chunk. */
  private partial: Buffer | undefined;
  private headSize = 0;
  private head = false;
  private upgrade = false;
  // The message being read.
  private status = 0;
  private reason = '';
  private minor = 1;
  private headers: ResponseHeaders = {};
  /** The names in `headers`: a repeat is found by a scan of a few names
   *  rather than a lookup in an object of any shape (a megamorphic miss),
   *  and by a set past SCANNED_NAMES, so that a head of many fields costs
   *  no more than linear time. */
  private names: string[] = [];
  private nameSet: Set<string> | undefined;
  private contentLength = NO_LENGTH;
  private transferEncoding: string | undefined;
  private close = false;
  private keepAliveToken = false;
  private keepAliveHint: number | undefined;
  /** Bytes left in the Content-Length body or in the current chunk. */
  private remaining = 0;
  /** Bytes of a chunk's closing CRLF seen. */
  private crlfSeen = 0;
  error: H1ResponseError | undefined;

  constructor(sink: H1ResponseSink, maxHeaderSize: number) {
    this.sink = sink;
    this.maxHeaderSize = maxHeaderSize;
  }

  /** Expects the response to a new request: `head` for HEAD (no body),
   *  `upgrade` when the request asked to upgrade (101 allowed). */
  expect(head: boolean, upgrade: boolean): void {
    this.head = head;
    this.upgrade = upgrade;
    this.startMessage();
  }

  /** Whether the parser is between messages (a byte now is unsolicited). */
  get idle(): boolean {
    return this.state === S_DONE;
  }

  /** The response's head is read and its body not ended. */
  get inBody(): boolean {
    return this.state >= S_LENGTH && this.state <= S_UNTIL_CLOSE;
  }

  get upgraded(): boolean {
    return this.state === S_UPGRADED;
  }

  /** Whether nothing of the expected response has arrived yet. */
  get untouched(): boolean {
    return this.state === S_STATUS && this.headSize === 0 && this.partial === undefined;
  }

  private startMessage(): void {
    this.state = S_STATUS;
    this.partial = undefined;
    this.headSize = 0;
    this.status = 0;
    this.reason = '';
    this.newFields();
    this.contentLength = NO_LENGTH;
    this.transferEncoding = undefined;
    this.close = false;
    this.keepAliveToken = false;
    this.keepAliveHint = undefined;
  }

  private fail(code: H1ResponseErrorCode, message: string): number {
    this.error = new H1ResponseError(code, message);
    this.state = S_ERROR;
    this.partial = undefined;
    return -1;
  }

  private bad(code: H1ResponseErrorCode, message: string): false {
    this.fail(code, message);
    return false;
  }

  /** Reads `buf` from `start`. Returns the offset reached: buf.length when
   *  all was read, less when the sink paused or the message completed (the
   *  rest is the caller's), -1 on an error (this.error). */
  execute(buf: Buffer, start = 0): number {
    let pos = start;
    const end = buf.length;
    while (pos < end) {
      const state = this.state;
      if (state === S_LENGTH || state === S_CHUNK_DATA) {
        const n = Math.min(this.remaining, end - pos);
        this.remaining -= n;
        const chunk = buf.subarray(pos, pos + n);
        pos += n;
        if (this.remaining === 0) this.state = state === S_LENGTH ? S_DONE : S_CHUNK_CRLF;
        this.sink.onBody(chunk);
        if (this.state === S_DONE) {
          this.sink.onEnd({});
          return pos;
        }
        if (this.sink.paused || this.state === S_ERROR) return pos;
        continue;
      }
      if (state === S_UNTIL_CLOSE) {
        const chunk = pos === 0 ? buf : buf.subarray(pos);
        pos = end;
        this.sink.onBody(chunk);
        return pos;
      }
      if (state === S_CHUNK_CRLF) {
        const want = this.crlfSeen === 0 ? CR : LF;
        if (buf[pos] !== want) return this.fail('ISOBAR_H1_INVALID_CHUNK', 'chunk data not followed by CRLF');
        pos++;
        if (++this.crlfSeen === 2) {
          this.crlfSeen = 0;
          this.state = S_CHUNK_SIZE;
        }
        continue;
      }
      if (state === S_DONE || state === S_UPGRADED || state === S_ERROR) return state === S_ERROR ? -1 : pos;
      if (state === S_STATUS && this.partial === undefined && (buf[pos] === CR || buf[pos] === LF)) {
        // CR and LF before the status line are skipped (as llhttp).
        if (++this.headSize > this.maxHeaderSize) return this.fail('ISOBAR_H1_HEADERS_OVERFLOW', `response head over ${this.maxHeaderSize} bytes`);
        pos++;
        continue;
      }
      if (state === S_HEADERS && this.partial === undefined) {
        // The common case, a head in one read: its field lines by regex on
        // one string, much cheaper than byte loops in JavaScript.
        const next = this.fieldLines(buf, pos);
        if (next === -1) return -1;
        if (next !== pos) {
          pos = next;
          continue;
        }
      }
      // A line: the status line, a header or trailer field, a chunk size.
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) {
        const rest = buf.subarray(pos);
        this.partial = this.partial === undefined ? Buffer.from(rest) : Buffer.concat([this.partial, rest]);
        if (this.overflows(this.partial.length)) return this.fail('ISOBAR_H1_HEADERS_OVERFLOW', `response head over ${this.maxHeaderSize} bytes`);
        return end;
      }
      let line = buf;
      let s = pos;
      let e = lf;
      if (this.partial !== undefined) {
        line = Buffer.concat([this.partial, buf.subarray(pos, lf)]);
        this.partial = undefined;
        s = 0;
        e = line.length;
      }
      pos = lf + 1;
      if (this.overflows(e - s + 1)) return this.fail('ISOBAR_H1_HEADERS_OVERFLOW', `response head over ${this.maxHeaderSize} bytes`);
      this.headSize += e - s + 1;
      if (e === s || line[e - 1] !== CR) return this.fail(state === S_CHUNK_SIZE ? 'ISOBAR_H1_INVALID_CHUNK' : state === S_STATUS ? 'ISOBAR_H1_INVALID_STATUS' : 'ISOBAR_H1_INVALID_HEADER', 'line not ended by CRLF');
      e--;
      if (state === S_STATUS) {
        if (!this.statusLine(line, s, e)) return -1;
      } else if (state === S_HEADERS) {
        if (s === e) {
          if (!this.headComplete()) return -1;
          if (this.state === S_DONE || this.state === S_UPGRADED) return pos;
          if (this.sink.paused) return pos;
        } else if (!this.field(line, s, e, this.headers)) return -1;
      } else if (state === S_CHUNK_SIZE) {
        if (!this.chunkSize(line, s, e)) return -1;
      } else if (state === S_TRAILERS) {
        if (s === e) {
          this.state = S_DONE;
          this.sink.onEnd(this.headers);
          return pos;
        }
        if (!this.field(line, s, e, this.headers)) return -1;
      }
    }
    return this.state === S_ERROR ? -1 : pos;
  }

  /** The connection closed. Returns true when that ended a close-delimited
   *  body (the sink got onEnd), false when the response was cut short or
   *  never came. */
  finish(): boolean {
    if (this.state !== S_UNTIL_CLOSE) return false;
    this.state = S_DONE;
    this.sink.onEnd({});
    return true;
  }

  private overflows(n: number): boolean {
    const inHead = this.state === S_STATUS || this.state === S_HEADERS || this.state === S_TRAILERS || this.state === S_CHUNK_SIZE;
    return inHead && this.headSize + n > this.maxHeaderSize;
  }

  private statusLine(b: Buffer, s: number, e: number): boolean {
    // HTTP/1.x SP 3DIGIT [SP reason]
    if (
      e - s < 12 ||
      b[s] !== 0x48 ||
      b[s + 1] !== 0x54 ||
      b[s + 2] !== 0x54 ||
      b[s + 3] !== 0x50 ||
      b[s + 4] !== 0x2f ||
      b[s + 5] !== 0x31 ||
      b[s + 6] !== 0x2e ||
      (b[s + 7] !== 0x30 && b[s + 7] !== 0x31) ||
      b[s + 8] !== SP
    ) {
      this.fail('ISOBAR_H1_INVALID_STATUS', 'status line is not "HTTP/1.0|1.1 NNN reason"');
      return false;
    }
    this.minor = b[s + 7]! - 0x30;
    const d0 = b[s + 9]! - 0x30;
    const d1 = b[s + 10]! - 0x30;
    const d2 = b[s + 11]! - 0x30;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      this.fail('ISOBAR_H1_INVALID_STATUS', 'status code is not three digits from 100');
      return false;
    }
    this.status = d0 * 100 + d1 * 10 + d2;
    if (e > s + 12) {
      if (b[s + 12] !== SP) {
        this.fail('ISOBAR_H1_INVALID_STATUS', 'status code not followed by a space');
        return false;
      }
      for (let i = s + 13; i < e; i++) {
        const c = b[i]!;
        if (c !== SP && c !== HTAB && (CLASS[c]! & FIELD_VCHAR) === 0) {
          this.fail('ISOBAR_H1_INVALID_STATUS', 'control character in the reason phrase');
          return false;
        }
      }
      this.reason = b.toString('latin1', s + 13, e);
    }
    this.state = S_HEADERS;
    return true;
  }

  /** Reads the header field lines from `pos` that FIELD_LINES matches and
   *  that fit the head's size; returns where they end (`pos` when none did),
   *  -1 on an error. The first line not matched is left to execute(). */
  private fieldLines(buf: Buffer, pos: number): number {
    // The empty line that ends the head: nothing to match, and searching
    // on from it would copy the body into a string.
    if (buf[pos] === CR) return pos;
    let end = buf.indexOf(CRLFCRLF, pos);
    // A head not whole in this read: no more of it than the head may hold.
    end = end === -1 ? Math.min(buf.length, pos + this.maxHeaderSize - this.headSize + 2) : end + 2;
    if (end - pos < 4) return pos;
    const text = buf.toString('latin1', pos, end);
    FIELD_LINES.lastIndex = 0;
    FIELD_LINES.test(text);
    const valid = FIELD_LINES.lastIndex;
    if (valid === 0) return pos;
    // Names are case-insensitive: lowercased in one call for every line
    // (latin1 keeps its length when lowercased, so offsets hold).
    const lower = (valid === text.length ? text : text.slice(0, valid)).toLowerCase();
    const into = this.headers;
    let at = 0;
    while (at < valid) {
      const colon = text.indexOf(':', at);
      const cr = text.indexOf('\r', colon);
      const next = cr + 2;
      if (this.headSize + (next - at) > this.maxHeaderSize) break;
      this.headSize += next - at;
      let vs = colon + 1;
      let ve = cr;
      let c = text.charCodeAt(vs);
      while (vs < ve && (c === SP || c === HTAB)) c = text.charCodeAt(++vs);
      c = text.charCodeAt(ve - 1);
      while (ve > vs && (c === SP || c === HTAB)) c = text.charCodeAt(--ve - 1);
      const name = lower.slice(at, colon);
      const value = vs === ve ? '' : text.slice(vs, ve);
      at = next;
      if (!this.framing(name, value)) return -1;
      this.add(into, name, value);
    }
    return pos + at;
  }

  /** One field line into `into`; framing fields are noted for the head. */
  private field(b: Buffer, s: number, e: number, into: ResponseHeaders): boolean {
    const first = b[s]!;
    if (first === SP || first === HTAB) {
      this.fail('ISOBAR_H1_INVALID_HEADER', 'obsolete line folding');
      return false;
    }
    let colon = s;
    while (colon < e && (CLASS[b[colon]!]! & TOKEN) !== 0) colon++;
    if (colon === s || colon === e || b[colon] !== 0x3a) {
      this.fail('ISOBAR_H1_INVALID_HEADER', colon < e && (b[colon] === SP || b[colon] === HTAB) ? 'whitespace before the colon' : 'field name is not a token');
      return false;
    }
    let vs = colon + 1;
    let ve = e;
    while (vs < ve && (b[vs] === SP || b[vs] === HTAB)) vs++;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    for (let i = vs; i < ve; i++) {
      const c = b[i]!;
      if ((CLASS[c]! & FIELD_VCHAR) === 0 && c !== SP && c !== HTAB) {
        this.fail('ISOBAR_H1_INVALID_HEADER', 'control character in a field value');
        return false;
      }
    }
    let name = b.toString('latin1', s, colon);
    name = name.toLowerCase();
    const value = vs === ve ? '' : b.toString('latin1', vs, ve);
    if (this.state === S_HEADERS && !this.framing(name, value)) return false;
    this.add(into, name, value);
    return true;
  }

  private add(into: ResponseHeaders, name: string, value: string): void {
    if (!this.repeated(name)) {
      // "__proto__" would set the prototype: it is a field like any other.
      if (name === '__proto__') Object.defineProperty(into, name, { value, enumerable: true, configurable: true, writable: true });
      else into[name] = value;
      return;
    }
    const prev = into[name];
    if (typeof prev === 'string') into[name] = [prev, value];
    else (prev as string[]).push(value);
  }

  /** An empty field object for the head or the trailers, and no names seen. */
  private newFields(): void {
    this.headers = {};
    this.names = [];
    this.nameSet = undefined;
  }

  /** Whether `name` is in the head already; notes it if not. */
  private repeated(name: string): boolean {
    const set = this.nameSet;
    if (set !== undefined) {
      if (set.has(name)) return true;
      set.add(name);
      return false;
    }
    const names = this.names;
    if (names.includes(name)) return true;
    names.push(name);
    if (names.length > SCANNED_NAMES) this.nameSet = new Set(names);
    return false;
  }

  private framing(name: string, value: string): boolean {
    switch (name) {
      case 'content-length': {
        // RFC 9112 §6.3: a list or repeats of one decimal value are that value.
        let n = NO_LENGTH;
        if (DIGITS.test(value)) n = Number(value); // the common case: no list to split
        else for (const part of value.split(',')) {
          const v = part.trim();
          const x = /^[0-9]+$/.test(v) ? Number(v) : NaN;
          if (!(x <= Number.MAX_SAFE_INTEGER)) {
            this.fail('ISOBAR_H1_INVALID_FRAMING', `invalid Content-Length "${value.slice(0, 40)}"`);
            return false;
          }
          if (n !== NO_LENGTH && x !== n) {
            this.fail('ISOBAR_H1_INVALID_FRAMING', 'Content-Length values differ');
            return false;
          }
          n = x;
        }
        if (this.contentLength !== NO_LENGTH && this.contentLength !== n) {
          this.fail('ISOBAR_H1_INVALID_FRAMING', 'Content-Length values differ');
          return false;
        }
        this.contentLength = n;
        return true;
      }
      case 'transfer-encoding':
        this.transferEncoding = this.transferEncoding === undefined ? value : `${this.transferEncoding},${value}`;
        return true;
      case 'connection':
        if (value === 'keep-alive') this.keepAliveToken = true;
        else if (value === 'close') this.close = true;
        else for (const t of value.split(',')) {
          const token = t.trim().toLowerCase();
          if (token === 'close') this.close = true;
          else if (token === 'keep-alive') this.keepAliveToken = true;
        }
        return true;
      case 'keep-alive': {
        const m = /(?:^|[,;\s])timeout=(\d+)/i.exec(value);
        if (m !== null) this.keepAliveHint = Number(m[1]) * 1000;
        return true;
      }
      default:
        return true;
    }
  }

  private headComplete(): boolean {
    const status = this.status;
    let chunked = false;
    if (this.transferEncoding !== undefined) {
      if (this.contentLength !== NO_LENGTH) {
        this.fail('ISOBAR_H1_INVALID_FRAMING', 'both Transfer-Encoding and Content-Length');
        return false;
      }
      const codings = this.transferEncoding.split(',').map((c) => c.trim().toLowerCase());
      if (codings.some((c) => !TRANSFER_CODING.test(c))) {
        this.fail('ISOBAR_H1_INVALID_FRAMING', 'invalid Transfer-Encoding');
        return false;
      }
      // Chunked when it is the final coding; otherwise the body runs to
      // the close, as RFC 9112 §6.3 says of a response.
      chunked = codings[codings.length - 1] === 'chunked';
    }
    const persistent = this.minor === 1 ? !this.close : this.keepAliveToken && !this.close;
    if (status < 200) {
      if (status === 101) {
        if (!this.upgrade) {
          this.fail('ISOBAR_H1_UNEXPECTED_RESPONSE', '101 to a request that did not ask to upgrade');
          return false;
        }
        this.state = S_UPGRADED;
        this.sink.onHead(status, this.reason, this.headers, false, undefined);
        return true;
      }
      // Interim (100, 103, ...): the final response follows, so one that
      // ends the connection (HTTP/1.0 without keep-alive, or close) can
      // have no final response after it. llhttp refuses what follows it too.
      if (!persistent) {
        this.fail('ISOBAR_H1_UNEXPECTED_RESPONSE', 'an interim response that closes the connection');
        return false;
      }
      this.startMessage();
      return true;
    }
    let keepAlive = persistent;
    const noBody = this.head || status === 204 || status === 304;
    if (noBody) {
      // A 204/304 that declares a body may have sent one: never reuse.
      if (!this.head && (this.contentLength > 0 || this.transferEncoding !== undefined)) keepAlive = false;
      this.state = S_DONE;
    } else if (chunked) this.state = S_CHUNK_SIZE;
    else if (this.transferEncoding !== undefined || this.contentLength === NO_LENGTH) {
      keepAlive = false;
      this.state = S_UNTIL_CLOSE;
    } else if (this.contentLength === 0) this.state = S_DONE;
    else {
      this.remaining = this.contentLength;
      this.state = S_LENGTH;
    }
    const headers = this.headers;
    if (this.state === S_CHUNK_SIZE) this.newFields(); // the trailers' object
    this.headSize = 0;
    const done = this.state === S_DONE;
    this.sink.onHead(status, this.reason, headers, keepAlive, this.keepAliveHint);
    if (done) this.sink.onEnd({});
    return true;
  }

  private chunkSize(b: Buffer, s: number, e: number): boolean {
    let i = s;
    let size = 0;
    while (i < e && (CLASS[b[i]!]! & HEX) !== 0) {
      const c = b[i]!;
      const d = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
      if (size > (Number.MAX_SAFE_INTEGER - d) / 16) return this.bad('ISOBAR_H1_INVALID_CHUNK', 'chunk size overflows');
      size = size * 16 + d;
      i++;
    }
    if (i === s) return this.bad('ISOBAR_H1_INVALID_CHUNK', 'chunk size is not hexadecimal');
    if (i < e && !validChunkExtensions(b, i, e)) return this.bad('ISOBAR_H1_INVALID_CHUNK', 'invalid chunk extension');
    this.headSize = 0;
    if (size === 0) {
      this.state = S_TRAILERS;
      return true;
    }
    this.remaining = size;
    this.state = S_CHUNK_DATA;
    return true;
  }
}

/** chunk-ext = *( ";" ext-name [ "=" ext-val ] ), ext-val a token or a
 *  quoted-string (RFC 9112 §7.1.1), read and ignored. Whitespace around
 *  them (the RFC's BWS) is refused, as llhttp does; an empty value is
 *  accepted, as llhttp does. */
function validChunkExtensions(b: Buffer, i: number, e: number): boolean {
  const token = (): boolean => {
    const from = i;
    while (i < e && (CLASS[b[i]!]! & TOKEN) !== 0) i++;
    return i > from;
  };
  while (true) {
    if (i === e) return true;
    if (b[i] !== 0x3b) return false;
    i++;
    if (!token()) return false;
    if (i < e && b[i] === 0x3d) {
      i++;
      if (i < e && b[i] === 0x22) {
        i++;
        let closed = false;
        while (i < e) {
          const c = b[i]!;
          if (c === 0x22) {
            i++;
            closed = true;
            break;
          }
          if (c === 0x5c) {
            i++;
            if (i === e) return false;
            const q = b[i]!;
            if (q !== HTAB && q !== SP && (CLASS[q]! & FIELD_VCHAR) === 0) return false;
          } else if (c !== HTAB && c !== SP && (CLASS[c]! & FIELD_VCHAR) === 0) return false;
          i++;
        }
        if (!closed) return false;
      } else token();
    }
  }
}
