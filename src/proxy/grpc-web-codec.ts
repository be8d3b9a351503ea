// The byte formats of gRPC-Web (grpc/grpc doc/PROTOCOL-WEB.md) the proxy
// translates: base64 request bodies of application/grpc-web-text, which a
// client may pad at any flush (so padding ends a chunk, not the body),
// base64 responses encoded frame by frame as Envoy's grpc_web filter does
// (each gRPC frame its own padded base64), and the trailer frame (flag 0x80)
// that carries the gRPC status in the body. Pure and streaming: memory is
// bounded by a few bytes of carry, never by a message's size.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='
const DECODE = new Int8Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const EMPTY = Buffer.alloc(0);

/** The flag byte of a gRPC-Web trailer frame (uncompressed). */
export const TRAILER_FLAG = 0x80;

/** Decodes a base64 body that arrives in pieces, four characters at a
 *  time. Strict as Envoy's Base64::decode: only the standard alphabet, no
 *  white space, padding only as the last one or two characters of a
 *  quantum and with the unused bits zero; a padded quantum ends one chunk
 *  and the next quantum starts another. */
export class ChunkedBase64Decoder {
  #carry: Buffer = EMPTY;

  /** The bytes of the whole quanta received so far (what is carried over
   *  plus `chunk`); undefined when the text is not valid base64. */
  push(chunk: Buffer): Buffer | undefined {
    const input = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const whole = input.length - (input.length % 4);
    this.#carry = whole === input.length ? EMPTY : Buffer.from(input.subarray(whole));
    const out = Buffer.allocUnsafe((whole / 4) * 3);
    let n = 0;
    for (let i = 0; i < whole; i += 4) {
      const a = DECODE[input[i]!]!;
      const b = DECODE[input[i + 1]!]!;
      if (a < 0 || b < 0) return undefined;
      const c3 = input[i + 2]!;
      const c4 = input[i + 3]!;
      out[n++] = (a << 2) | (b >> 4);
      if (c4 === PAD) {
        if (c3 === PAD) {
          if ((b & 0x0f) !== 0) return undefined;
          continue;
        }
        const c = DECODE[c3]!;
        if (c < 0 || (c & 0x03) !== 0) return undefined;
        out[n++] = ((b & 0x0f) << 4) | (c >> 2);
        continue;
      }
      const c = DECODE[c3]!;
      const d = DECODE[c4]!;
      if (c < 0 || d < 0) return undefined;
      out[n++] = ((b & 0x0f) << 4) | (c >> 2);
      out[n++] = ((c & 0x03) << 6) | d;
    }
    return out.subarray(0, n);
  }

  /** Whether the body ended on a whole quantum (padding is mandatory). */
  endsWhole(): boolean {
    return this.#carry.length === 0;
  }
}

/** Base64 of a stream of gRPC frames, each frame padded on its own, as
 *  Envoy's grpc_web filter encodes them for -text clients; the bytes of a
 *  frame are encoded three at a time as they arrive, so the output is
 *  Envoy's byte for byte without holding a whole message. */
export class FrameBase64Encoder {
  readonly #header = Buffer.alloc(5);
  #headerGot = 0;
  /** Payload bytes of the current frame still to come. */
  #left = 0;
  /** Bytes of the current frame not yet encoded (fewer than three). */
  #carry: Buffer = EMPTY;

  push(chunk: Buffer): string {
    let out = '';
    let pending: Buffer[] = this.#carry.length === 0 ? [] : [this.#carry];
    let i = 0;
    while (i < chunk.length) {
      if (this.#headerGot < 5) {
        const take = Math.min(5 - this.#headerGot, chunk.length - i);
        chunk.copy(this.#header, this.#headerGot, i, i + take);
        pending.push(chunk.subarray(i, i + take));
        this.#headerGot += take;
        i += take;
        if (this.#headerGot < 5) break;
        this.#left = this.#header.readUInt32BE(1);
      } else {
        const take = Math.min(this.#left, chunk.length - i);
        pending.push(chunk.subarray(i, i + take));
        this.#left -= take;
        i += take;
      }
      if (this.#left === 0) {
        out += Buffer.concat(pending).toString('base64');
        pending = [];
        this.#headerGot = 0;
      }
    }
    const rest = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const whole = rest.length - (rest.length % 3);
    if (whole > 0) out += rest.subarray(0, whole).toString('base64');
    this.#carry = whole === rest.length ? EMPTY : Buffer.from(rest.subarray(whole));
    return out;
  }

  /** The rest of a frame the body ended in the middle of, padded. */
  end(): string {
    const s = this.#carry.toString('base64');
    this.#carry = EMPTY;
    this.#headerGot = 0;
    this.#left = 0;
    return s;
  }
}

/** One gRPC frame: the flag byte, the length (big-endian) and the payload. */
export function frame(flag: number, payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The trailer frame: the trailers as an HTTP/1 header block without its
 *  closing empty line ("name:value\r\n" each, as Envoy writes them). */
export function trailerFrame(trailers: Readonly<Record<string, string | string[] | undefined>>): Buffer {
  let block = '';
  for (const name in trailers) {
    const v = trailers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') block += `${name}:${v}\r\n`;
    else for (const x of v) block += `${name}:${x}\r\n`;
  }
  return frame(TRAILER_FLAG, Buffer.from(block, 'latin1'));
}

/** grpc-message as Envoy percent-encodes it: bytes below space, from '~'
 *  up, and '%' itself. */
export function percentEncodeGrpcMessage(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    if (b < 0x20 || b >= 0x7e || b === 0x25) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}
