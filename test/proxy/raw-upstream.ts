// An upstream that records exactly what reaches it: every byte per
// connection, and each request it parsed out of them whole (request line,
// field lines in order, decoded body). It answers each request with 200 and
// a body naming it, after an optional per-request delay, one at a time per
// connection as HTTP/1.1 requires. Its parser is strict and small: the proxy
// under test only ever sends it well-formed requests, so anything it cannot
// read is recorded as a protocol error.
import net from 'node:net';

export interface UpstreamRequest {
  method: string;
  target: string;
  version: string;
  /** Field lines in the order received, names lower-cased. */
  fields: [string, string][];
  body: string;
  /** Which upstream connection carried it (0, 1, ...). */
  connection: number;
  /** Order of arrival over all connections. */
  seq: number;
  /** performance.now() when it had arrived whole, and when it was answered. */
  at: number;
  answeredAt?: number;
}

export interface RawUpstream {
  port: number;
  requests: UpstreamRequest[];
  /** Bytes received, per connection. */
  bytes: Buffer[];
  /** Bytes the parser could not read. */
  errors: string[];
  field(r: UpstreamRequest, name: string): string[];
  reset(): void;
  close(): Promise<void>;
}

export interface RawUpstreamOptions {
  /** Milliseconds to wait before answering `r` (default 0). */
  delay?: (r: UpstreamRequest) => number;
}

export async function rawUpstream(o: RawUpstreamOptions = {}): Promise<RawUpstream> {
  const requests: UpstreamRequest[] = [];
  const bytes: Buffer[] = [];
  const errors: string[] = [];
  const sockets = new Set<net.Socket>();
  let seq = 0;
  const server = net.createServer((socket) => {
    const id = bytes.length;
    bytes.push(Buffer.alloc(0));
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    let answering = Promise.resolve();
    socket.on('data', (d: Buffer) => {
      bytes[id] = Buffer.concat([bytes[id]!, d]);
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const parsed = parseRequest(buf);
        if (parsed === 'incomplete') return;
        if (typeof parsed === 'string') {
          errors.push(parsed);
          socket.destroy();
          return;
        }
        buf = buf.subarray(parsed.length);
        const r: UpstreamRequest = { ...parsed.request, connection: id, seq: seq++, at: performance.now() };
        requests.push(r);
        const wait = o.delay?.(r) ?? 0;
        answering = answering.then(
          () =>
            new Promise<void>((resolve) => {
              setTimeout(() => {
                const body = `ok ${r.method} ${r.target}`;
                r.answeredAt = performance.now();
                if (!socket.destroyed) socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\n\r\n${body}`);
                resolve();
              }, wait);
            }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests,
    bytes,
    errors,
    field: (r, name) => r.fields.filter(([n]) => n === name).map(([, v]) => v),
    reset() {
      requests.length = 0;
      errors.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type Parsed = { request: Omit<UpstreamRequest, 'connection' | 'seq' | 'at' | 'answeredAt'>; length: number };

function parseRequest(buf: Buffer): Parsed | 'incomplete' | string {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > 256 * 1024 ? 'head too large' : 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]!);
  if (!m) return `bad request line ${JSON.stringify(lines[0])}`;
  const fields: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c <= 0 || /[\s]/.test(line.slice(0, c))) return `bad field line ${JSON.stringify(line)}`;
    fields.push([line.slice(0, c).toLowerCase(), line.slice(c + 1).trim()]);
  }
  const te = fields.find(([n]) => n === 'transfer-encoding')?.[1];
  const cl = fields.find(([n]) => n === 'content-length')?.[1];
  let at = end + 4;
  let body: Buffer = Buffer.alloc(0);
  if (te !== undefined) {
    if (te.toLowerCase() !== 'chunked') return `transfer-encoding ${te}`;
    const parts: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return 'incomplete';
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (!Number.isFinite(size)) return 'bad chunk size';
      if (size === 0) {
        // No trailers from the proxy under test: the last chunk ends the body.
        if (buf.length < eol + 4) return 'incomplete';
        at = eol + 4;
        break;
      }
      if (buf.length < eol + 2 + size + 2) return 'incomplete';
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (cl !== undefined) {
    const n = Number(cl);
    if (!Number.isInteger(n) || n < 0) return `content-length ${cl}`;
    if (buf.length < at + n) return 'incomplete';
    body = buf.subarray(at, at + n);
    at += n;
  }
  return { request: { method: m[1]!, target: m[2]!, version: m[3]!, fields, body: body.toString('latin1') }, length: at };
}
