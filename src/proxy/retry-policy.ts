// Envoy's retry conditions for a route's retryPolicy: which responses and
// failures may be retried, and the jittered backoff between tries.
import type { RetryPolicyConfig } from '../dag/index.ts';

export const RETRY_BACKOFF_BASE_MS = 25;

/** Failure kinds a try can end with, before any response headers. */
export type FailureKind = 'connect-failure' | 'reset' | 'refused-stream' | 'per-try-timeout';

export function retryOnAny(p: RetryPolicyConfig | undefined, ...names: string[]): boolean {
  if (p === undefined) return false;
  for (const n of names) if (p.retryOn.includes(n)) return true;
  return false;
}

/** A response status the policy retries. */
export function retriableStatus(p: RetryPolicyConfig | undefined, status: number): boolean {
  if (p === undefined) return false;
  if (status >= 500 && retryOnAny(p, '5xx')) return true;
  if ((status === 502 || status === 503 || status === 504) && retryOnAny(p, 'gateway-error')) return true;
  if (status === 409 && retryOnAny(p, 'retriable-4xx')) return true;
  return retryOnAny(p, 'retriable-status-codes') && p.retriableStatusCodes.includes(status);
}

/** A failure before response headers that the policy retries. 5xx and
 *  gateway-error cover connect failures, resets and timeouts (Envoy). */
export function retriableFailure(p: RetryPolicyConfig | undefined, kind: FailureKind): boolean {
  switch (kind) {
    case 'connect-failure':
      return retryOnAny(p, '5xx', 'gateway-error', 'connect-failure', 'reset');
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
