// gRPC-Web as Envoy's grpc_web filter translates it (Contour puts the
// filter on every HTTP connection manager): a request whose content type is
// exactly application/grpc-web, application/grpc-web+proto,
// application/grpc-web-text or application/grpc-web-text+proto goes
// upstream as gRPC (application/grpc, te: trailers, grpc-accept-encoding,
// no Content-Length), a -text body decoded from base64. The response goes
// back as application/grpc-web+proto (application/grpc-web-text+proto when
// the client's Accept asks for text, each frame then in base64) with the
// trailers as a trailer frame at the end of the body; a trailers-only
// answer keeps grpc-status in its headers. An upstream answer that is not
// gRPC becomes grpc-status (from its HTTP status) and grpc-message (its
// body, up to 16 KiB) in headers, with no body. Everything else about the
// request is the exchange's, which calls in here only for requests this
// file's one content-type check picked.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ChunkedBase64Decoder, FrameBase64Encoder, percentEncodeGrpcMessage, trailerFrame } from './grpc-web-codec.ts';
import { grpcStatusFor } from './local-reply.ts';
import type { RequestHeaders } from './upstream-request.ts';

const REQUEST_TYPES: ReadonlySet<string> = new Set(['application/grpc-web', 'application/grpc-web+proto', 'application/grpc-web-text', 'application/grpc-web-text+proto']);
const TEXT_TYPES: ReadonlySet<string> = new Set(['application/grpc-web-text', 'application/grpc-web-text+proto']);
const PROTO = 'application/grpc-web+proto';
const TEXT_PROTO = 'application/grpc-web-text+proto';

/** Envoy's local reply when a -text body is not base64 (a 400, which the
 *  filter itself turns into grpc-status 13 with this grpc-message). */
export const INVALID_BASE64 = 'Bad gRPC-web request, invalid base64 data.';

/** How much of a non-gRPC answer's body becomes grpc-message (Envoy's
 *  MAX_BUFFERED_PLAINTEXT_LENGTH). */
const MAX_MESSAGE_BYTES = 16384;

/** The one check every request pays: Envoy compares the whole value. */
export function isGrpcWebRequest(contentType: string | string[] | undefined): contentType is string {
  return typeof contentType === 'string' && REQUEST_TYPES.has(contentType);
}

/** gRPC proper (Envoy's Grpc::Common::hasGrpcContentType): exactly
 *  application/grpc or application/grpc+something; gRPC-Web is not. */
export function isGrpcContentType(contentType: string | string[] | undefined): boolean {
  if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) return false;
  return contentType.length === 16 || contentType.charCodeAt(16) === 43; /* + */
}

function contentTypeOf(headers: RequestHeaders): string {
  const v = headers['content-type'];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** Envoy's isGrpcResponseHeaders (a trailers-only answer carries
 *  grpc-status; otherwise 200 and a gRPC content type) or an answer that is
 *  gRPC-Web already: such an answer is framed, not turned into headers. */
function isGrpcResponse(status: number, headers: RequestHeaders): boolean {
  if (headers['grpc-status'] !== undefined) return true;
  if (status !== 200) return false;
  const ct = contentTypeOf(headers);
  if (isGrpcContentType(ct)) return true;
  const media = ct.split(';')[0]!.trimEnd().toLowerCase();
  return media === PROTO || media === 'application/grpc-web';
}

/** What of a non-gRPC answer the client gets: the status stays; a body
 *  becomes grpc-status and grpc-message with Content-Length 0. An empty
 *  body only changes the content type (Envoy adds nothing to a response
 *  that ends with its headers). */
export function nonGrpcAnswerHeaders(status: number, body: Buffer, headers: RequestHeaders, contentType: string): RequestHeaders {
  const out: RequestHeaders = { ...headers, 'content-type': contentType };
  delete out['content-length'];
  if (body.length > 0) {
    out['grpc-status'] = String(grpcStatusFor(status));
    out['grpc-message'] = percentEncodeGrpcMessage(body.subarray(0, MAX_MESSAGE_BYTES));
    out['content-length'] = '0';
  }
  return out;
}

/** One gRPC-Web request's translation, both ways. */
export class GrpcWebCall {
  /** The request body is base64 (application/grpc-web-text[+proto]). */
  readonly textRequest: boolean;
  /** The client's Accept asks for a base64 answer. */
  readonly textResponse: boolean;
  /** Whether the request has a body, read before Content-Length went. */
  readonly hasBody: boolean;
  /** The content type of every answer to this request. */
  readonly contentType: string;
  /** The -text body was not base64: the exchange answers 400. */
  invalid = false;
  #encoder: FrameBase64Encoder | undefined;
  /** A non-gRPC answer, held until its body is in. */
  #held: { status: number; headers: RequestHeaders; body: Buffer[]; bytes: number } | undefined;

