// Responses the proxy writes itself (redirects, direct responses and the
// failure table's answers): plain HTTP, or for gRPC clients a trailers-only
// gRPC response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

export type DownstreamResponse = ServerResponse<IncomingMessage> | Http2ServerResponse;

/** Writes a complete local response; returns the body length. */
export function sendLocal(
  res: DownstreamResponse,
  status: number,
  body: string,
  headers?: Record<string, string | string[] | undefined>,
): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const len = Buffer.byteLength(body);
  const h: Record<string, string | string[] | undefined> = headers ? { ...headers } : {};
  if (len > 0 && h['content-type'] === undefined) h['content-type'] = 'text/plain';
  h['content-length'] = String(len);
  (res as ServerResponse).writeHead(status, h as Record<string, string | string[]>);
  if (len > 0) res.end(body);
  else res.end();
  return len;
}

/** Envoy's mapping of a local reply's HTTP status to a gRPC status. */
export function grpcStatusFor(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** gRPC clients get local replies as a trailers-only gRPC response (as Envoy). */
export function sendGrpcLocal(res: DownstreamResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const h: Record<string, string> = { 'content-type': 'application/grpc', 'grpc-status': String(grpcStatusFor(status)) };
  if (body) h['grpc-message'] = encodeURIComponent(body);
  (res as ServerResponse).writeHead(200, h);
  res.end();
}
