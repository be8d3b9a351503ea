// Counts what node:http2 has no option for (the budgets in http2-limits.ts)
// and keeps streams that must not be served away from request handling:
// streams the peer reset before they were dispatched, streams over the
// process budget, and requests RFC 9113 calls malformed that nghttp2 lets by.
import http2 from 'node:http2';
import { kConn, type ConnInfo } from './conn-info.ts';
import type { ProxyContext } from './context.ts';
import { DEFAULT_HTTP2_BUDGETS, type Http2Budgets } from './http2-limits.ts';
import { normalizeHost } from './host.ts';
import { TokenBucket } from './token-bucket.ts';

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
/** How long a session over budget lives after its GOAWAY. */
const CLOSE_AFTER_GOAWAY_MS = 100;
/** nghttp2's NGHTTP2_ERR_PROTO, as node:http2's NghttpError carries it in errno. */
const NGHTTP2_ERR_PROTO = -505;
/** How long a session kept after a stream error has to answer a PING. */
const PING_AFTER_STREAM_ERROR_MS = 10_000;

type Session = http2.Http2Session;
type StreamListener = (this: Session, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

/** Counts shared by every HTTP/2 listener of the process. */
class ProcessBudget {
  budgets: Http2Budgets = DEFAULT_HTTP2_BUDGETS;
  resets = new TokenBucket(DEFAULT_HTTP2_BUDGETS.processResets);
  openStreams = 0;

  /** Replaces the budgets (for the whole process) and refills the buckets. */
  configure(budgets: Http2Budgets): void {
    this.budgets = budgets;
    this.resets = new TokenBucket(budgets.processResets);
  }
}

export const http2Process = new ProcessBudget();

/** Installs the guard on a node:http2 server before it serves anything. */
export function guardHttp2(server: http2.Http2Server | http2.Http2SecureServer, ctx: ProxyContext): void {
  server.on('session', (session: http2.ServerHttp2Session) => guardSession(session, ctx));
}

function guardSession(session: Session, ctx: ProxyContext): void {
  const { connectionResets, connectionControlFrames } = http2Process.budgets;
  const resets = new TokenBucket(connectionResets);
  const control = new TokenBucket(connectionControlFrames);
  const peerReset = (): void => {
    const overConnection = !resets.take();
    const overProcess = !http2Process.resets.take();
    if (overConnection || overProcess) calm(session, ctx, overConnection ? 'streams reset by the client' : 'streams reset by clients of this process');
  };
  // node:http2 turns the session's 'stream' into the server's 'stream' and
  // then a 'request'; the guard sees each stream first and decides whether
  // it gets that far.
  const serve = session.listeners('stream') as StreamListener[];
  session.removeAllListeners('stream');
  const streamErrors = keepOnStreamErrors(session, ctx);
  session.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    // A stream closed with an error code emits 'error'; one kept from the
    // compatibility layer (which listens) would take the process down.
    stream.on('error', ignore);
    const admitted = admit(session, stream, headers, peerReset, ctx);
    streamErrors.watch(stream, admitted);
    if (admitted) for (const l of serve) l.call(session, stream, headers, flags, rawHeaders);
  });
  const onControl = (): void => {
    if (!control.take()) calm(session, ctx, 'PING/SETTINGS flood');
  };
  session.on('ping', onControl);
  session.on('remoteSettings', onControl);
  // calm() destroys with an error (that is how node:http2 takes a GOAWAY
  // code); the error is the peer's, not the process's.
  session.on('error', ignore);
  // A TLS socket inherits allowHalfOpen from the HTTP/1 server that
  // accepted the TCP connection, and node:http2 does not end its side on
  // the client's FIN: the session, and every stream still waiting
  // upstream, would outlive the client. HTTP/2 has no half-close; done.
  session.socket.once('end', () => session.destroy());
}

/**
 * node:http2 destroys the whole session, with GOAWAY INTERNAL_ERROR, on
 * every NGHTTP2_ERR_PROTO nghttp2 reports, and nghttp2 reports one for a
 * stream error too: DATA past a request's content-length (RFC 9113 §8.1.1)
 * gets RST_STREAM PROTOCOL_ERROR from nghttp2 and then takes down every
 * other stream of the connection. So that destroy waits one turn: if
 * nghttp2 reset a stream with PROTOCOL_ERROR meanwhile, it was that stream's
 * error and the session lives on (and must still answer a PING, in case it
 * was a connection error after all); otherwise it was a connection error,
 * nghttp2 has sent its GOAWAY with the right code, and the session closes.
 */
