// A raw HTTP/2 client for hostile tests: it writes any frame, valid or not
// (node:http2 refuses to send most of what an attacker sends), over TLS with
// ALPN h2 or over plain TCP with prior knowledge, and records what comes back.
// Header blocks are HPACK literals without indexing, so names and values go
// on the wire exactly as given (uppercase, duplicated, in any order).
import net from 'node:net';
import tls from 'node:tls';

export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
/** RFC 9113 §7 error codes. */
export const ERR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 11 } as const;
export const SETTING = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5, MAX_HEADER_LIST_SIZE: 6 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
}

/** A header block of literals without indexing, new names (RFC 7541 §6.2.2). */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => [Buffer.from([0x00]), hpackString(n), hpackString(v)]));
}

export function headers(stream: number, fields: [string, string][], flags = FLAG.END_HEADERS | FLAG.END_STREAM): Buffer {
  return frame(FRAME.HEADERS, flags, stream, headerBlock(fields));
}

export function rstStream(stream: number, code: number = ERR.CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, p);
}

export function settings(values: [number, number][] = [], ack = false): Buffer {
  const p = Buffer.alloc(values.length * 6);
  values.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, ack ? FLAG.ACK : 0, 0, p);
}

export function ping(data = Buffer.alloc(8)): Buffer {
  return frame(FRAME.PING, 0, 0, data);
}

export function data(stream: number, body: Buffer, flags = 0): Buffer {
  return frame(FRAME.DATA, flags, stream, body);
}

/** A GET with every pseudo-header a request needs, plus `extra` fields. */
export function request(authority: string, path = '/', extra: [string, string][] = []): [string, string][] {
  return [[':method', 'GET'], [':scheme', 'https'], [':authority', authority], [':path', path], ...extra];
}

// HPACK Huffman codes of the ten digits (RFC 7541 Appendix B): enough to
// read a :status the server encoded as a Huffman literal.
const DIGIT_CODES: [number, number][] = [
  [0x0, 5], [0x1, 5], [0x2, 5], [0x19, 6], [0x1a, 6], [0x1b, 6], [0x1c, 6], [0x1d, 6], [0x1e, 6], [0x1f, 6],
];
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

function huffmanDigits(bytes: Buffer): string {
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  let i = 0;
  outer: while (i < bits.length) {
    for (let d = 0; d < 10; d++) {
      const [code, len] = DIGIT_CODES[d]!;
      if (i + len <= bits.length && parseInt(bits.slice(i, i + len), 2) === code) {
        out += String(d);
        i += len;
        continue outer;
      }
    }
    break; // EOS padding
  }
  return out;
}

/** The :status of a response header block, which servers send first. The
 *  client announces a zero-size dynamic table, so no dynamic references. */
export function responseStatus(block: Buffer): number | undefined {
  let i = 0;
  while (i < block.length && (block[i]! & 0xe0) === 0x20) i++; // table size updates
  const b = block[i];
  if (b === undefined) return undefined;
  if (b & 0x80) return STATIC_STATUS[b & 0x7f];
  // Literal with the name :status (static index 8), any of the three forms.
  const nameIndex = (b & 0x40) !== 0 ? b & 0x3f : b & 0x0f;
  if (nameIndex !== 8) return undefined;
  const len = block[i + 1]! & 0x7f;
  const huff = (block[i + 1]! & 0x80) !== 0;
  const value = block.subarray(i + 2, i + 2 + len);
  return Number(huff ? huffmanDigits(value) : value.toString('latin1'));
}

export interface WireOptions {
  port: number;
  /** TLS with ALPN h2 when set; else plain TCP (h2c prior knowledge). */
  tls?: { servername: string; ca: string };
  /** Sent after the preface, with a zero-size header table always added. */
  settings?: [number, number][];
  /** Acknowledge the server's SETTINGS (default true). */
  ackSettings?: boolean;
  /** A TCP connection opened earlier (the server has seen no byte on it). */
  socket?: net.Socket;
}

