// The config file's downstream settings (listener.*, timeouts.*,
// network.num-trusted-hops, tls.* of the listeners, accesslog-*) as the
// proxy runtime takes them: plain data with Envoy's defaults filled in
// where Contour leaves a value unset, so every worker gets the same.

import { DEFAULT_TLS_CIPHERS, opensslCipherList, type IsobarConfig, type TimeoutValue } from '../config/index.ts';
import type { DownstreamSettings } from '../proxy/index.ts';
import type { ProxySettings } from './start-proxy.ts';

/** Envoy's defaults for what Contour leaves unset ("" or "0s"). */
const ENVOY_CONNECTION_IDLE_MS = 3_600_000;
const ENVOY_DELAYED_CLOSE_MS = 1000;

/** null ("infinity") disables: 0 for the runtime. */
function ms(t: TimeoutValue | undefined, envoyDefault: number | undefined): number | undefined {
  if (t === null) return 0;
  return t ?? envoyDefault;
}

export function downstreamSettings(config: IsobarConfig): DownstreamSettings {
  const l = config.listener;
  const t = config.timeouts;
  const d: DownstreamSettings = {};
  if (l.maxConnectionsPerListener !== undefined) d.maxConnectionsPerListener = l.maxConnectionsPerListener;
  if (l.maxRequestsPerConnection !== undefined) d.maxRequestsPerConnection = l.maxRequestsPerConnection;
  if (l.perConnectionBufferLimitBytes !== undefined) d.perConnectionBufferLimitBytes = l.perConnectionBufferLimitBytes;
  if (l.http2MaxConcurrentStreams !== undefined) d.http2MaxConcurrentStreams = l.http2MaxConcurrentStreams;
  // Envoy's request_timeout is off by default; isobar's HTTP/1 budget stays then.
  const request = ms(t.requestTimeoutMs, undefined);
  if (request !== undefined) d.requestTimeoutMs = request;
  d.connectionIdleTimeoutMs = ms(t.connectionIdleTimeoutMs, ENVOY_CONNECTION_IDLE_MS)!;
  const duration = ms(t.maxConnectionDurationMs, undefined);
  if (duration !== undefined && duration > 0) d.maxConnectionDurationMs = duration;
  d.delayedCloseMs = ms(t.delayedCloseTimeoutMs, ENVOY_DELAYED_CLOSE_MS)!;
  // Unset: no shutdown notice (Envoy's default would be 5 s; see README).
  const shutdownGrace = ms(t.connectionShutdownGracePeriodMs, undefined);
  if (shutdownGrace !== undefined) d.http2ShutdownGraceMs = shutdownGrace;
  return d;
}

/** The part of serve's proxy settings the config file decides. */
export function configProxySettings(config: IsobarConfig): Omit<ProxySettings, 'accessLog'> {
  return {
    compression: config.compression.algorithm,
    downstream: downstreamSettings(config),
    numTrustedHops: config.numTrustedHops,
    mergeSlashes: !config.disableMergeSlashes,
    listenerTls: {
      minVersion: config.tls.minimumProtocolVersion,
      maxVersion: config.tls.maximumProtocolVersion,
      ciphers: opensslCipherList(config.tls.cipherSuites ?? DEFAULT_TLS_CIPHERS),
    },
    accessLogFormat: config.accessLog,
  };
}

/** One proxy process's share of listener.max-connections-per-listener:
 *  every worker has its own socket on the port (SO_REUSEPORT), so the
 *  limit is split between them and their sum never exceeds it. */
export function workerShare(limit: number, workers: number, index: number): number {
  return Math.floor(limit / workers) + (index < limit % workers ? 1 : 0);
}
