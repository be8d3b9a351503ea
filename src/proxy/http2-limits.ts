// What one HTTP/2 connection and one proxy process may cost. node:http2
// (nghttp2) enforces the frame-level limits given here as server options;
// the budgets it has no option for are counted by Http2Guard.
import http from 'node:http';
import type http2 from 'node:http2';
import type { Rate } from './token-bucket.ts';

export interface Http2Budgets {
  /** Streams one connection may reset (RST_STREAM) before their response is
   *  done, CVE-2023-44487 "rapid reset". Over it: GOAWAY ENHANCE_YOUR_CALM. */
  connectionResets: Rate;
  /** The same, summed over every connection of the process, so many
   *  connections that each stay under their own budget cannot add up. */
  processResets: Rate;
  /** PING and SETTINGS frames one connection may send. Over it: GOAWAY
   *  ENHANCE_YOUR_CALM (nghttp2 only stops a flood whose replies back up). */
  connectionControlFrames: Rate;
  /** Streams open at once over every connection of the process; a new one
   *  beyond it is refused with REFUSED_STREAM, which a client may retry. */
  processStreams: number;
}

export const DEFAULT_HTTP2_BUDGETS: Http2Budgets = {
  connectionResets: { burst: 200, perSecond: 50 },
  processResets: { burst: 1000, perSecond: 500 },
  connectionControlFrames: { burst: 100, perSecond: 10 },
  processStreams: 10_000,
};

/** Streams a client may have open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const MAX_CONCURRENT_STREAMS = 100;

/** The header list size HTTP/2 requests may have: the HTTP/1 listener's
 *  limit, but node:http2 answers 431 over the process-wide
 *  --max-http-header-size whatever a server asks (workers are started with
 *  it set to the same limit), so the smaller of the two is what holds. */
export function http2HeaderListLimit(maxHeaderSize: number): number {
  return Math.min(maxHeaderSize, http.maxHeaderSize);
}

/** node:http2 server options for a listener whose HTTP/1 header limit is
 *  `maxHeaderSize`; `maxConcurrentStreams` is listener.http2-max-concurrent-streams. */
export function http2ServerOptions(maxHeaderSize: number, maxConcurrentStreams = MAX_CONCURRENT_STREAMS): http2.ServerOptions {
  return {
    // Announced, so clients that read SETTINGS do not send what gets 431.
    settings: { maxConcurrentStreams, maxHeaderListSize: http2HeaderListLimit(maxHeaderSize) },
    // Header fields per request (Envoy allows 100); more: RST_STREAM ENHANCE_YOUR_CALM.
    maxHeaderListPairs: 128,
    // Frames nghttp2 rejects (empty DATA frames among them) before the
    // connection is closed; legitimate clients send none.
    maxSessionInvalidFrames: 100,
    // Streams refused for exceeding maxConcurrentStreams before the connection is closed.
    maxSessionRejectedStreams: 100,
    // Entries in one SETTINGS frame; more: GOAWAY ENHANCE_YOUR_CALM.
    maxSettings: 32,
    maxOutstandingPings: 10,
    peerMaxConcurrentStreams: MAX_CONCURRENT_STREAMS,
    // Megabytes of nghttp2 state per connection; over it new streams are refused.
    maxSessionMemory: 10,
    // nghttp2's own RST_STREAM rate limit (GOAWAY INTERNAL_ERROR): only a
    // backstop. It counts within one read, before Http2Guard sees a stream,
    // so it sits above what one read can hold (64 KiB of the smallest
    // HEADERS + RST_STREAM pairs) and connectionResets decides.
    streamResetBurst: 10_000,
    streamResetRate: 100,
    strictFieldWhitespaceValidation: true,
  };
}
