// What the request path shares with the runtime: the current compiled
// config, counters, the access log sink and a rate-limited warning log.
import type { Logger } from 'pino';
import type { ClusterRuntime } from './cluster.ts';
import type { RouteTables } from './route-table.ts';
import type { ProxyStats } from './stats.ts';
import type { TlsTable } from './tls-choice.ts';
import type { AccessLogEntry } from './types.ts';
import type { CompressionAlgorithm } from './compression.ts';

/** One applied config, compiled. Requests keep the one they started with. */
export interface ProxyState {
  tables: RouteTables;
  tls: TlsTable;
  clusters: Map<string, ClusterRuntime>;
  /** Counts applies; 0 until the first config arrives. */
  generation: number;
}

export interface ProxyContext {
  state: ProxyState;
  stats: ProxyStats;
  logger: Logger | undefined;
  onAccessLog: ((e: AccessLogEntry) => void) | undefined;
  /** Contour's compression.algorithm for upstream responses. */
  compression: CompressionAlgorithm;
  /** network.num-trusted-hops (Envoy's xff_num_trusted_hops). */
  numTrustedHops: number;
  /** Envoy's preserve_external_request_id. */
  preserveExternalRequestId: boolean;
  /** Logs at most once per key per 10 s, so a failing upstream cannot flood the log. */
  warnOnce(key: string, obj: Record<string, unknown>, msg: string): void;
  /** HTTP-01 tokens being validated (token -> key authorization). */
  acmeHttp01: ReadonlyMap<string, string>;
}

export function rateLimitedWarn(logger: Logger | undefined): (key: string, obj: Record<string, unknown>, msg: string) => void {
  const last = new Map<string, number>();
  return (key, obj, msg) => {
    if (!logger) return;
    const now = Date.now();
    const t = last.get(key);
    if (t !== undefined && now - t < 10_000) return;
    if (last.size > 10_000) last.clear();
    last.set(key, now);
    logger.warn(obj, msg);
  };
}
