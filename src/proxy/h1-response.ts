// The response of a request isobar's own HTTP/1.1 server read
// (h1-connection.ts): the part of node:http's ServerResponse the request
// path uses (writeHead, write, end, addTrailers, headersSent,
// shouldKeepAlive, destroy, 'drain' and 'close'), writing the same bytes
// node:http writes: the same validation of names and values (a bad one
// throws, so the exchange answers 502 as it does on node:http), the same
// Date, Connection and Keep-Alive lines, Transfer-Encoding chunked when
// an HTTP/1.1 body has no length, no body for HEAD, 1xx, 204 and 304, and
// a close-delimited body for HTTP/1.0. The head leaves with the first body
// bytes in one write (corked), as node:http sends it.
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { framingField, INVALID_FIELD_VALUE, TOKEN } from './field-syntax.ts';

/** What a response needs of its connection. */
export interface H1ResponseOwner {
  readonly socket: Duplex;
  /** The response's last bytes are written (or it was destroyed): `last` closes the connection. */
  responseDone(res: H1Response, last: boolean): void;
}

export class ResponseWriteError extends TypeError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const CONN_CLOSE = /(?:^|\W)close(?:$|\W)/i;
const TE_CHUNKED = /(?:^|\W)chunked(?:$|\W)/i;
const CRLF = '\r\n';

let dateSecond = 0;
let dateText = '';
/** The Date field's value, made once a second (as node:http caches it). */
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

type Chunk = string | Uint8Array;

export class H1Response extends EventEmitter {
  statusCode = 200;
  statusMessage = '';
  /** node:http's meaning: the head is made (it leaves with the first body bytes). */
  headersSent = false;
  shouldKeepAlive: boolean;
  destroyed = false;
  /** end() was called. */
  writableEnded = false;
  readonly socket: Duplex;
  private readonly owner: H1ResponseOwner;
  private readonly http10: boolean;
  /** Whether an HTTP/1.0 client can take a chunked body (its TE field). */
  private readonly chunkedByDefault: boolean;
  private readonly keepAliveSeconds: number;
  private hasBody: boolean;
  private head: string | undefined;
  private chunked = false;
  private last = false;
  private trailer = '';
  private done = false;
  /** The body's length when end() makes the head (node:http's _contentLength). */
  private implicitLength: number | undefined;

  constructor(owner: H1ResponseOwner, method: string, minor: number, keepAlive: boolean, teField: string | undefined, keepAliveMs: number) {
    super();
    this.owner = owner;
    this.socket = owner.socket;
    this.shouldKeepAlive = keepAlive;
    this.hasBody = method !== 'HEAD';
    this.http10 = minor === 0;
    this.chunkedByDefault = minor === 1 || (teField !== undefined && TE_CHUNKED.test(teField));
    this.keepAliveSeconds = Math.floor(keepAliveMs / 1000);
  }

