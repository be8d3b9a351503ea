// A socket whose first bytes were already read (to tell HTTP/2 prior
// knowledge from HTTP/1.x) re-presented as a stream that yields those bytes
// first. Needed for HTTP/2: its session reads the socket's handle directly,
// so bytes put back with unshift() would be lost.
import { Duplex } from 'node:stream';
import type net from 'node:net';

export class PrefixedStream extends Duplex {
  private readonly sock: net.Socket;
  constructor(sock: net.Socket, first: Buffer) {
    super({ allowHalfOpen: false });
    this.sock = sock;
    if (first.length) this.push(first);
    sock.on('data', (d: Buffer) => {
      if (!this.push(d)) sock.pause();
    });
    sock.once('end', () => this.push(null));
    sock.once('close', () => this.destroy());
    sock.on('error', (e) => this.destroy(e));
    // The HTTP/2 session that reads this stream reports its own errors.
    this.on('error', () => {});
  }
  override _read(): void {
    this.sock.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sock.write(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.sock.end();
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.sock.destroy();
    cb(err);
  }
  get remoteAddress(): string | undefined {
    return this.sock.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.sock.remotePort;
  }
}
