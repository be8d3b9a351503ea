// Draining an HTTP/2 connection.
//
// With timeouts.connection-shutdown-grace-period (Envoy's drain_timeout)
// set, as Envoy drains: first RFC 9113 §6.8's shutdown notice, a GOAWAY
// NO_ERROR with last stream 2^31-1, so a client stops opening streams while
// the ones already on their way are still served; after the grace the final
// GOAWAY naming the last stream taken (node:http2's session.close()), and
// the connection closes once its streams finish.
//
// nghttp2 ignores every new stream once any GOAWAY it sent has gone out, so
// the notice is written past it, onto the stream the session reads and
// writes through (a JS stream: node:http2 writes each batch of whole frames
// to it in one synchronous call, so a write from another tick lands between
// frames). A session sitting directly on a socket's handle cannot take
// that write (node:http2 would take its completion for its own and abort the
// process): such a session gets the final GOAWAY at once.
//
// Unset, the older rule stays: a session with streams in flight gets the
// final GOAWAY at once; one with nothing in flight (idle, or just opened by a
// client the load balancer accepted before the drain, whose request may be
// on its way) may open one stream during the drain's grace, then gets it.
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';

const kOpen = Symbol('isobar.http2.openStreams');
const kShutdown = Symbol('isobar.http2.shutdown');

interface Shutdown {
  timer: NodeJS.Timeout | undefined;
  /** performance.now() when the final GOAWAY is due. */
  finalAt: number;
}

type Session = http2.ServerHttp2Session & { [kOpen]?: number; [kShutdown]?: Shutdown };

/** GOAWAY, stream 0, last stream 2^31-1, NO_ERROR (RFC 9113 §6.8). */
export const SHUTDOWN_NOTICE: Buffer = Buffer.from([0, 0, 8, 7, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** Counts the session's open streams; installed when the session starts. */
export function countStreams(session: Session): void {
  session[kOpen] = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    session[kOpen]!++;
    stream.once('close', () => session[kOpen]!--);
  });
}

/** Starts the session's drain without a shutdown notice; `graceLeftMs` is
 *  how long a session with nothing in flight may still open a stream. */
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

/** Envoy's drain sequence: the shutdown notice on `wire` (the JS stream the
 *  session was created on), streams still taken for `graceMs`, then the
 *  final GOAWAY. Called again while it runs, the earlier end wins. */
export function shutdownSession(session: Session, wire: Duplex | undefined, graceMs: number): void {
  if (session.closed || session.destroyed) return;
  const now = performance.now();
  const running = session[kShutdown];
  if (running !== undefined) {
    if (now + graceMs >= running.finalAt) return;
    clearTimeout(running.timer);
  }
  if (graceMs <= 0 || wire === undefined || !wire.writable) {
    if (running !== undefined) running.timer = undefined;
    session.close();
    return;
  }
  const state: Shutdown = running ?? { timer: undefined, finalAt: 0 };
  state.finalAt = now + graceMs;
  state.timer = setTimeout(() => {
    state.timer = undefined;
    session.close();
  }, graceMs);
  if (running === undefined) {
    session[kShutdown] = state;
    session.once('close', () => clearTimeout(state.timer));
    wire.write(SHUTDOWN_NOTICE);
  }
}
