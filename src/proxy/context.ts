// What the request path shares with the runtime: the current compiled
// config, counters, the access log sink and a rate-limited warning log.
import type { Logger } from 'pino';
import type { ClusterRuntime } from './cluster.ts';
import { HostTable } from './host.ts';
import type { CompiledTcp, CompiledVhost, RouteTables } from './route-table.ts';
import type { ProxyStats } from './stats.ts';
import type { TlsTable } from './tls-choice.ts';
import type { AccessLogEntry } from './types.ts';
import type { CompressionAlgorithm } from './compression.ts';

/** A port listener's own tables (a Gateway listener port beyond the first
 *  of its kind): its hosts, its SNI table, or its TCP forward. */
export interface PortState {
  tables: RouteTables;
  tls: TlsTable;
  tcp?: CompiledTcp;
}

/** One applied config, compiled. Requests keep the one they started with. */
export interface ProxyState {
  /** The proxy's own HTTP and HTTPS listeners' hosts. */
  tables: RouteTables;
  tls: TlsTable;
  /** Port listeners by name (ProxyConfig.listeners). */
  ports: Map<string, PortState>;
  clusters: Map<string, ClusterRuntime>;
  /** Counts applies; 0 until the first config arrives. */
  generation: number;
}

const NO_PORT: PortState = { tables: { http: new HostTable<CompiledVhost>(), https: new HostTable<CompiledVhost>() }, tls: { byName: new HostTable(), keys: new Set() } };

/** The tables a connection of the listener reading `table` routes on
 *  (absent: the proxy's own). A port listener gone from the config routes nothing. */
export function portState(state: ProxyState, table: string | undefined): PortState {
  return table === undefined ? state : (state.ports.get(table) ?? NO_PORT);
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
  /** Envoy's merge_slashes (Contour's default; disableMergeSlashes turns it off). */
  mergeSlashes: boolean;
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