  writeHead(statusCode: number, headers?: Record<string, string | string[] | number | undefined>): this {
    if (this.headersSent) throw new ResponseWriteError('ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
    const status = statusCode | 0;
    if (status < 100 || status > 999) throw new ResponseWriteError('ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${statusCode}`);
    this.statusCode = status;
    // A reason phrase the caller set is checked as node:http does; the
    // table's need not be.
    if (this.statusMessage === '') this.statusMessage = STATUS_CODES[status] ?? 'unknown';
    else if (INVALID_FIELD_VALUE.test(this.statusMessage)) throw new ResponseWriteError('ERR_INVALID_CHAR', 'Invalid character in statusMessage');
    if (status === 204 || status === 304 || status < 200) this.hasBody = false;
    const f = new HeadFields(`HTTP/1.1 ${status} ${this.statusMessage}\r\n`, this.shouldKeepAlive);
    if (headers !== undefined) {
      for (const name in headers) {
        const value = headers[name];
        if (value === undefined || name === '') throw fieldError(headers);
        if (Array.isArray(value)) {
          // node:http sends an array as one line each, but a Cookie list as one line.
          if (value.length < 2 || name.toLowerCase() !== 'cookie') {
            for (const v of value) {
              if (v === undefined) throw fieldError(headers);
              f.store(name, v);
            }
          } else f.store(name, value.join('; '));
        } else f.store(name, value);
      }
      // Every name and value checked in two tests of their concatenations
      // (as h1-client.ts does for request heads); a failure finds its field.
      if ((f.names !== '' && !TOKEN.test(f.names)) || INVALID_FIELD_VALUE.test(f.values)) throw fieldError(headers);
    }
    let head = f.head;
    let chunked = f.chunked;
    let last = f.last;
    this.shouldKeepAlive = f.keepAlive;
    if (!f.date) head += `Date: ${utcDate()}\r\n`;
    // A chunked 204 or 304 has no body to end: the connection ends instead.
    if (chunked && (status === 204 || status === 304)) {
      chunked = false;
      this.shouldKeepAlive = false;
    }
    if (!f.connection) {
      if (this.shouldKeepAlive && (f.contLen || this.chunkedByDefault)) {
        head += 'Connection: keep-alive\r\n';
        if (f.defaultKeepAlive && this.keepAliveSeconds > 0) head += `Keep-Alive: timeout=${this.keepAliveSeconds}\r\n`;
      } else {
        last = true;
        head += 'Connection: close\r\n';
      }
    }
    if (!f.contLen && !f.te) {
      if (!this.hasBody) chunked = false;
      else if (!this.chunkedByDefault) last = true;
      else if (!f.trailer && this.implicitLength !== undefined) head += `Content-Length: ${this.implicitLength}\r\n`;
      else {
        head += 'Transfer-Encoding: chunked\r\n';
        chunked = true;
      }
    }
    if (!chunked && f.trailer) throw new ResponseWriteError('ERR_HTTP_TRAILER_INVALID', 'Trailers are invalid with this transfer encoding');
    this.chunked = chunked;
    this.last = last;
    this.head = head + CRLF;
    this.headersSent = true;
    if (f.expect) this.flushHead();
    return this;
  }

  /** Trailer fields, sent after a chunked body's last chunk. */
  addTrailers(headers: Record<string, string | string[]>): void {
    let t = '';
    for (const name in headers) {
      if (!TOKEN.test(name)) throw new ResponseWriteError('ERR_INVALID_HTTP_TOKEN', `Trailer name must be a valid HTTP token ["${name}"]`);
      const value = headers[name]!;
      if (Array.isArray(value) && value.length > 1) for (const v of value) t += trailerField(name, v);
      else t += trailerField(name, Array.isArray(value) ? value.join('; ') : value);
    }
    this.trailer = t;
  }

  write(chunk: Chunk): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    // node:http drops a body HEAD, 1xx, 204 and 304 may not have.
    if (!this.hasBody || chunk.length === 0) return true;
    const s = this.socket;
    s.cork();
    this.flushHead();
    let ok: boolean;
    if (this.chunked) {
      s.write(`${byteLength(chunk).toString(16)}\r\n`, 'latin1');
      writeChunk(s, chunk);
      ok = s.write(CRLF, 'latin1');
    } else ok = writeChunk(s, chunk);
    s.uncork();
    return ok;
  }

  // node:http's signatures, so that calls on a response of either server type-check.
  end(cb?: () => void): this;
  end(chunk: Chunk, cb?: () => void): this;
  end(chunk: Chunk, encoding: BufferEncoding, cb?: () => void): this;
  end(arg?: Chunk | (() => void), a2?: BufferEncoding | (() => void), a3?: () => void): this {
    const chunk = typeof arg === 'function' ? undefined : arg;
    const cb = typeof arg === 'function' ? arg : typeof a2 === 'function' ? a2 : a3;
    if (this.writableEnded || this.destroyed) return this;
    if (cb !== undefined) this.once('finish', cb);
    this.writableEnded = true;
    if (!this.headersSent) {
      this.implicitLength = chunk === undefined ? 0 : byteLength(chunk);
      this.writeHead(this.statusCode);
    }
    const s = this.socket;
    const body = chunk !== undefined && chunk.length > 0 && this.hasBody ? chunk : undefined;
    s.cork();
    if (this.hasBody && this.chunked) {
      this.flushHead();
      if (body !== undefined) {
        s.write(`${byteLength(body).toString(16)}\r\n`, 'latin1');
        writeChunk(s, body);
        s.write(`\r\n0\r\n${this.trailer}\r\n`, 'latin1', this.onFlushed);
      } else s.write(`0\r\n${this.trailer}\r\n`, 'latin1', this.onFlushed);
    } else if (body !== undefined) {
      this.flushHead();
      writeChunk(s, body, this.onFlushed);
    } else if (this.head !== undefined) {
      // The head alone.
      const h = this.head;
      this.head = undefined;
      s.write(h, 'latin1', this.onFlushed);
    } else {
      // Nothing more: the body went out with write(). As node:http, no
      // empty write (it would cost a system call a response).
      process.nextTick(this.onFlushed);
    }
    s.uncork();
    return this;
  }

  /** Cuts the response short: the connection is lost (node:http's destroy). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.socket.destroy();
    this.closed();
  }

  /** The connection closed, ended by the client, or this response was
   *  destroyed: 'close' as node:http emits it (once). */
  closed(): void {
    if (this.done) return;
    this.done = true;
    this.destroyed = true;
    this.owner.responseDone(this, true);
    this.emit('close');
  }

  private readonly onFlushed = (err?: Error | null): void => {
    if (this.done) return;
    if (err) return this.closed();
    this.done = true;
    this.emit('finish');
    // As node:http: 'close' one tick after 'finish'.
    process.nextTick(emitClose, this);
    // As node:http: the head said whether the connection goes on (a
    // later shouldKeepAlive = false is the pipeline's to act on).
    this.owner.responseDone(this, this.last);
  };

  private flushHead(): void {
    const h = this.head;
    if (h === undefined) return;
    this.head = undefined;
    this.socket.write(h, 'latin1');
  }
}

function byteLength(chunk: Chunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
}

function writeChunk(s: Duplex, chunk: Chunk, cb?: (err?: Error | null) => void): boolean {
  return typeof chunk === 'string' ? s.write(chunk, 'utf8', cb) : s.write(chunk, cb);
}

function emitClose(res: H1Response): void {
  res.emit('close');
}

/** A head's field lines as writeHead() stores them, and what node:http's
 *  matchHeader() notes of them: only these names change the framing. */
class HeadFields {
  head: string;
  names = '';
  values = '';
  keepAlive: boolean;
  last = false;
  chunked = false;
  connection = false;
  contLen = false;
  te = false;
  date = false;
  trailer = false;
  expect = false;
  defaultKeepAlive = true;

