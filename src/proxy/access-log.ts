// The access log record of one request (HTTP exchange or WebSocket
// upgrade), with Envoy's field meanings, and its hand-off to the sink.
import { hostPort, type ConnInfo, type DownstreamRequest } from './conn-info.ts';
import type { ResponseFlag } from './failure.ts';
import type { AccessLogEntry } from './types.ts';

/** How a request went, as the request path tracks it. */
export interface RequestOutcome {
  /** Date.now() and performance.now() when the request arrived. */
  startTime: number;
  startPerf: number;
  status: number;
  flags: ResponseFlag;
  bytesReceived: number;
  bytesSent: number;
  /** "ip:port" or "-". */
  upstreamHost: string;
  upstreamCluster: string;
  xForwardedFor: string;
  requestId: string;
  authority: string;
  responseHeaders?: Record<string, string | string[] | number | undefined> | undefined;
  responseTrailers?: Record<string, string | string[] | undefined> | undefined;
  attempts?: number;
  route?: { kind?: string; namespace: string; name: string } | undefined;
}

export function accessLogEntry(req: DownstreamRequest, conn: ConnInfo | undefined, o: RequestOutcome): AccessLogEntry {
  return {
    startTime: new Date(o.startTime).toISOString(),
    method: req.method ?? '',
    path: req.url ?? '',
    protocol: req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/${req.httpVersion}`,
    status: o.status,
    responseFlags: o.flags,
    bytesReceived: o.bytesReceived,
    bytesSent: o.bytesSent,
    durationMs: Math.round((performance.now() - o.startPerf) * 1000) / 1000,
    upstreamHost: o.upstreamHost,
    upstreamCluster: o.upstreamCluster,
    xForwardedFor: o.xForwardedFor,
    userAgent: (req.headers['user-agent'] as string | undefined) ?? '-',
    requestId: o.requestId,
    authority: o.authority,
    listener: conn?.listener ?? '-',
    downstreamRemoteAddress: conn?.remote ?? '-',
    startMs: o.startTime,
    requestHeaders: req.headers,
    ...(o.responseHeaders !== undefined ? { responseHeaders: o.responseHeaders } : {}),
    ...(o.responseTrailers !== undefined ? { responseTrailers: o.responseTrailers } : {}),
    attempts: o.attempts ?? 0,
    ...(o.route !== undefined ? { route: o.route } : {}),
    downstreamLocalAddress: conn?.localAddress !== undefined ? hostPort(conn.localAddress, conn.localPort ?? 0) : '-',
    downstreamDirectRemoteAddress: conn !== undefined ? hostPort(conn.peerAddress, conn.peerPort ?? 0) : '-',
    ...(conn?.id !== undefined ? { connectionId: conn.id } : {}),
    ...(conn?.sni !== undefined ? { requestedServerName: conn.sni } : {}),
    ...(conn?.tlsVersion !== undefined ? { tlsVersion: conn.tlsVersion } : {}),
    ...(conn?.tlsCipher !== undefined ? { tlsCipher: conn.tlsCipher } : {}),
  };
}

/** Hands one record to the sink; a failing sink never breaks a request. */
export function writeAccessLog(sink: (e: AccessLogEntry) => void, req: DownstreamRequest, conn: ConnInfo | undefined, o: RequestOutcome): void {
  try {
    sink(accessLogEntry(req, conn, o));
  } catch {
    // The access log sink must never break a request.
  }
}
