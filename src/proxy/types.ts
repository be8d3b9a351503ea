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
  /** The port listener (ProxyConfig.listeners) whose hosts, SNI table or
   *  TCP forward this listener serves; absent: the proxy's own. */
  table?: string;
  /** Every connection goes to the port listener's TCP forward (a Gateway TCP listener). */
  tcp?: boolean;
  /** Accept on unixPath only (or, without one, only connections adopted in-process). */
  socketOnly?: boolean;
  /** The port is bound by serve's primary process, not here
   *  (listener.connection-balancer: exact): it hands each connection over
   *  (ProxyRuntime.adopt) to the worker holding the fewest. host and port
   *  say where it listens. */
  handedOff?: boolean;
}

/** How the runtime opens the port listeners a config names (Gateway
 *  listener ports beyond the first HTTP and HTTPS one): plain data, it
 *  crosses to the workers in their init message. */
export interface PortListenerSettings {
  /** The public address they bind (each at its PortListener.bindPort). */
  host: string;
  /** Require PROXY v1/v2 on them (--use-proxy-protocol). */
  proxyProtocol: boolean;
  reusePort: boolean;
  /** The primary binds them and hands their connections over
   *  (listener.connection-balancer: exact), and takes the balancer's flows
   *  for them on sockets of its own: nothing is bound here. */
  handedOff?: boolean;
  /** With the balancer in front: each also gets "lb-<name>", taking the
   *  balancer's flows (PROXY v2 first) on the Unix socket this template
   *  names with "{listener}" replaced (default mode), or, without a
   *  template, only flows handed over in-process (--co-located). */
  balancer?: { socketPathTemplate?: string };
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
  /** What the access log formats read (Envoy's command operators). */
  startMs: number;
  /** The request's headers as received (HTTP/2 pseudo-headers included). */
  requestHeaders: Record<string, string | string[] | undefined>;
  /** The response's headers and trailers as sent, when there was a response. */
  responseHeaders?: Record<string, string | string[] | number | undefined>;
  responseTrailers?: Record<string, string | string[] | undefined>;
  /** Tries sent upstream. */
  attempts: number;
  /** The object that made the route (Contour's route metadata). */
  route?: { kind?: string; namespace: string; name: string };
  downstreamLocalAddress: string;
  downstreamDirectRemoteAddress: string;
  connectionId?: number;
  requestedServerName?: string;
  tlsVersion?: string;
  tlsCipher?: string;
}

/** Downstream connection limits and timeouts (Contour's listener.* and
 *  timeouts.*, Envoy's HTTP connection manager). Milliseconds; 0 disables. */
export interface DownstreamSettings {
  /** Connections one listener of this process holds at once; beyond it a
   *  new one is closed at accept (listener.max-connections-per-listener,
   *  this process's share). Default none. */
  maxConnectionsPerListener?: number;
  /** Requests one connection carries; the last is answered with
   *  Connection: close (HTTP/2: GOAWAY after it). Default none. */
  maxRequestsPerConnection?: number;
  /** HTTP/1 connections' read and write high-water marks (default 64 KiB). */
  perConnectionBufferLimitBytes?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS (default 100). */
  http2MaxConcurrentStreams?: number;
  /** Time for a whole request to arrive (default: 300 s on HTTP/1, none on
   *  HTTP/2). HTTP/2: a stream whose request has not ended in time is
   *  answered 408, unless its response has started (Envoy's request_timeout). */
  requestTimeoutMs?: number;
  /** A connection with no request in flight is closed after this (default 60 s). */
  connectionIdleTimeoutMs?: number;
  /** A connection is drained after this long (default none). */
  maxConnectionDurationMs?: number;
  /** Envoy's drain_timeout: a drained HTTP/2 connection gets the shutdown
   *  notice (GOAWAY 2^31-1), new streams are served for this long, then the
   *  final GOAWAY; 0: the final GOAWAY at once. Default none: no notice, the
   *  final GOAWAY at once (a session with nothing in flight may still open
   *  one stream during a drain's grace). */
  http2ShutdownGraceMs?: number;
  /** Envoy's delayed_close_timeout: a connection the proxy closes is
   *  half-closed and its socket closed when the client closes its side, or
   *  after this long (default 1000); 0 closes once the FIN is flushed. */
  delayedCloseMs?: number;
}

export interface ProxyRuntimeOptions {
  /** Downstream limits and timeouts; absent: the defaults above. */
  downstream?: DownstreamSettings;
  /** X-Forwarded-For addresses trusted from the right (Envoy's
   *  xff_num_trusted_hops with use_remote_address); default 0. */
  numTrustedHops?: number;
  /** Envoy's merge_slashes: a run of "/" in a path is one; default true
   *  (Contour's, unless its config file says disableMergeSlashes). */
  mergeSlashes?: boolean;
  /** The proxy's TLS listeners: bounds on every virtual host's versions and
   *  the TLS 1.2 cipher list (OpenSSL syntax); default 1.2-1.3, Contour's ciphers. */
  listenerTls?: { minVersion: '1.2' | '1.3'; maxVersion: '1.2' | '1.3'; ciphers: string };
  listeners: ProxyListenerSpec[];
  /** Absent: the port listeners a config names are not opened. */
  portListeners?: PortListenerSettings;
  logger?: Logger;
  onAccessLog?: (e: AccessLogEntry) => void;
  /** How long a connection may take to send its PROXY header (default 5000). */
  proxyProtocolTimeoutMs?: number;
  /** How long a TLS client may take to send its ClientHello (default 10000). */
  tlsInspectorTimeoutMs?: number;
  /** How long a TLS handshake may take after the ClientHello; then the
   *  connection is closed (default 10000). */
  tlsHandshakeTimeoutMs?: number;
  /** 48 bytes shared by every proxy process so TLS session tickets resume across them. */
  ticketKeys?: Buffer;
  /** Downstream request header size limit in bytes (default 60 KiB, as Envoy). */
  maxHeaderSize?: number;
  /** Time allowed for a request's headers to arrive (default 30000). */
  headersTimeoutMs?: number;
  /** On drain, how long a connection that has not sent its (next) request
   *  yet may still send one, answered with Connection: close (default 1000). */
  drainGraceMs?: number;
  /** Keep the X-Request-Id of edge requests (Envoy's
   *  preserve_external_request_id; default true, as Contour sets it). */
  preserveExternalRequestId?: boolean;
  /** Compress upstream responses as Contour's default filter chain does
   *  (the config file's compression.algorithm; serve's default gzip);
   *  default disabled. */
  compression?: CompressionAlgorithm;
}
