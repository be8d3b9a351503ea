// Every way a request can end without the upstream's own response, in one
// table: the code the request path branches on (never an error message, as
// with undici's UND_ERR_* codes and isobar's HTTP/1.1 client's ISOBAR_H1_*
// ones), the status and Envoy's body of the local
// reply, Envoy's response flag for the access log, and the retryOn condition
// under which a route's retry policy resends the request. upstreamFailure()
// is the one place that reads the clients' and Node's errors to find the code.
// The HTTP/1.1 client's codes map to what undici's equivalents gave, so a
// user sees the same answers whichever client carried the request.
import type { FailureKind } from './retry-policy.ts';
import { UpstreamConnectError } from './upstream-tls.ts';

/** Envoy's response flags, as the access log prints them ("-": none). */
export type ResponseFlag = '-' | 'NR' | 'DPE' | 'UH' | 'UO' | 'UF' | 'UC' | 'UT' | 'SI' | 'UPE' | 'DC' | 'UAEX' | 'RL' | 'RLSE';

export interface Failure {
  /** Status of the local reply; undefined: no reply, the downstream stream is reset. */
  status: number | undefined;
  flag: ResponseFlag;
  body: string;
  /** The retryOn condition under which a retry policy resends the request. */
  retryOn?: FailureKind;
}

// Envoy's bodies for a try that ended before response headers.
const CONNECT_ERROR = 'upstream connect error or disconnect/reset before headers. reset reason: ';
const CONNECTION_FAILURE = `${CONNECT_ERROR}connection failure`;
const CONNECTION_TERMINATION = `${CONNECT_ERROR}connection termination`;

export const FAILURES = {
  'no-route': { status: 404, flag: 'NR', body: '' },
  /** The Host names a virtual host other than the one the TLS handshake chose. */
  misdirected: { status: 421, flag: 'NR', body: 'misdirected request' },
  /** A request the exchange cannot read (a request target or body it cannot parse). */
  'bad-request': { status: 400, flag: 'DPE', body: '' },
  'no-healthy-upstream': { status: 503, flag: 'UH', body: 'no healthy upstream' },
  /** The endpoint already has its maximum of requests in flight. */
  overflow: { status: 503, flag: 'UO', body: `${CONNECT_ERROR}overflow` },
  'connect-failure': { status: 503, flag: 'UF', body: CONNECTION_FAILURE, retryOn: 'connect-failure' },
  /** As connect-failure; the endpoint is also ejected (nothing listens there). */
  'connect-refused': { status: 503, flag: 'UF', body: CONNECTION_FAILURE, retryOn: 'connect-failure' },
  /** The endpoint is ejected too. */
  'connect-timeout': { status: 503, flag: 'UF', body: `${CONNECT_ERROR}connection timeout`, retryOn: 'connect-failure' },
  /** The body is followed by the TLS failure's detail (failureBody). */
  'upstream-tls': { status: 503, flag: 'UF', body: `${CONNECTION_FAILURE}, transport failure reason: TLS_error: `, retryOn: 'connect-failure' },
  /** The upstream reset or closed the stream before its response headers. */
  reset: { status: 503, flag: 'UC', body: CONNECTION_TERMINATION, retryOn: 'reset' },
  /** An HTTP/2 upstream refused the stream (REFUSED_STREAM): nothing was processed. */
  'refused-stream': { status: 503, flag: 'UC', body: CONNECTION_TERMINATION, retryOn: 'refused-stream' },
  /** The connection closed under the request. On a kept-alive connection
   *  just reused, the backend closed it as the request went out: a bodyless
   *  idempotent first try is resent once even without a retry policy. */
  'socket-closed': { status: 503, flag: 'UC', body: CONNECTION_TERMINATION, retryOn: 'reset' },
  /** The request body ended short of its length or was aborted while it was
   *  being sent; undici ends the try as on a reset, and a policy retries it
   *  as one. */
  'request-body-aborted': { status: 400, flag: 'DPE', body: '', retryOn: 'reset' },
  /** The upstream broke off after its response headers arrived. */
  'response-reset': { status: undefined, flag: 'UC', body: '' },
  'invalid-response-header': { status: 502, flag: 'UPE', body: 'upstream sent an invalid response header' },
  'response-timeout': { status: 504, flag: 'UT', body: 'upstream request timeout' },
  'per-try-timeout': { status: 504, flag: 'UT', body: 'upstream request timeout', retryOn: 'per-try-timeout' },
  /** No byte either way for the route's idle timeout. */
  'stream-idle': { status: 408, flag: 'SI', body: 'stream timeout' },
  /** The HTTP/2 request did not arrive whole within timeouts.request-timeout. */
  'request-timeout': { status: 408, flag: '-', body: 'request timeout' },
} as const satisfies Record<string, Failure>;

export type FailureCode = keyof typeof FAILURES;
/** The failures answered with a local reply (the others reset the stream). */
export type AnsweredFailure = { [K in FailureCode]: (typeof FAILURES)[K]['status'] extends number ? K : never }[FailureCode];

/** The local reply's body; a TLS failure names its detail. */
export function failureBody(code: FailureCode, detail?: string): string {
  const body: string = FAILURES[code].body;
  return code === 'upstream-tls' && detail !== undefined ? body + detail : body;
}

/** The code of the error an upstream try ended with. `afterHeaders`: the
 *  upstream's response headers had arrived. */
export function upstreamFailure(err: Error & { code?: string }, afterHeaders: boolean): FailureCode {
  if (err instanceof UpstreamConnectError) {
    if (err.kind === 'tls') return 'upstream-tls';
    if (err.kind === 'timeout') return 'connect-timeout';
    return (err.cause as { code?: string } | undefined)?.code === 'ECONNREFUSED' ? 'connect-refused' : 'connect-failure';
  }
  if (afterHeaders) return 'response-reset';
  switch (err.code) {
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_ABORTED':
    case 'ISOBAR_H1_REQUEST_BODY':
      return 'request-body-aborted';
    case 'UND_ERR_SOCKET':
    case 'ISOBAR_H1_SOCKET_CLOSED':
      return 'socket-closed';
    // A malformed response (undici's HPE_* parser errors gave the same).
    case 'ISOBAR_H1_INVALID_STATUS':
    case 'ISOBAR_H1_INVALID_HEADER':
    case 'ISOBAR_H1_INVALID_FRAMING':
    case 'ISOBAR_H1_INVALID_CHUNK':
    case 'ISOBAR_H1_HEADERS_OVERFLOW':
    case 'ISOBAR_H1_UNEXPECTED_RESPONSE':
    // A request the client would not write, a closed pool.
    case 'ISOBAR_H1_INVALID_REQUEST':
    case 'ISOBAR_H1_CLOSED':
      return 'reset';
    case 'ERR_HTTP2_STREAM_ERROR':
      // Node names the HTTP/2 error code only in the message.
      return /REFUSED_STREAM/.test(err.message) ? 'refused-stream' : 'reset';
    default:
      return 'reset';
  }
}

/** The reason given to undici when the exchange abandons a try (the client
 *  left, a timeout, a retry): such an error is never a failure of its own. */
export class TryAbandoned extends Error {
  readonly code = 'ISOBAR_TRY_ABANDONED';
  constructor(why: string) {
    super(`try abandoned: ${why}`);
    this.name = 'TryAbandoned';
  }
}
