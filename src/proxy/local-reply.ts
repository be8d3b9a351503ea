// Responses the proxy writes itself (redirects, direct responses and the
// failure table's answers): plain HTTP, or for gRPC clients a trailers-only
// gRPC response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { H1Response } from './h1-response.ts';

export type DownstreamResponse = ServerResponse<IncomingMessage> | Http2ServerResponse | H1Response;

/** Ends a response that cannot be completed so the client sees it cut
 *  short. HTTP/1.1 loses the connection (no last chunk, short of any
 *  Content-Length). An HTTP/2 stream is reset with INTERNAL_ERROR, as
 *  Envoy resets it: destroy() without an error sends RST_STREAM NO_ERROR,
 *  which after a response has started reads as a complete body. With an
 *  error node:http2 sends INTERNAL_ERROR, and the stream is destroyed
 *  before it closes, so the HTTP/2 guard does not count the reset as the
 *  client's. */
export function abortResponse(res: DownstreamResponse): void {
  if ('stream' in res) res.stream.destroy(new ResponseAborted());
  else res.destroy();
}

class ResponseAborted extends Error {
  constructor() {
    super('response cut short');
  }
}

/** Writes a complete local response; returns the body length. */
export function sendLocal(
  res: DownstreamResponse,
  status: number,
  body: string,
  headers?: Record<string, string | string[] | undefined>,
): number {
  if (res.headersSent) {
    abortResponse(res);
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

/** gRPC clients get local replies as a trailers-only gRPC response (as
 *  Envoy), with the reply's own headers (x-envoy-ratelimited, CORS, ...);
 *  gRPC-Web clients get them with their content type. */
export function sendGrpcLocal(
  res: DownstreamResponse,
  status: number,
  body: string,
  grpcStatus = grpcStatusFor(status),
  headers?: Record<string, string | string[] | undefined>,
  contentType = 'application/grpc',
): void {
  if (res.headersSent) {
    abortResponse(res);
    return;
  }
  const h: Record<string, string | string[] | undefined> = { ...headers, 'content-type': contentType, 'grpc-status': String(grpcStatus) };
  delete h['content-length'];
  delete h['grpc-message'];
  if (body) h['grpc-message'] = encodeURIComponent(body);
  (res as ServerResponse).writeHead(200, h as Record<string, string | string[]>);
  res.end();
}
