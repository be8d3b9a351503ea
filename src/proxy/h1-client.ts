// isobar's HTTP/1.1 upstream client: a pool of connections to one endpoint,
// one request at a time on each (never pipelined), on the cluster's
// connector (plain or validated TLS, upstream-tls.ts). It takes the part of
// undici's Dispatcher the proxy uses: dispatch() with the handler API
// (onRequestStart, onResponseStart/Data/End/Error, onBodySent,
// onRequestUpgrade) and its controller (abort, pause, resume); the pool's
// 'connect', 'disconnect' and 'connectionError' events; close() (drain)
// and destroy(). Keep-alive follows undici's rules: an idle connection is
// closed after keepAliveTimeout, or the upstream's Keep-Alive timeout hint
// less keepAliveTimeoutThreshold (capped by keepAliveMaxTimeout); the
// request that reaches maxRequestsPerClient goes with Connection: close.
// Responses are read by h1-response-parser.ts. HTTP/2 stays with undici.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { framingField, INVALID_FIELD_VALUE, TOKEN } from './field-syntax.ts';
import { H1ResponseError, H1ResponseParser, type H1ResponseSink, type ResponseHeaders } from './h1-response-parser.ts';
import type { Connector } from './upstream-tls.ts';

export type H1ClientErrorCode =
  /** The connection closed (or reset) before the response ended. */
  | 'ISOBAR_H1_SOCKET_CLOSED'
  /** The request body did not match its Content-Length, or broke off. */
  | 'ISOBAR_H1_REQUEST_BODY'
  /** A request the client will not write (a header or path that cannot be sent). */
  | 'ISOBAR_H1_INVALID_REQUEST'
  /** The pool is closed or destroyed. */
  | 'ISOBAR_H1_CLOSED';

export class H1ClientError extends Error {
  readonly code: H1ClientErrorCode;
  constructor(code: H1ClientErrorCode, message: string) {
    super(message);
    this.name = 'H1ClientError';
    this.code = code;
  }
}

export interface H1PoolOptions {
  /** As in a URL: an IPv6 address in brackets. */
  hostname: string;
  port: number;
  secure: boolean;
  connector: Connector;
  /** Connections at most; more requests wait in the pool's queue. */
  connections: number;
  keepAliveTimeout: number;
  keepAliveMaxTimeout: number;
  /** Taken off the upstream's Keep-Alive timeout hint (undici's default 2 s). */
  keepAliveTimeoutThreshold?: number;
  maxRequestsPerClient?: number;
  maxHeaderSize: number;
}

/** What the pool offers the proxy, undici's Pool alike. */
export interface UpstreamPool {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

const BAD_PATH = /[^\u0021-\u00ff]/;
/** Methods whose requests carry a body by their semantics (undici's list):
 *  an empty one is sent with Content-Length: 0. */
const EXPECTS_PAYLOAD = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/** Throws the error for the first field whose name is not a token or whose
 *  value holds a forbidden character (the headers passed the type checks). */
function checkFields(headers: readonly unknown[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string | string[] | undefined | null;
    if (value === undefined) continue;
    if (!TOKEN.test(name)) throw invalid('invalid header name');
    for (const v of Array.isArray(value) ? value : [value ?? '']) if (INVALID_FIELD_VALUE.test(v)) throw invalid(`invalid ${name} header`);
  }
}

/** One request: its controller too (one object a request). */
class H1Request implements Dispatcher.DispatchController {
  readonly handler: Dispatcher.DispatchHandler;
  readonly method: string;
  readonly head: boolean;
  readonly upgrade: string | undefined;
  /** The request head's field lines (host and connection excepted). */
  readonly fields: string;
  readonly host: string | undefined;
  readonly body: Buffer | Readable | undefined;
  /** Content-Length as the framing will say, undefined: chunked or none. */
  readonly contentLength: number | undefined;
  readonly expectsPayload: boolean;
  /** The caller's own Connection: close. */
  readonly connectionClose: boolean;
  /** A body on a method that defines none: the connection is not reused
   *  after it (undici's rule, against servers that misread it). */
  readonly bodyWithoutPayload: boolean;
  readonly path: string;
  conn: H1Connection | undefined;
  /** The head has been written (a streamed body writes it with its first chunk). */
  sentHead = false;
  /** The body is still being written. */
  writing = false;
  done = false;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  rawHeaders = null;
  rawTrailers = null;
  stopBody: (() => void) | undefined;

