// One raw HTTP/1.1 connection for tests that watch the connection itself
// (when it closes, what each response on it says): requests written as
// given, responses (Content-Length or chunked) read one at a time.
import net from 'node:net';
import { waitFor } from './wait.ts';

/** One raw HTTP/1.1 connection: requests written as given, responses read one by one. */
export class RawHttp1 {
  readonly sock: net.Socket;
  private buf = Buffer.alloc(0);
  closed = false;
  closedAt = 0;
  /** Host of the requests send() writes. */
  host = 'limits.test';
  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => (this.buf = Buffer.concat([this.buf, d])));
    sock.on('close', () => {
      this.closed = true;
      this.closedAt = performance.now();
    });
    sock.on('error', () => {});
  }
  static open(port: number, from?: string, allowHalfOpen = false): Promise<RawHttp1> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen, ...(from ? { localAddress: from } : {}) });
      s.once('connect', () => resolve(new RawHttp1(s)));
      s.once('error', reject);
    });
  }
  send(path = '/', headers: Record<string, string> = {}): void {
    const lines = Object.entries({ host: this.host, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    this.sock.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
  }
  /** The next whole response (headers lower-cased), or undefined if the connection closed first. */
  async response(timeoutMs = 5000): Promise<{ status: number; headers: Record<string, string>; body: string } | undefined> {
    return waitFor(
      'a response',
      () => {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return this.closed ? { none: true as const } : undefined;
        const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const l of head.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
        const status = Number(head[0]!.split(' ')[1]);
        if (headers['transfer-encoding'] === 'chunked') {
          let at = end + 4;
          let body = '';
          for (;;) {
            const lineEnd = this.buf.indexOf('\r\n', at);
            if (lineEnd < 0) return this.closed ? { none: true as const } : undefined;
            const size = parseInt(this.buf.subarray(at, lineEnd).toString('latin1'), 16);
            if (this.buf.length < lineEnd + 2 + size + 2) return this.closed ? { none: true as const } : undefined;
            body += this.buf.subarray(lineEnd + 2, lineEnd + 2 + size).toString();
            at = lineEnd + 2 + size + 2;
            if (size === 0) break;
          }
          this.buf = this.buf.subarray(at);
          return { status, headers, body };
        }
        const len = Number(headers['content-length'] ?? 0);
        if (this.buf.length < end + 4 + len) return this.closed ? { none: true as const } : undefined;
        const body = this.buf.subarray(end + 4, end + 4 + len).toString();
        this.buf = this.buf.subarray(end + 4 + len);
        return { status, headers, body };
      },
      timeoutMs,
    ).then((r) => ('none' in r ? undefined : r));
  }
  close(): void {
    this.sock.destroy();
  }
}
