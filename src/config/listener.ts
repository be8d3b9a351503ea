// Contour's listener.*, network.num-trusted-hops and downstream timeouts.*
// settings (pkg/config/parameters.go ListenerParameters, NetworkParameters,
// TimeoutParameters), checked with Contour's own error text.

import { parseGoDuration } from './duration.ts';
import { describe } from './describe.ts';

/** listener.*: what one downstream connection and one listener may take. */
export interface ListenerLimits {
  /** Envoy's listener connection limit; beyond it a connection is closed at accept. */
  maxConnectionsPerListener?: number;
  /** Requests one downstream connection may carry; the last says Connection: close (HTTP/2: GOAWAY). */
  maxRequestsPerConnection?: number;
  /** Envoy's per_connection_buffer_limit_bytes (its default 1 MiB). */
  perConnectionBufferLimitBytes?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of downstream HTTP/2 connections. */
  http2MaxConcurrentStreams?: number;
  /** "exact": Envoy balances a listener's connections between its worker threads. */
  connectionBalancer?: 'exact';
}

/** A Contour timeout: milliseconds, or null for "infinity" (disabled).
 *  Absent ("" or "0s"): Envoy's default. */
export type TimeoutValue = number | null;

/** timeouts.* for downstream connections (connect-timeout is the upstream's). */
export interface DownstreamTimeouts {
  requestTimeoutMs?: TimeoutValue;
  connectionIdleTimeoutMs?: TimeoutValue;
  streamIdleTimeoutMs?: TimeoutValue;
  maxConnectionDurationMs?: TimeoutValue;
  delayedCloseTimeoutMs?: TimeoutValue;
  connectionShutdownGracePeriodMs?: TimeoutValue;
}

type Fail = (message: string) => void;


/** A uint32 as Contour's YAML decoder reads one; `what` names it in
 *  Contour's "minimum value is 1" error for 0. */
function positiveUint32(v: unknown, fail: Fail, zeroError: string): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    fail(`must be a whole number from 1 to 4294967295, found ${describe(v)}`);
    return undefined;
  }
  if (v === 0) {
    fail(zeroError);
    return undefined;
  }
  return v;
}

type LimitKey = Exclude<keyof ListenerLimits, 'connectionBalancer'>;

/** Contour's ListenerParameters.Validate wording for a 0, by key. */
const LIMITS: Record<string, { field: LimitKey; zero: string }> = {
  'max-connections-per-listener': { field: 'maxConnectionsPerListener', zero: 'invalid max connections per listener value 0 set on listener, minimum value is 1' },
  'max-requests-per-connection': { field: 'maxRequestsPerConnection', zero: 'invalid max connections per request value 0 set on listener, minimum value is 1' },
  'per-connection-buffer-limit-bytes': { field: 'perConnectionBufferLimitBytes', zero: 'invalid per connections buffer limit bytes value 0 set on listener, minimum value is 1' },
  'http2-max-concurrent-streams': { field: 'http2MaxConcurrentStreams', zero: 'invalid max HTTP/2 concurrent streams value 0 set on listener, minimum value is 1' },
};

export const LISTENER_LIMIT_KEYS: readonly string[] = Object.keys(LIMITS);

/** One listener.<key> limit into `into`. */
export function parseListenerLimit(key: string, v: unknown, into: ListenerLimits, fail: Fail): void {
  const spec = LIMITS[key]!;
  const n = positiveUint32(v, fail, spec.zero);
  if (n !== undefined) into[spec.field] = n;
}

export function parseConnectionBalancer(v: unknown, into: ListenerLimits, fail: Fail): void {
  if (typeof v !== 'string') return fail(`must be a string ("exact"), found ${describe(v)}`);
  if (v === '') return;
  if (v !== 'exact') return fail(`invalid listener connection balancer value ${JSON.stringify(v)}, only 'exact' connection balancing is supported for now`);
  into.connectionBalancer = 'exact';
}

/** network.num-trusted-hops: a uint32, 0 the default. */
export function parseNumTrustedHops(v: unknown, fail: Fail): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    fail(`must be a whole number from 0 to 4294967295, found ${describe(v)}`);
    return undefined;
  }
  return v;
}

/** Contour's wording per timeout key (TimeoutParameters.Validate). */
const TIMEOUTS: Record<string, { field: keyof DownstreamTimeouts; what: string }> = {
  'request-timeout': { field: 'requestTimeoutMs', what: 'invalid request timeout' },
  'connection-idle-timeout': { field: 'connectionIdleTimeoutMs', what: 'connection idle timeout' },
  'stream-idle-timeout': { field: 'streamIdleTimeoutMs', what: 'stream idle timeout' },
  'max-connection-duration': { field: 'maxConnectionDurationMs', what: 'max connection duration' },
  'delayed-close-timeout': { field: 'delayedCloseTimeoutMs', what: 'delayed close timeout' },
  'connection-shutdown-grace-period': { field: 'connectionShutdownGracePeriodMs', what: 'connection shutdown grace period' },
};

export const DOWNSTREAM_TIMEOUT_KEYS: readonly string[] = Object.keys(TIMEOUTS);

/** One timeouts.<key> into `into`: a Go duration, "infinity"/"infinite"
 *  (disabled), "" or "0s" (Envoy's default), as Contour's timeout.Parse. */
export function parseDownstreamTimeout(key: string, v: unknown, into: DownstreamTimeouts, fail: Fail): void {
  const spec = TIMEOUTS[key]!;
  if (typeof v !== 'string') return fail(`must be a Go duration string such as "30s", or "infinity", found ${describe(v)}`);
  if (v === '') {
    delete into[spec.field];
    return;
  }
  if (v === 'infinity' || v === 'infinite') {
    into[spec.field] = null;
    return;
  }
  let ms: number;
  try {
    ms = parseGoDuration(v);
  } catch (err) {
    return fail(`${spec.what} ${JSON.stringify(v)}: ${(err as Error).message}`);
  }
  // Envoy refuses a negative duration in its config; say so here.
  if (ms < 0) return fail(`${spec.what} ${JSON.stringify(v)}: must not be negative`);
  if (ms === 0) delete into[spec.field];
  else into[spec.field] = ms;
}
