// Public shapes of the proxy runtime (the serve command codes against them).
import type { Logger } from 'pino';
import type { CompressionAlgorithm } from './compression.ts';

export interface ProxyListenerSpec {
  name: string;
  host: string;
  port: number;
  tls: boolean;
  /** Require a PROXY v1/v2 header before anything else on each connection. */
  proxyProtocol: boolean;
  reusePort?: boolean;
  /** Also accept on this Unix domain socket path: the load balancer's hop
   *  on the same host, cheaper than loopback TCP. Its connections are served
   *  as the TCP port's, their peer (Envoy's direct remote address) read as
   *  127.0.0.1, the address the loopback hop would have had. */
  unixPath?: string;
}

/** One line of access log, with Envoy's field meanings. */
export interface AccessLogEntry {
  startTime: string;
  method: string;
  path: string;
  protocol: string; // HTTP/1.1 | HTTP/2
  status: number;
  /** Envoy response flags: "-", "UF", "UH", "URX", "UT", "NR", "DC", "UC", "SI", "UO", "DPE". */
  responseFlags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamHost: string; // "ip:port" or "-"
  upstreamCluster: string;
  xForwardedFor: string;
  userAgent: string;
  requestId: string;
  authority: string;
  listener: string;
  downstreamRemoteAddress: string;
}

export interface ProxyRuntimeOptions {
  listeners: ProxyListenerSpec[];
  logger?: Logger;
  onAccessLog?: (e: AccessLogEntry) => void;
  /** How long a connection may take to send its PROXY header (default 5000). */
  proxyProtocolTimeoutMs?: number;
  /** How long a TLS client may take to send its ClientHello (default 10000). */
  tlsInspectorTimeoutMs?: number;
  /** 48 bytes shared by every proxy process so TLS session tickets resume across them. */
  ticketKeys?: Buffer;
  /** Downstream request header size limit in bytes (default 60 KiB, as Envoy). */
  maxHeaderSize?: number;
  /** Time allowed for a request's headers to arrive (default 30000). */
  headersTimeoutMs?: number;
  /** On drain, how long a connection that has not sent its (next) request
   *  yet may still send one, answered with Connection: close (default 1000). */
  drainGraceMs?: number;
  /** Keep the X-Request-Id of clients outside the internal ranges (Envoy's
   *  preserve_external_request_id; default false: they get a new one). */
  preserveExternalRequestId?: boolean;
  /** Compress upstream responses as Contour's default filter chain does
   *  (the config file's compression.algorithm; serve's default gzip);
   *  default disabled. */
  compression?: CompressionAlgorithm;
}