  constructor(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.handler = handler;
    const method = opts.method;
    if (typeof method !== 'string' || !TOKEN.test(method)) throw invalid('invalid request method');
    const path = opts.path;
    if (typeof path !== 'string' || path === '' || BAD_PATH.test(path)) throw invalid('invalid request path');
    this.method = method;
    this.path = path;
    this.head = method === 'HEAD';
    this.upgrade = opts.upgrade ? (typeof opts.upgrade === 'string' ? opts.upgrade : 'Websocket') : undefined;
    if (this.upgrade !== undefined && INVALID_FIELD_VALUE.test(this.upgrade)) throw invalid('invalid upgrade');
    let fields = '';
    let host: string | undefined;
    let declared: number | undefined;
    let closeAfter = false;
    const headers = opts.headers;
    if (headers !== undefined && headers !== null) {
      if (!Array.isArray(headers) || headers.length % 2 !== 0) throw invalid('headers must be a list of name, value');
      // Every name and every value is checked, but in two regex tests on
      // their concatenations rather than two a field: the per-field tests
      // cost a tenth of a proxied request. The concatenation of names is a
      // token when each is (an empty one is refused on its own); that of
      // values holds a forbidden character when one of them does. A field
      // that fails is found by checkFields(), for its error.
      let names = '';
      let values = '';
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i] as string;
        const value = headers[i + 1] as string | string[] | undefined | null;
        if (value === undefined) continue;
        if (typeof name !== 'string' || name === '') throw invalid('invalid header name');
        names += name;
        const list = Array.isArray(value) ? value : [value === null ? '' : value];
        for (const v of list) {
          if (typeof v !== 'string') throw invalid(`invalid ${name} header`);
          values += v;
        }
        const special = framingField(name);
        if (special === 'host') {
          if (host !== undefined || list.length !== 1) throw invalid('duplicate host header');
          host = list[0]!;
          continue;
        }
        if (special === 'content-length') {
          if (declared !== undefined || list.length !== 1 || !/^[0-9]{1,15}$/.test(list[0]!)) throw invalid('invalid content-length header');
          declared = Number(list[0]);
          continue;
        }
        if (special === 'transfer-encoding' || special === 'keep-alive' || special === 'upgrade' || special === 'expect') throw invalid(`invalid ${special} header`);
        if (special === 'connection') {
          for (const v of list) if (/(?:^|,)\s*close\s*(?:,|$)/i.test(v)) closeAfter = true;
        }
        for (const v of list) fields += `${name}: ${v}\r\n`;
      }
      if ((names !== '' && !TOKEN.test(names)) || INVALID_FIELD_VALUE.test(values)) checkFields(headers);
    }
    this.fields = fields;
    this.host = host;
    this.expectsPayload = EXPECTS_PAYLOAD.has(method);
    let body = opts.body;
    if (typeof body === 'string') body = Buffer.from(body);
    else if (body instanceof Uint8Array && !Buffer.isBuffer(body)) body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (body === null || body === undefined || (Buffer.isBuffer(body) && body.length === 0)) {
      this.body = undefined;
      this.contentLength = this.expectsPayload ? 0 : undefined;
    } else if (Buffer.isBuffer(body)) {
      if (declared !== undefined && declared !== body.length) throw new H1ClientError('ISOBAR_H1_REQUEST_BODY', 'request body length does not match its content-length');
      this.body = body;
      this.contentLength = body.length;
    } else if (typeof (body as Readable).on === 'function') {
      this.body = body as Readable;
      this.contentLength = declared;
      // From now, whether the request is queued, connecting or sending: a
      // body that fails ends the request with its error (as undici).
      this.body.on('error', (err: Error) => this.abort(err));
    } else throw invalid('unsupported request body');
    this.connectionClose = closeAfter;
    this.bodyWithoutPayload = this.body !== undefined && !this.expectsPayload;
  }

  get paused(): boolean {
    return this.#paused;
  }
  get aborted(): boolean {
    return this.#aborted;
  }
  get reason(): Error | null {
    return this.#reason;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.conn?.resumed(this);
  }

  abort(reason: Error): void {
    if (this.#aborted || this.done) return;
    this.#aborted = true;
    this.#reason = reason;
    const conn = this.conn;
    this.fail(reason);
    conn?.abandoned(this);
  }

  /** Ends the request in error, once; the handler hears of it. */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.stopBody?.();
    try {
      this.handler.onResponseError?.(this, err);
    } catch {
      // the handler's own error; the request is over either way
    }
  }
}

