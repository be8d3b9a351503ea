// A gRPC-Web client for the tests, written from the protocol
// (grpc/grpc doc/PROTOCOL-WEB.md) and not from the proxy's code: frames a
// request, sends it over HTTP/1.1 or on an HTTP/2 session, and reads the
// answer's frames and trailer frame back (from base64 one quantum at a
// time, so padding anywhere is read as the protocol allows).
import http from 'node:http';
import type http2 from 'node:http2';

export type Headers = Record<string, string | string[] | undefined>;

export interface GrpcWebAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
  /** HTTP trailers (gRPC-Web carries its trailers in the body instead). */
  trailers: Headers;
}

export interface GrpcWebRequest {
  port: number;
  host: string;
  path: string;
  /** The body as written, piece by piece. */
  chunks: Buffer[];
  contentType: string;
  accept?: string;
  headers?: Record<string, string>;
  /** Send Content-Length (HTTP/1.1; otherwise the body is chunked). */
  contentLength?: boolean;
  /** Over HTTP/2 on this session instead of a fresh HTTP/1.1 connection. */
  session?: http2.ClientHttp2Session;
  agent?: http.Agent;
}

/** A data frame: flag 0, the length big-endian, the message. */
export function dataFrame(message: Buffer | string): Buffer {
  const m = Buffer.from(message);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(m.length, 1);
  return Buffer.concat([head, m]);
}

export function toText(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('base64'));
}

/** Base64 read one 4-character quantum at a time: each stands alone, so
 *  padding inside the body is no obstacle. */
export function fromText(text: Buffer): Buffer {
  const s = text.toString('latin1');
  if (s.length % 4 !== 0) throw new Error(`base64 body of ${s.length} characters`);
  const parts: Buffer[] = [];
  for (let i = 0; i < s.length; i += 4) parts.push(Buffer.from(s.slice(i, i + 4), 'base64'));
  return Buffer.concat(parts);
}

export interface Frames {
  messages: string[];
  /** The trailer frame's fields, undefined when there is none. */
  trailers: Record<string, string> | undefined;
  /** Frames after the trailer frame, or bytes of a cut frame. */
  junk: number;
}

export function parseFrames(body: Buffer): Frames {
  const out: Frames = { messages: [], trailers: undefined, junk: 0 };
  let i = 0;
  while (i < body.length) {
    if (out.trailers !== undefined || body.length - i < 5) {
      out.junk = body.length - i;
      break;
    }
    const flag = body[i]!;
    const len = body.readUInt32BE(i + 1);
    if (body.length - i - 5 < len) {
      out.junk = body.length - i;
      break;
    }
    const payload = body.subarray(i + 5, i + 5 + len);
    i += 5 + len;
    if ((flag & 0x80) === 0) {
      out.messages.push(payload.toString());
      continue;
    }
    out.trailers = {};
    for (const line of payload.toString('latin1').split('\r\n')) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      out.trailers[line.slice(0, colon)] = line.slice(colon + 1);
    }
  }
  return out;
}

function headersOf(r: GrpcWebRequest): Record<string, string> {
  const h: Record<string, string> = { 'content-type': r.contentType, 'x-grpc-web': '1', ...r.headers };
  if (r.accept !== undefined) h.accept = r.accept;
  return h;
}

export function grpcWebCall(r: GrpcWebRequest): Promise<GrpcWebAnswer> {
  return r.session ? overHttp2(r, r.session) : overHttp1(r);
}

function overHttp1(r: GrpcWebRequest): Promise<GrpcWebAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: r.host, ...headersOf(r) };
    if (r.contentLength) headers['content-length'] = String(r.chunks.reduce((n, c) => n + c.length, 0));
    // grpc-message may carry 16 KiB: more than node's default header limit.
    const req = http.request({ host: '127.0.0.1', port: r.port, method: 'POST', path: r.path, headers, agent: r.agent ?? false, maxHeaderSize: 65536 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), trailers: res.trailers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const c of r.chunks) req.write(c);
    req.end();
  });
}

function overHttp2(r: GrpcWebRequest, session: http2.ClientHttp2Session): Promise<GrpcWebAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': r.path, ':authority': r.host, ...headersOf(r) });
    let status = 0;
    let headers: Headers = {};
    let trailers: Headers = {};
    const parts: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = { ...h };
      delete headers[':status'];
    });
    req.on('trailers', (t) => (trailers = { ...t }));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ status, headers, body: Buffer.concat(parts), trailers }));
    req.on('error', reject);
    for (const c of r.chunks) req.write(c);
    req.end();
  });
}
