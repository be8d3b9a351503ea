// Envoy's retry conditions for a route's retryPolicy (the router's
// wouldRetryFromHeaders and wouldRetryFromReset): which responses and
// failures may be retried, and the jittered backoff between tries.
import type { RetryPolicyConfig } from '../dag/index.ts';

export const RETRY_BACKOFF_BASE_MS = 25;

/** Failure kinds a try can end with, before any response headers.
 *  connect-failure: the request never left (TCP or TLS to the endpoint
 *  failed), which is also what reset-before-request covers. */
export type FailureKind = 'connect-failure' | 'reset' | 'refused-stream' | 'per-try-timeout';

export function retryOnAny(p: RetryPolicyConfig | undefined, ...names: string[]): boolean {
  if (p === undefined) return false;
  for (const n of names) if (p.retryOn.includes(n)) return true;
  return false;
}

/** gRPC statuses of Contour's gRPC retry conditions (Envoy's x-envoy-retry-grpc-on). */
const GRPC_RETRY_ON: Readonly<Record<string, string>> = {
  '1': 'cancelled',
  '4': 'deadline-exceeded',
  '8': 'resource-exhausted',
  '13': 'internal',
  '14': 'unavailable',
};

type Headers = Record<string, string | string[] | undefined>;

/** A response the policy retries, read from its status and headers only
 *  (Envoy decides before forwarding anything): a grpc-status counts when
 *  it is in the headers (a trailers-only answer), never in trailers. */
export function retriableResponse(p: RetryPolicyConfig | undefined, status: number, headers: Headers): boolean {
  if (p === undefined) return false;
  // An upstream Envoy's rate limit: retried only under envoy-ratelimited.
  if (headers['x-envoy-ratelimited'] !== undefined) return retryOnAny(p, 'envoy-ratelimited');
  // An upstream that says it is overloaded is never retried.
  if (headers['x-envoy-overloaded'] !== undefined) return false;
  if (status >= 500 && status <= 599 && retryOnAny(p, '5xx')) return true;
  if ((status === 502 || status === 503 || status === 504) && retryOnAny(p, 'gateway-error')) return true;
  if (status === 409 && retryOnAny(p, 'retriable-4xx')) return true;
  if (retryOnAny(p, 'retriable-status-codes') && p.retriableStatusCodes.includes(status)) return true;
  // retriable-headers matches the route's retriable_headers, which Contour
  // never sets: it retries nothing. http3-post-connect-failure needs an
  // HTTP/3 upstream, which isobar never uses.
  const grpc = headers['grpc-status'];
  if (typeof grpc === 'string') {
    const name = GRPC_RETRY_ON[grpc.trim()];
    if (name !== undefined && retryOnAny(p, name)) return true;
  }
  return false;
}

/** A failure before response headers that the policy retries. 5xx,
 *  gateway-error and reset cover every reset and timeout (Envoy counts a
 *  reset as a 5xx); connect-failure and reset-before-request cover a
 *  request that never left; refused-stream an HTTP/2 REFUSED_STREAM. */
export function retriableFailure(p: RetryPolicyConfig | undefined, kind: FailureKind): boolean {
  switch (kind) {
    case 'connect-failure':
      return retryOnAny(p, '5xx', 'gateway-error', 'reset', 'connect-failure', 'reset-before-request');
    case 'reset':
    case 'per-try-timeout':
      return retryOnAny(p, '5xx', 'gateway-error', 'reset');
    case 'refused-stream':
      return retryOnAny(p, '5xx', 'gateway-error', 'reset', 'refused-stream');
  }
}

/** Full-jitter exponential backoff for try number `n` (1 = first retry);
 *  with a policy's minimum, never less than it (up to twice it, jittered). */
export function backoffMs(n: number, minMs?: number): number {
  if (minMs !== undefined) return minMs + Math.floor(Math.random() * minMs);
  return Math.floor(Math.random() * RETRY_BACKOFF_BASE_MS * 2 ** Math.min(n - 1, 4));
}