  constructor(statusLine: string, keepAlive: boolean) {
    this.head = statusLine;
    this.keepAlive = keepAlive;
  }

  store(name: string, value: string | number): void {
    this.names += name;
    this.values += value;
    this.head += `${name}: ${value}\r\n`;
    switch (framingField(name)) {
      case undefined:
        return;
      case 'connection':
        this.connection = true;
        if (CONN_CLOSE.test(String(value))) this.last = true;
        else this.keepAlive = true;
        return;
      case 'transfer-encoding':
        this.te = true;
        if (TE_CHUNKED.test(String(value))) this.chunked = true;
        return;
      case 'content-length':
        this.contLen = true;
        return;
      case 'date':
        this.date = true;
        return;
      case 'trailer':
        this.trailer = true;
        return;
      case 'expect':
        this.expect = true;
        return;
      case 'keep-alive':
        this.defaultKeepAlive = false;
        return;
    }
  }
}

/** node:http's error for the first field it would refuse, in its order
 *  (the name, then each value), for a head known to hold one. */
function fieldError(headers: Record<string, string | string[] | number | undefined>): ResponseWriteError {
  for (const name in headers) {
    if (!TOKEN.test(name)) return new ResponseWriteError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
    const value = headers[name];
    const list = Array.isArray(value) && (value.length < 2 || name.toLowerCase() !== 'cookie') ? value : [Array.isArray(value) ? value.join('; ') : value];
    for (const v of list) {
      if (v === undefined) return new ResponseWriteError('ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "undefined" for header "${name}"`);
      if (INVALID_FIELD_VALUE.test(String(v))) return new ResponseWriteError('ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
    }
  }
  return new ResponseWriteError('ERR_INVALID_CHAR', 'Invalid character in header content');
}

function trailerField(name: string, value: string): string {
  if (INVALID_FIELD_VALUE.test(value)) throw new ResponseWriteError('ERR_INVALID_CHAR', `Invalid character in trailer content ["${name}"]`);
  return `${name}: ${value}\r\n`;
}
