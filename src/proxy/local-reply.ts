// Responses the proxy writes itself, with Envoy's bodies and response flags.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

export type DownstreamResponse = ServerResponse<IncomingMessage> | Http2ServerResponse;

export const BODY_NO_HEALTHY = 'no healthy upstream';
export const BODY_TIMEOUT = 'upstream request timeout';
export const BODY_IDLE = 'stream timeout';
export const BODY_CONNECT_FAILURE = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
export const BODY_CONNECT_TIMEOUT = 'upstream connect error or disconnect/reset before headers. reset reason: connection timeout';
export const BODY_OVERFLOW = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';
export const BODY_RESET = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';

export function tlsFailureBody(detail: string): string {
  return `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS_error: ${detail}`;
}

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
