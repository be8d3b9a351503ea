// Draining an HTTP/2 connection as Envoy drains it: GOAWAY NO_ERROR naming
// the last stream the proxy took, the streams in flight finish, then the
// connection closes (node:http2's session.close()).
//
// RFC 9113 §6.8's first step, a GOAWAY with 2^31-1 that still admits the
// streams already on their way, cannot be sent: nghttp2 refuses every new
// stream once any GOAWAY node:http2 can send has gone out. So a session
// with nothing in flight (idle, or just opened by a client the load
// balancer accepted before the drain, whose request may be on its way) gets
// the drain's grace as an HTTP/1.1 connection does: its next request is
// taken and the GOAWAY follows it, or the GOAWAY comes when the grace ends.
import type http2 from 'node:http2';

const kOpen = Symbol('isobar.http2.openStreams');

type Session = http2.ServerHttp2Session & { [kOpen]?: number };

/** Counts the session's open streams; installed when the session starts. */
export function countStreams(session: Session): void {
  session[kOpen] = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    session[kOpen]!++;
    stream.once('close', () => session[kOpen]!--);
  });
}

/** Starts the session's drain; `graceLeftMs` is how long a session with
 *  nothing in flight may still open a stream. */
export function drainSession(session: Session, graceLeftMs: number): void {
  if (session.closed || session.destroyed) return;
  if ((session[kOpen] ?? 0) > 0 || graceLeftMs <= 0) {
    session.close();
    return;
  }
  const close = (): void => {
    clearTimeout(timer);
    session.off('stream', close);
    // After the stream's own listeners: it is dispatched, then the GOAWAY names it.
    session.close();
  };
  const timer = setTimeout(close, graceLeftMs);
  session.on('stream', close);
  session.once('close', () => clearTimeout(timer));
}