function invalid(message: string): H1ClientError {
  return new H1ClientError('ISOBAR_H1_INVALID_REQUEST', message);
}

/** One upstream connection. It is the parser's sink for the request on it. */
class H1Connection implements H1ResponseSink {
  readonly pool: H1Pool;
  readonly parser: H1ResponseParser;
  socket: Socket | undefined;
  req: H1Request | undefined;
  /** Requests started on this connection. */
  count = 0;
  /** Close once the current request ends. */
  closeAfter = false;
  keepAliveMs: number;
  /** Bytes read while the handler was paused, to parse on resume. */
  stash: Buffer | undefined;
  /** The current response has ended (the connection is released after the read that ended it). */
  ended = false;
  /** When the connection is no longer reused, parked (performance.now() ms). */
  idleUntil = 0;
  private socketError: Error | undefined;
  private upgradeHead: { status: number; headers: ResponseHeaders } | undefined;

  constructor(pool: H1Pool) {
    this.pool = pool;
    this.parser = new H1ResponseParser(this, pool.options.maxHeaderSize);
    this.keepAliveMs = pool.options.keepAliveTimeout;
  }

  get paused(): boolean {
    return this.req === undefined || this.req.paused;
  }

  get usable(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && !this.socket.readableEnded;
  }

  connect(req: H1Request): void {
    this.req = req;
    req.conn = this;
    const o = this.pool.options;
    o.connector({ hostname: o.hostname, port: o.port, protocol: o.secure ? 'https:' : 'http:' }, (err, socket) => this.connected(err, socket));
  }