/** One raw HTTP/2 connection. Frames received are kept, except PING and
 *  SETTINGS acknowledgements, which are only counted (floods answer each). */
export class H2Wire {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly counts = new Map<number, number>();
  /** Bytes the server sent. */
  received = 0;
  closed = false;
  /** The server's SETTINGS arrived and were acknowledged. */
  settingsAcked = false;
  readonly closedAt: Promise<void>;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private readonly ackSettings: boolean;

  private constructor(socket: net.Socket, ackSettings: boolean) {
    this.socket = socket;
    this.ackSettings = ackSettings;
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => this.onData(d));
    this.closedAt = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static async connect(o: WireOptions): Promise<H2Wire> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      if (o.socket !== undefined && !o.tls) return resolve(o.socket);
      const at = o.socket !== undefined ? { socket: o.socket } : { host: '127.0.0.1', port: o.port };
      const s = o.tls
        ? tls.connect({ ...at, servername: o.tls.servername, ca: o.tls.ca, ALPNProtocols: ['h2'] }, () => {
            if ((s as tls.TLSSocket).alpnProtocol !== 'h2') reject(new Error(`ALPN chose ${String((s as tls.TLSSocket).alpnProtocol)}`));
            else resolve(s);
          })
        : net.connect(o.port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const wire = new H2Wire(socket, o.ackSettings ?? true);
    wire.send(PREFACE, settings([[SETTING.HEADER_TABLE_SIZE, 0], ...(o.settings ?? [])]));
    return wire;
  }

  /** Writes bytes; resolves once the socket has taken them (or closed). */
  send(...chunks: Buffer[]): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(Buffer.concat(chunks), () => resolve()));
  }

  private onData(d: Buffer): void {
    this.received += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: Frame = { type: this.buf[3]!, flags: this.buf[4]!, stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.buf.subarray(9, 9 + len)) };
      this.buf = this.buf.subarray(9 + len);
      this.counts.set(f.type, (this.counts.get(f.type) ?? 0) + 1);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK) && this.ackSettings) {
        this.socket.write(settings([], true));
        this.settingsAcked = true;
      }
      if (f.type === FRAME.PING || f.type === FRAME.SETTINGS) continue;
      this.frames.push(f);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first received frame that matches, or undefined on
   *  close or after `timeoutMs`. */
  async waitFor(match: (f: Frame) => boolean, timeoutMs: number): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found || this.closed || Date.now() >= deadline) return found;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** What the server said about a stream: its response status or its reset code. */
  async outcome(stream: number, timeoutMs: number): Promise<{ status?: number; reset?: number; goaway?: number } | undefined> {
    const f = await this.waitFor((x) => x.stream === stream && (x.type === FRAME.HEADERS || x.type === FRAME.RST_STREAM), timeoutMs);
    if (f?.type === FRAME.HEADERS) {
      const status = responseStatus(f.payload);
      return status === undefined ? {} : { status };
    }
    if (f?.type === FRAME.RST_STREAM) return { reset: f.payload.readUInt32BE(0) };
    const g = this.goaway();
    return g ? { goaway: g.code } : undefined;
  }

  /** The last GOAWAY received: its error code and last stream id. */
  goaway(): { code: number; lastStream: number } | undefined {
    const g = this.frames.findLast((f) => f.type === FRAME.GOAWAY);
    return g ? { lastStream: g.payload.readUInt32BE(0) & 0x7fffffff, code: g.payload.readUInt32BE(4) } : undefined;
  }

  /** Resolves once the server's SETTINGS are acknowledged (its limits apply). */
  async waitSettings(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.settingsAcked && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return this.settingsAcked;
  }

  async waitGoaway(timeoutMs: number): Promise<{ code: number; lastStream: number } | undefined> {
    await this.waitFor((f) => f.type === FRAME.GOAWAY, timeoutMs);
    return this.goaway();
  }

  /** Resolves true once the server has closed the connection. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.closedAt, new Promise((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