  /** Rewrites the request's headers for the upstream, as Envoy's
   *  decodeHeaders does; `contentType` is the checked value. */
  constructor(headers: RequestHeaders, contentType: string, hasBody: boolean) {
    this.textRequest = TEXT_TYPES.has(contentType);
    const accept = headers.accept;
    this.textResponse = typeof accept === 'string' && TEXT_TYPES.has(accept);
    this.contentType = this.textResponse ? TEXT_PROTO : PROTO;
    this.hasBody = hasBody;
    // Its length counts the HTTP/1.1 body, not the gRPC stream's (and a
    // -text body shrinks when decoded).
    delete headers['content-length'];
    headers['content-type'] = 'application/grpc';
    headers.te = 'trailers';
    if (headers['grpc-accept-encoding'] === undefined) headers['grpc-accept-encoding'] = 'identity,deflate,gzip';
  }

  /** The request body as the upstream gets it: decoded when it is text.
   *  A body that is not base64 calls `onInvalid` (after marking the call
   *  invalid) and stops; the rest of the client's body is read and dropped
   *  so an HTTP/1.1 connection stays usable for the 400. */
  upstreamBody(req: Readable, onInvalid: () => void): Readable {
    if (!this.textRequest) return req;
    const decoder = new ChunkedBase64Decoder();
    const call = this;
    const fail = (cb: TransformCallback): void => {
      call.invalid = true;
      req.unpipe(out);
      req.resume();
      onInvalid();
      cb(new Error(INVALID_BASE64));
    };
    const out = new Transform({
      transform(chunk: Buffer, _enc, cb): void {
        const bytes = decoder.push(chunk);
        if (bytes === undefined) return fail(cb);
        cb(null, bytes.length > 0 ? bytes : undefined);
      },
      flush(cb): void {
        if (!decoder.endsWhole()) return fail(cb);
        cb();
      },
    });
    // The exchange learns of a bad body through onInvalid; whoever reads
    // the stream (undici, an authorization filter) sees it end in error.
    out.on('error', () => {});
    req.pipe(out);
    return out;
  }

  /** The upstream's response head (Envoy's encodeHeaders): edits
   *  `headers` for the client; true when they must wait for the body (an
   *  answer that is not gRPC), which `data` then collects. */
  respond(status: number, headers: RequestHeaders): boolean {
    if (!isGrpcResponse(status, headers)) {
      this.#held = { status, headers, body: [], bytes: 0 };
      return true;
    }
    delete headers['content-length'];
    headers['content-type'] = this.contentType;
    if (this.textResponse) this.#encoder = new FrameBase64Encoder();
    return false;
  }

  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** What to send of an upstream body chunk (undefined: nothing now). */
  data(chunk: Buffer): Buffer | undefined {
    const held = this.#held;
    if (held !== undefined) {
      if (held.bytes < MAX_MESSAGE_BYTES) {
        held.body.push(chunk);
        held.bytes += chunk.length;
      }
      return undefined;
    }
    if (this.#encoder === undefined) return chunk;
    const text = this.#encoder.push(chunk);
    return text.length > 0 ? Buffer.from(text, 'latin1') : undefined;
  }

  /** The held answer's status and headers, once its body is in. */
  release(): { status: number; headers: RequestHeaders } {
    const held = this.#held!;
    this.#held = undefined;
    return { status: held.status, headers: nonGrpcAnswerHeaders(held.status, Buffer.concat(held.body), held.headers, this.contentType) };
  }

  /** The end of a framed answer: what is left of its last frame and the
   *  trailers as a trailer frame (base64 for text), undefined when there
   *  is neither (a trailers-only answer). */
  end(trailers: RequestHeaders | undefined): Buffer | undefined {
    let tail = this.#encoder?.end() ?? '';
    let hasTrailers = false;
    for (const _ in trailers) {
      hasTrailers = true;
      break;
    }
    if (!hasTrailers) return tail.length > 0 ? Buffer.from(tail, 'latin1') : undefined;
    const f = trailerFrame(trailers!);
    if (!this.textResponse) return f;
    tail += f.toString('base64');
    return Buffer.from(tail, 'latin1');
  }
}