function keepOnStreamErrors(session: Session, ctx: ProxyContext): { watch(stream: http2.ServerHttp2Stream, admitted: boolean): void } {
  let protocolResets = 0;
  /** One PING at a time checks that the session still answers. */
  let pinging = false;
  const countReset = (stream: http2.ServerHttp2Stream): void => {
    if (stream.rstCode === NGHTTP2_PROTOCOL_ERROR) protocolResets++;
  };
  const destroy = session.destroy;
  const closeAsConnectionError = (err: Error): void => {
    if (!session.destroyed) destroy.call(session, err, NGHTTP2_PROTOCOL_ERROR);
  };
  session.destroy = function (this: Session, err?: Error, code?: number): void {
    if (code === undefined && (err as { code?: string } | undefined)?.code === 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES') {
      // node:http2 would close without a GOAWAY: say why first, as calm() does.
      calm(session, ctx, 'too many invalid frames');
      return;
    }
    if (code !== undefined || (err as { errno?: number } | undefined)?.errno !== NGHTTP2_ERR_PROTO) return destroy.call(this, err, code);
    const before = protocolResets;
    setImmediate(() => {
      if (session.destroyed) return;
      if (protocolResets === before) return closeAsConnectionError(err!);
      if (pinging) return;
      pinging = true;
      const noAnswer = setTimeout(() => closeAsConnectionError(err!), PING_AFTER_STREAM_ERROR_MS);
      noAnswer.unref();
      const answered = (pingErr: Error | null): void => {
        pinging = false;
        clearTimeout(noAnswer);
        if (pingErr) closeAsConnectionError(err!);
      };
      if (!session.ping(answered)) closeAsConnectionError(err!);
    });
  };
  return {
    /** Counts the stream's reset when it closes, and for one admitted
     *  (counted open by admit()) its end too: one 'close' listener a stream. */
    watch(stream, admitted) {
      if (stream.closed) {
        if (admitted) http2Process.openStreams--;
        countReset(stream);
      } else if (admitted) {
        stream.once('close', () => {
          http2Process.openStreams--;
          countReset(stream);
        });
      } else stream.once('close', () => countReset(stream));
    },
  };
}

function admit(session: Session, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, peerReset: () => void, ctx: ProxyContext): boolean {
  if (session.destroyed) return false;
  // node:http2 announces a stream on the next tick; a RST_STREAM that came
  // in the same read has already closed it: nothing to serve, one reset spent.
  if (stream.aborted || stream.destroyed) {
    peerReset();
    return false;
  }
  if (http2Process.openStreams >= http2Process.budgets.processStreams) {
    stream.close(NGHTTP2_REFUSED_STREAM);
    return false;
  }
  if (hostDiffers(headers)) {
    // RFC 9113 §8.3.1: a Host naming another entity than :authority is malformed.
    ctx.stats.badRequests++;
    stream.respond({ ':status': 400, 'content-length': '0' }, { endStream: true });
    return false;
  }
  // Counted down by keepOnStreamErrors' close listener.
  http2Process.openStreams++;
  // 'aborted' on a stream not yet destroyed is the peer's RST_STREAM; the
  // proxy's own resets destroy the stream first.
  stream.once('aborted', () => {
    if (!stream.destroyed) peerReset();
  });
  return true;
}

function hostDiffers(headers: http2.IncomingHttpHeaders): boolean {
  const authority = headers[':authority'];
  const host = headers.host;
  if (authority === undefined || host === undefined) return false;
  return normalizeHost(String(host)) !== normalizeHost(authority);
}

/** Sessions told to calm down, closing. */
const calming = new WeakSet<Session>();

/** GOAWAY ENHANCE_YOUR_CALM, then the connection is closed. */
function calm(session: Session, ctx: ProxyContext, reason: string): void {
  if (session.destroyed || calming.has(session)) return;
  calming.add(session);
  const conn = (session as unknown as { [kConn]?: ConnInfo })[kConn];
  ctx.warnOnce(`h2-budget|${reason}`, { listener: conn?.listener, remote: conn?.remote, reason }, 'HTTP/2 connection over budget: GOAWAY ENHANCE_YOUR_CALM, closed');
  // The GOAWAY goes first, on its own: destroy() drops the one it sends when
  // a write is still in progress on an h2c (JS stream) socket. Until the
  // close, nghttp2 ignores every stream the client opens past the GOAWAY.
  session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
  setTimeout(() => session.destroy(new Error(`HTTP/2 budget exceeded: ${reason}`), NGHTTP2_ENHANCE_YOUR_CALM), CLOSE_AFTER_GOAWAY_MS).unref();
}

function ignore(): void {}
