// isobar's own HTTP/1.1 server connection, for the common case: requests
// without a body whose heads h1-request-head.ts reads (bench/results:
// node:http's server costs about as many instructions per request as
// everything else in the proxy). It serves one request at a time, in
// order; bytes that arrive meanwhile wait (reading pauses past
// PAUSE_BUFFERED). The first head it declines (unfit, or not whole in what
// has arrived) and everything after it go to node:http: the connection is
// handed over between requests, never inside one, with the bytes read so
// far put back on the socket. So node:http and llhttp still serve and
// refuse every other request exactly as before: bodies, upgrades, slow or
// malformed heads.
//
// What node:http does around a request is done the same way: the
// keep-alive idle timeout closes a connection with no response owed; a
// client's FIN ends the connection and the response owed on it (node:http
// does not keep a half-open connection); a response whose head said close
// ends the connection after its last byte (destroySoon: the delayed close).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { parseRequestHead } from './h1-request-head.ts';
import { H1Response, type H1ResponseOwner } from './h1-response.ts';

/** Bytes held behind a response still owed before reading pauses. */
const PAUSE_BUFFERED = 64 * 1024;

/** A request h1-connection.ts read: what the request path reads of node:http's IncomingMessage. */
export class H1Request extends EventEmitter {
  readonly socket: Duplex;
  method: string;
  url: string;
  readonly httpVersion: '1.0' | '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: number;
  readonly headers: Record<string, string>;
  readonly rawHeaders: string[];
  /** No body: the request is whole when it is read. */
  readonly complete = true;

  constructor(socket: Duplex, method: string, url: string, minor: number, headers: Record<string, string>, rawHeaders: string[]) {
    super();
    this.socket = socket;
    this.method = method;
    this.url = url;
    this.httpVersion = minor === 1 ? '1.1' : '1.0';
    this.httpVersionMinor = minor;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
  }
}

export interface H1ConnectionOptions {
  maxHeaderSize: number;
  /** Keep-alive idle timeout (0: none); also the Keep-Alive field's timeout. */
  idleMs: number;
  onRequest(req: H1Request, res: H1Response): void;
  /** node:http serves the connection from here on, starting with the bytes
   *  put back on it. `pipelined`: they arrived before the response before
   *  them was done (node:http would have read them behind that request). */
  handOff(socket: Duplex, pipelined: boolean): void;
  /** The connection is no longer this server's (closed or handed off). */
  released(conn: H1Connection): void;
}

type Sock = Duplex & { destroySoon?: () => void };

export class H1Connection implements H1ResponseOwner {
  readonly socket: Sock;
  private readonly opts: H1ConnectionOptions;
  private buf: Buffer | undefined;
  private active: H1Response | undefined;
  /** No more requests are read (closing, or handed off). */
  private ending = false;
  private paused = false;
  /** Bytes at the start of buf known to be whole heads that fit. */
  private fitBytes = 0;

  /** Reads from `socket`; call start() once the owner holds the connection
   *  (the first bytes may hand it over, and released() say so, at once). */
  constructor(socket: Duplex, opts: H1ConnectionOptions) {
    this.socket = socket;
    this.opts = opts;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    if (opts.idleMs > 0 && 'setTimeout' in socket) {
      (socket as Duplex & { setTimeout(ms: number): void }).setTimeout(opts.idleMs);
      socket.on('timeout', this.onTimeout);
    }
  }

  /** Serves `initial`, the bytes already read from the socket, if any. */
  start(initial: Buffer | undefined): void {
    if (initial === undefined || initial.length === 0 || this.ending) return;
    this.buf = initial;
    this.serve(false);
  }

  /** No response owed and nothing read: closed now (a drain's end). */
  closeIfIdle(): void {
    if (!this.ending && this.active === undefined && this.buf === undefined) this.socket.destroy();
  }

  responseDone(res: H1Response, last: boolean): void {
    if (res !== this.active) return;
    this.active = undefined;
    const s = this.socket;
    if (s.destroyed || this.ending) return;
    if (last) {
      this.ending = true;
      this.buf = undefined;
      if (typeof s.destroySoon === 'function') s.destroySoon();
      else s.end();
      return;
    }
    if (this.paused) {
      this.paused = false;
      s.resume();
    }
    if (this.buf !== undefined) this.serve(true);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.ending) return;
    const buf = this.buf;
    this.buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
    if (this.active === undefined) return this.serve(false);
    if (!this.paused && this.buf.length > PAUSE_BUFFERED) {
      this.paused = true;
      this.socket.pause();
    }
  };

  /** Serves the head at the start of the buffer, or hands the connection over. */
  private serve(pipelined: boolean): void {
    const buf = this.buf!;
    const head = parseRequestHead(buf, this.opts.maxHeaderSize);
    // Declined, or still arriving (node:http times slow heads).
    if (typeof head === 'number') return this.handOff(pipelined);
    const rest = head.length === buf.length ? undefined : buf.subarray(head.length);
    // Requests pipelined in the same bytes go to node:http together unless
    // all of them fit: what it does with a bad one behind good ones (their
    // answers, then the close, no 400) depends on reading them all. Only
    // bytes not checked before are read, so a long pipeline costs one
    // reading of each head here, not one per request served before it.
    if (rest !== undefined) {
      const checked = Math.max(0, this.fitBytes - head.length);
      if (checked < rest.length && !allFit(rest.subarray(checked), this.opts.maxHeaderSize)) return this.handOff(pipelined);
      this.fitBytes = rest.length;
    } else this.fitBytes = 0;
    this.buf = rest;
    const req = new H1Request(this.socket, head.method, head.url, head.minor, head.headers, head.rawHeaders);
    const res = new H1Response(this, head.method, head.minor, head.keepAlive, head.headers.te, this.opts.idleMs);
    this.active = res;
    this.opts.onRequest(req, res);
  }

  private handOff(pipelined: boolean): void {
    this.ending = true;
    const s = this.socket;
    this.detach();
    if ('setTimeout' in s) (s as Duplex & { setTimeout(ms: number): void }).setTimeout(0);
    const buf = this.buf;
    this.buf = undefined;
    s.pause();
    if (buf !== undefined) s.unshift(buf);
    this.opts.released(this);
    this.opts.handOff(s, pipelined);
    s.resume();
  }

  private detach(): void {
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onClose);
    s.off('drain', this.onDrain);
    s.off('timeout', this.onTimeout);
  }

  /** The client's FIN: as node:http, the request owed is abandoned and the connection ends. */
  private readonly onEnd = (): void => {
    if (this.ending) return;
    this.ending = true;
    this.buf = undefined;
    this.active?.closed();
    if (this.socket.writable) this.socket.end();
  };

  private readonly onClose = (): void => {
    this.ending = true;
    this.buf = undefined;
    this.detach();
    this.opts.released(this);
    this.active?.closed();
  };

  private readonly onDrain = (): void => {
    this.active?.emit('drain');
  };

  private readonly onTimeout = (): void => {
    // Idle between requests; a response still owed has its route's timeouts.
    if (this.active === undefined) this.socket.destroy();
  };
}

/** Every byte of `buf` is whole request heads that fit. */
function allFit(buf: Buffer, maxHeaderSize: number): boolean {
  let b = buf;
  for (;;) {
    const head = parseRequestHead(b, maxHeaderSize);
    if (typeof head === 'number') return false;
    if (head.length === b.length) return true;
    b = b.subarray(head.length);
  }
}