  private connected(err: Error | null, socket: Socket | null): void {
    const pool = this.pool;
    const req = this.req;
    if (err !== null || socket === null) {
      pool.gone(this);
      pool.emit('connectionError', pool.origin, [pool], err);
      this.req = undefined;
      req?.fail(err ?? new H1ClientError('ISOBAR_H1_SOCKET_CLOSED', 'connect failed'));
      pool.next();
      return;
    }
    if (pool.destroyed) {
      socket.destroy();
      pool.gone(this);
      this.req = undefined;
      req?.fail(new H1ClientError('ISOBAR_H1_CLOSED', 'the pool was destroyed'));
      pool.next();
      return;
    }
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onSocketEnd());
    socket.on('error', (e: Error) => {
      this.socketError ??= e;
    });
    socket.on('close', () => this.onSocketClose());
    pool.emit('connect', pool.origin, [pool]);
    this.req = undefined;
    if (req !== undefined && !req.done) this.start(req);
    else pool.release(this);
  }

  /** Sends `req` on this (connected, idle) connection. */
  start(req: H1Request): void {
    this.req = req;
    req.conn = this;
    this.ended = false;
    this.count++;
    const max = this.pool.options.maxRequestsPerClient;
    // HEAD closes after, as undici (against servers that send a body anyway).
    const closeNow = req.head || req.connectionClose || (max !== undefined && this.count >= max);
    if (closeNow || req.upgrade !== undefined || req.bodyWithoutPayload) this.closeAfter = true;
    this.parser.expect(req.head, req.upgrade !== undefined);
    try {
      req.handler.onRequestStart?.(req, null);
    } catch (err) {
      req.abort(err as Error);
    }
    if (req.done || this.req !== req) return;
    let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${req.host ?? this.pool.host}\r\n`;
    if (req.upgrade !== undefined) head += `connection: upgrade\r\nupgrade: ${req.upgrade}\r\n`;
    else head += closeNow ? 'connection: close\r\n' : 'connection: keep-alive\r\n';
    head += req.fields;
    const socket = this.socket!;
    const body = req.body;
    if (body === undefined) {
      req.sentHead = true;
      socket.write(req.contentLength === 0 ? `${head}content-length: 0\r\n\r\n` : `${head}\r\n`, 'latin1');
    } else if (Buffer.isBuffer(body)) {
      req.sentHead = true;
      socket.cork();
      socket.write(`${head}content-length: ${body.length}\r\n\r\n`, 'latin1');
      socket.write(body);
      socket.uncork();
      try {
        req.handler.onBodySent?.(body);
      } catch (err) {
        req.abort(err as Error);
      }
    } else this.streamBody(req, body, head);
  }

  /** A streamed body: the head goes with its first chunk, chunked when
   *  no length was declared; a declared length is held to exactly. */
  private streamBody(req: H1Request, body: Readable, head: string): void {
    const socket = this.socket!;
    const length = req.contentLength;
    let written = 0;
    req.writing = true;
    const writeHead = (): void => {
      req.sentHead = true;
      socket.write(length === undefined ? `${head}transfer-encoding: chunked\r\n` : `${head}content-length: ${length}\r\n\r\n`, 'latin1');
    };
    const onData = (chunk: Buffer | string): void => {
      if (req.done || socket.destroyed) return;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (buf.length === 0) return;
      if (length !== undefined && written + buf.length > length) return req.abort(new H1ClientError('ISOBAR_H1_REQUEST_BODY', 'request body longer than its content-length'));
      socket.cork();
      if (written === 0) writeHead();
      if (length === undefined) socket.write(`\r\n${buf.length.toString(16)}\r\n`, 'latin1');
      written += buf.length;
      const ok = socket.write(buf);
      socket.uncork();
      try {
        req.handler.onBodySent?.(buf);
      } catch (err) {
        return req.abort(err as Error);
      }
      if (!ok) body.pause();
    };
    const onDrain = (): void => {
      body.resume();
    };
    const onEnd = (): void => {
      cleanup();
      if (req.done || socket.destroyed) return;
      if (length !== undefined && written !== length) return req.abort(new H1ClientError('ISOBAR_H1_REQUEST_BODY', 'request body shorter than its content-length'));
      if (written === 0) {
        req.sentHead = true;
        socket.write(req.expectsPayload ? `${head}content-length: 0\r\n\r\n` : `${head}\r\n`, 'latin1');
      } else if (length === undefined) socket.write('\r\n0\r\n\r\n', 'latin1');
      req.writing = false;
      // The response may have ended before the body did.
      if (this.ended && this.req === undefined) socket.destroy();
    };
    const onClose = (): void => {
      cleanup();
      if (req.writing) req.abort(new H1ClientError('ISOBAR_H1_REQUEST_BODY', 'request body aborted'));
    };
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onClose);
      socket.off('drain', onDrain);
      req.stopBody = undefined;
    };
    req.stopBody = cleanup;
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('close', onClose);
    socket.on('drain', onDrain);
    if (body.readableEnded) onEnd();
    else if (body.destroyed) onClose();
    else body.resume();
  }

  // ---- the parser's sink ----

  onHead(status: number, reason: string, headers: ResponseHeaders, keepAlive: boolean, hintMs: number | undefined): void {
    const req = this.req;
    if (req === undefined) return;
    if (status === 101) {
      this.upgradeHead = { status, headers };
      return;
    }
    if (!keepAlive) this.closeAfter = true;
    else if (hintMs !== undefined) {
      const o = this.pool.options;
      const ms = Math.min(hintMs - (o.keepAliveTimeoutThreshold ?? 2_000), o.keepAliveMaxTimeout);
      if (ms <= 0) this.closeAfter = true;
      else this.keepAliveMs = ms;
    } else this.keepAliveMs = this.pool.options.keepAliveTimeout;
    if (req.done) return;
    try {
      req.handler.onResponseStart?.(req, status, headers, reason);
    } catch (err) {
      req.abort(err as Error);
    }
  }

  onBody(chunk: Buffer): void {
    const req = this.req;
    if (req === undefined || req.done) return;
    try {
      req.handler.onResponseData?.(req, chunk);
    } catch (err) {
      req.abort(err as Error);
    }
  }

  onEnd(trailers: ResponseHeaders): void {
    this.ended = true;
    const req = this.req;
    if (req === undefined || req.done) return;
    req.done = true;
    // A body still being written stops here; finished() closes the connection.
    req.stopBody?.();
    try {
      req.handler.onResponseEnd?.(req, trailers);
    } catch {
      // the handler's own error, after the response ended
    }
  }

  // ---- the socket ----

  private onData(d: Buffer): void {
    const req = this.req;
    if (req === undefined || !req.sentHead) {
      // Bytes before a request was sent: an upstream that answers what was
      // not asked cannot be trusted with the next request.
      this.socketError ??= new H1ResponseError('ISOBAR_H1_UNEXPECTED_RESPONSE', 'bytes from the upstream before a request was sent');
      this.socket?.destroy();
      return;
    }
    let data = d;
    if (this.stash !== undefined) {
      data = Buffer.concat([this.stash, d]);
      this.stash = undefined;
    }
    if (req.paused) {
      // Read before the pause took hold: kept for resume.
      this.stash = data;
      this.socket?.pause();
      return;
    }
    this.parse(req, data);
  }

  private parse(req: H1Request, data: Buffer): void {
    let pos: number;
    try {
      pos = this.parser.execute(data, 0);
    } catch (err) {
      // A bug must cost this request and connection, never the process.
      this.socketError = err as Error;
      req.fail(err as Error);
      this.socket?.destroy();
      return;
    }
    // A handler that aborted during a callback has closed the connection.
    if (this.socket === undefined || this.socket.destroyed) return;
    if (pos === -1) {
      this.socketError = this.parser.error;
      req.fail(this.parser.error!);
      this.socket?.destroy();
      return;
    }
    if (this.parser.upgraded) return this.handOver(req, data.subarray(pos));
    if (this.ended) {
      this.req = undefined;
      if (pos < data.length) {
        this.socketError = new H1ResponseError('ISOBAR_H1_UNEXPECTED_RESPONSE', 'bytes after the response');
        this.socket?.destroy();
        return;
      }
      this.finished(req);
      return;
    }
    if (pos < data.length) this.stash = pos === 0 ? data : data.subarray(pos);
    if (req.paused) this.socket?.pause();
  }

  /** The response ended: keep the connection for the next request, or close it. */
  private finished(req: H1Request): void {
    const socket = this.socket!;
    if (req.writing || this.closeAfter || this.pool.closed) {
      socket.destroy();
      return;
    }
    this.pool.release(this);
  }

  /** Parks the connection idle, with its keep-alive deadline (the pool's sweep closes it then). */
  idle(now: number): void {
    this.idleUntil = now + this.keepAliveMs;
  }

  /** A 101: the socket is the handler's now, with what followed the head. */
  private handOver(req: H1Request, rest: Buffer): void {
    const socket = this.socket!;
    const { status, headers } = this.upgradeHead!;
    this.socket = undefined;
    this.req = undefined;
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    // Never an unhandled 'error' between here and the handler's own listener.
    socket.on('error', () => {});
    // Paused while the handler takes it (bytes unshifted inside a 'data'
    // event are not re-emitted by a flowing socket), resumed after.
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    const pool = this.pool;
    pool.gone(this);
    pool.emit('disconnect', pool.origin, [pool], new H1ClientError('ISOBAR_H1_CLOSED', 'upgraded'));
    req.done = true;
    try {
      req.handler.onRequestUpgrade?.(req, status, headers, socket as Duplex);
      process.nextTick(() => socket.resume());
    } catch {
      socket.destroy();
    }
    pool.next();
  }

  private onSocketEnd(): void {
    const req = this.req;
    if (req !== undefined && !req.done && this.parser.finish()) {
      this.req = undefined;
    }
    this.socket?.destroy();
  }

  private onSocketClose(): void {
    const pool = this.pool;
    const req = this.req;
    this.req = undefined;
    const err = this.socketError;
    pool.gone(this);
    pool.emit('disconnect', pool.origin, [pool], err ?? new H1ClientError('ISOBAR_H1_SOCKET_CLOSED', 'closed'));
    if (req !== undefined && !req.done) {
      // A reset under a body that runs to the close ends it (as undici).
      // A socket error (ECONNRESET...) is the request's, as undici gives it.
      if (!this.parser.finish()) req.fail(err ?? new H1ClientError('ISOBAR_H1_SOCKET_CLOSED', 'other side closed'));
    }
    pool.next();
  }

  // ---- the controller's calls ----

  resumed(req: H1Request): void {
    if (this.req !== req) return;
    const stash = this.stash;
    if (stash !== undefined) {
      this.stash = undefined;
      this.parse(req, stash);
      if (this.stash !== undefined) return;
    }
    this.socket?.resume();
  }

  /** The handler aborted its request: a connection it left mid-exchange
   *  cannot be reused. */
  abandoned(req: H1Request): void {
    if (this.req !== req) return;
    this.req = undefined;
    if (this.socket === undefined) return; // still connecting: connected() parks it
    if (!req.sentHead) {
      // Nothing of it was written: the connection is as clean as before.
      this.count--;
      this.closeAfter = false;
      this.pool.release(this);
      return;
    }
    this.socket.destroy();
  }

  destroy(): void {
    this.socket?.destroy();
  }
}

export class H1Pool extends EventEmitter implements UpstreamPool {
  readonly options: H1PoolOptions;
  readonly origin: string;
  /** Host as the Host header says it by default. */
  readonly host: string;
  closed = false;
  destroyed = false;
  private conns = new Set<H1Connection>();
  private idleConns: H1Connection[] = [];
  private queue: H1Request[] = [];
  private waiters: (() => void)[] = [];
  /** Closes the parked connections whose keep-alive deadline has passed:
   *  one timer for the pool, not one armed and cleared per request. */
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepAt = Infinity;

  constructor(options: H1PoolOptions) {
    super();
    this.options = options;
    // As undici's default Host: the port unless it is the scheme's own.
    const defaultPort = options.secure ? 443 : 80;
    this.host = options.port === defaultPort ? options.hostname : `${options.hostname}:${options.port}`;
    this.origin = `${options.secure ? 'https' : 'http'}://${this.host}`;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    let req: H1Request;
    try {
      if (this.closed || this.destroyed) throw new H1ClientError('ISOBAR_H1_CLOSED', this.destroyed ? 'the pool was destroyed' : 'the pool is closed');
      req = new H1Request(opts, handler);
    } catch (err) {
      try {
        handler.onResponseError?.(null as never, err as Error);
      } catch {
        // the handler's own error
      }
      return false;
    }
    const conn = this.idleConn();
    if (conn !== undefined) conn.start(req);
    else if (this.conns.size < this.options.connections) this.open(req);
    else this.queue.push(req);
    return true;
  }

  /** The most recently parked connection still open (one the upstream
   *  closed may wait here for its 'close' event) and within its keep-alive
   *  deadline: one past it is closed, never reused, even if the sweep is late. */
  private idleConn(): H1Connection | undefined {
    let now: number | undefined;
    for (;;) {
      const c = this.idleConns.pop();
      if (c === undefined) return undefined;
      if (!c.usable) continue;
      now ??= performance.now();
      if (c.idleUntil > now) return c;
      c.destroy();
    }
  }

  private open(req: H1Request): void {
    const conn = new H1Connection(this);
    this.conns.add(conn);
    conn.connect(req);
  }

  /** A connection is free: the next waiting request takes it, else it idles. */
  release(conn: H1Connection): void {
    const req = this.take();
    if (req !== undefined) return conn.start(req);
    if (this.closed) {
      conn.destroy();
      return;
    }
    const now = performance.now();
    conn.idle(now);
    this.idleConns.push(conn);
    if (conn.idleUntil < this.sweepAt) this.armSweep(conn.idleUntil, now);
  }

  private armSweep(at: number, now: number): void {
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(this.sweep, Math.max(0, at - now));
    this.sweepTimer.unref();
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    // The timer runs on the event loop's clock, which may be a little
    // behind performance.now(): a deadline within a millisecond is due.
    for (const c of [...this.idleConns]) {
      if (c.idleUntil <= now + 1) c.destroy();
      else if (c.idleUntil < next) next = c.idleUntil;
    }
    if (next !== Infinity) this.armSweep(next, now);
  };

  private take(): H1Request | undefined {
    while (this.queue.length > 0) {
      const req = this.queue.shift()!;
      if (!req.done) return req;
    }
    return undefined;
  }

  /** A connection slot was freed: a waiting request opens a new one. */
  next(): void {
    while (this.queue.length > 0 && this.conns.size < this.options.connections && !this.destroyed) {
      const req = this.take();
      if (req === undefined) break;
      this.open(req);
    }
    this.settle();
  }

  gone(conn: H1Connection): void {
    this.conns.delete(conn);
    const i = this.idleConns.indexOf(conn);
    if (i !== -1) this.idleConns.splice(i, 1);
  }

  private stopSweep(): void {
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
  }

  private settle(): void {
    if ((this.closed || this.destroyed) && this.conns.size === 0 && this.queue.length === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  private whenEmpty(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.settle();
    });
  }

  /** Lets requests in flight and queued finish, then closes every connection. */
  close(): Promise<void> {
    this.closed = true;
    this.stopSweep();
    for (const c of this.idleConns.splice(0)) c.destroy();
    return this.whenEmpty();
  }

  /** Ends everything now: queued and running requests fail. */
  destroy(): Promise<void> {
    this.destroyed = true;
    this.closed = true;
    this.stopSweep();
    const err = new H1ClientError('ISOBAR_H1_CLOSED', 'the pool was destroyed');
    for (const req of this.queue.splice(0)) req.fail(err);
    for (const c of [...this.conns]) {
      c.req?.fail(err);
      c.destroy();
    }
    return this.whenEmpty();
  }
}
