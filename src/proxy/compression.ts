// Response compression as Contour configures Envoy's compressor filter in
// its default filter chain (compression.algorithm: gzip by default, brotli,
// zstd or disabled), with Node's zlib. A response is compressible when it
// is not to a HEAD request, not 204 or 304 (nor 1xx), has none of its own
// Content-Encoding, no Cache-Control no-transform, a content type of
// Envoy's default list (with Contour's gRPC-Web additions) and, when its
// length is known, at least 30 bytes (Envoy's min_content_length). Such a
// response gets Vary: Accept-Encoding, and is compressed when the request's
// Accept-Encoding takes the algorithm: Content-Length goes (the length
// changes), a strong ETag becomes weak, as Envoy does.
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { RequestHeaders } from './upstream-request.ts';

export type CompressionAlgorithm = 'gzip' | 'brotli' | 'zstd' | 'disabled';

const CONTENT_TYPES = new Set([
  'text/html',
  'text/plain',
  'text/css',
  'application/javascript',
  'application/x-javascript',
  'text/javascript',
  'text/x-javascript',
  'text/ecmascript',
  'text/js',
  'text/jscript',
  'text/x-js',
  'application/ecmascript',
  'application/x-json',
  'application/xml',
  'application/json',
  'image/svg+xml',
  'text/xml',
  'application/xhtml+xml',
  'application/grpc-web',
  'application/grpc-web+proto',
  'application/grpc-web+json',
  'application/grpc-web+thrift',
  'application/grpc-web-text',
  'application/grpc-web-text+proto',
  'application/grpc-web-text+thrift',
]);

const MIN_CONTENT_LENGTH = 30;

/** The Content-Encoding token of each algorithm. */
const TOKEN: Readonly<Record<Exclude<CompressionAlgorithm, 'disabled'>, string>> = { gzip: 'gzip', brotli: 'br', zstd: 'zstd' };

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Whether an Accept-Encoding value takes `token` (RFC 9110 §12.5.3:
 *  q-values, "*", the token's own entry over "*"). */
export function acceptsEncoding(acceptEncoding: string | undefined, token: string): boolean {
  if (acceptEncoding === undefined) return false;
  let star: number | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().split(';');
    const coding = name!.trim().toLowerCase();
    if (coding === '') continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (coding === token) return q > 0;
    if (coding === '*') star = q;
  }
  return star !== undefined && star > 0;
}

// The last Content-Type looked up and its answer: an upstream answers with
// one type again and again, and the split, lowercasing and set lookup cost
// 1.4 % of a proxied request (bench/instructions.ts).
let lastContentType = '';
let lastListed = false;

/** Whether the media type of a Content-Type value is one Envoy compresses. */
function listedContentType(ct: string): boolean {
  if (ct === lastContentType) return lastListed;
  const listed = CONTENT_TYPES.has(ct.split(';')[0]!.trim().toLowerCase());
  lastContentType = ct;
  lastListed = listed;
  return listed;
}

/** Envoy's checks on the response (not the request's Accept-Encoding). */
export function compressibleResponse(method: string | undefined, status: number, headers: RequestHeaders): boolean {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return false;
  const ce = one(headers['content-encoding']);
  if (ce !== undefined && ce.trim() !== '') return false;
  const cc = one(headers['cache-control']);
  if (cc !== undefined && /(^|,)\s*no-transform\s*(,|$)/i.test(cc)) return false;
  const ct = one(headers['content-type']);
  if (ct === undefined || !listedContentType(ct)) return false;
  const cl = one(headers['content-length']);
  return cl === undefined || !(Number(cl) < MIN_CONTENT_LENGTH);
}

function addVary(headers: RequestHeaders): void {
  const v = one(headers['vary']);
  if (v === undefined || v.trim() === '') headers['vary'] = 'Accept-Encoding';
  else if (!v.split(',').some((x) => x.trim().toLowerCase() === 'accept-encoding' || x.trim() === '*')) headers['vary'] = `${v}, Accept-Encoding`;
}

function compressor(algorithm: Exclude<CompressionAlgorithm, 'disabled'>): Transform {
  // Flush what each chunk makes, so a streamed response is not held back.
  if (algorithm === 'gzip') return zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH });
  if (algorithm === 'brotli') return zlib.createBrotliCompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH });
  return zlib.createZstdCompress({ flush: zlib.constants.ZSTD_e_flush });
}

/** Decides for one response and edits its headers; the stream to write
 *  the body through when it is compressed. */
export function compressResponse(
  algorithm: CompressionAlgorithm,
  method: string | undefined,
  acceptEncoding: string | string[] | undefined,
  status: number,
  headers: RequestHeaders,
): Transform | undefined {
  if (algorithm === 'disabled' || !compressibleResponse(method, status, headers)) return undefined;
  addVary(headers);
  const token = TOKEN[algorithm];
  if (!acceptsEncoding(one(acceptEncoding), token)) return undefined;
  headers['content-encoding'] = token;
  delete headers['content-length'];
  const etag = one(headers['etag']);
  if (etag !== undefined && !etag.startsWith('W/')) headers['etag'] = `W/${etag}`;
  return compressor(algorithm);
}
