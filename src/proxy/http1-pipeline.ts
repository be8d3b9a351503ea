// The requests of one HTTP/1.x connection, one at a time. node:http emits a
// 'request' for every request it parses out of one read, so a pipeline
// would run in parallel and reach upstreams out of order, and a request
// after one that closes the connection would run too. RFC 9112 §9.3.2 allows
// parallel processing only when every request is safe; Envoy's codec reads
// the next request only once the current response is complete. Here each
// request starts when the response before it has ended, and none starts
// after a response that closed the connection.
//
// A connection told to end (bytes that do not parse after a complete
// request, or a drain) answers what it has received whole, the last
// response with Connection: close, and then closes: the stray bytes are
// dropped, never answered with a 400 written over a response still owed.
import type { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { H1Response } from './h1-response.ts';
import type { Http1Message } from './http1-request.ts';

/** Requests parsed ahead of the one running before reading pauses. */
const MAX_QUEUED = 32;

const kPipeline = Symbol('isobar.http1.pipeline');

type Socket = Duplex & { [kPipeline]?: Http1Pipeline; destroySoon?: () => void };

interface Turn {
  req: Http1Message;
  res: ServerResponse | H1Response;
  run: () => void;
}

export class Http1Pipeline {
  private readonly socket: Socket;
  private active: Turn | undefined;
  private readonly queue: Turn[] = [];
  private ending = false;
  private paused = false;
  private whenIdle: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
  }

  /** The connection's pipeline, made on its first request. */
  static of(socket: Duplex): Http1Pipeline {
    const s = socket as Socket;
    return (s[kPipeline] ??= new Http1Pipeline(s));
  }

  /** The connection's pipeline if it has had a request. */
  static peek(socket: Duplex): Http1Pipeline | undefined {
    return (socket as Socket)[kPipeline];
  }

  /** A response is still owed on this connection. */
  get busy(): boolean {
    return this.active !== undefined;
  }

  get ended(): boolean {
    return this.ending;
  }

  /** Bytes after the request being served failed to parse (or timed out):
   *  when that request was received whole, the connection ends after the
   *  responses it owes and true is returned; false leaves the error to the
   *  caller (it belongs to the request being served, or none is). */
  absorbError(): boolean {
    const a = this.active;
    if (a === undefined || !a.req.complete) return false;
    // A request still arriving when the bytes failed never runs.
    const last = this.queue.at(-1);
    if (last !== undefined && !last.req.complete) this.queue.pop();
    this.end();
    return true;
  }

  /** Queues a request node:http parsed; `run` serves it in its turn. */
  push(req: Http1Message, res: ServerResponse | H1Response, run: () => void): void {
    this.queue.push({ req, res, run });
    if (this.active === undefined) this.next();
    else if (this.queue.length >= MAX_QUEUED && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Answers what has been received whole (the last with Connection:
   *  close), then closes. An idle connection is left to its owner. */
  end(): void {
    this.ending = true;
    const a = this.active;
    if (this.queue.length === 0 && a !== undefined && !a.res.headersSent) a.res.shouldKeepAlive = false;
  }

  /** Runs `fn` once no response is owed (an upgrade or CONNECT parsed
   *  behind a pending response must not write in the middle of it). */
  afterResponses(fn: () => void): void {
    if (this.gone()) return;
    if (this.active === undefined) fn();
    else this.whenIdle = fn;
  }

  private next(): void {
    for (;;) {
      // node:http goes on parsing what arrives after a response that
      // closed the connection (it only knows the request's own framing):
      // such a request is never served.
      if (this.gone()) {
        this.queue.length = 0;
        this.whenIdle = undefined;
        this.active = undefined;
        return;
      }
      const turn = this.queue.shift();
      if (turn === undefined) break;
      if (turn.res.destroyed) continue;
      this.active = turn;
      if (this.ending && this.queue.length === 0) turn.res.shouldKeepAlive = false;
      if (this.paused && this.queue.length < MAX_QUEUED / 2) {
        this.paused = false;
        this.socket.resume();
      }
      (turn.res as EventEmitter).once('close', () => this.done(turn));
      turn.run();
      return;
    }
    this.active = undefined;
    if (this.gone()) return;
    const idle = this.whenIdle;
    if (idle !== undefined) {
      this.whenIdle = undefined;
      idle();
      return;
    }
    if (this.ending) {
      // The last response went out keep-alive before the end was known.
      if (typeof this.socket.destroySoon === 'function') this.socket.destroySoon();
      else this.socket.end();
    }
  }

  private done(turn: Turn): void {
    if (this.active !== turn) return;
    this.active = undefined;
    if (this.gone()) {
      this.queue.length = 0;
      this.whenIdle = undefined;
      return;
    }
    this.next();
  }

  /** The connection is closed or closing: nothing more is served on it. */
  private gone(): boolean {
    return this.socket.destroyed || this.socket.writableEnded;
  }
}
