// Reads the ALPN offer out of a TLS ClientHello without consuming it: the
// bytes go back to the socket (unshift) for the TLS layer to read. Anything
// that is not a well-formed ClientHello yields "no ALPN offered" and is left
// for OpenSSL to refuse.

import type { Socket } from 'node:net';

const MAX_HELLO = 64 * 1024;

export type HelloParse = { kind: 'incomplete' } | { kind: 'done'; alpn: string[] | undefined };

/** Parses the ClientHello from the start of a TLS byte stream. */
export function parseClientHelloAlpn(buf: Buffer): HelloParse {
  // Reassemble handshake bytes across records.
  const hs: Buffer[] = [];
  let hsLen = 0;
  let off = 0;
  let need = -1;
  while (true) {
    if (buf.length < off + 5) return buf.length >= MAX_HELLO ? done() : { kind: 'incomplete' };
    if (buf[off] !== 0x16 || buf[off + 1] !== 0x03) return done();
    const recLen = buf.readUInt16BE(off + 3);
    if (recLen === 0 || recLen > 16384 + 2048) return done();
    if (buf.length < off + 5 + recLen) return buf.length >= MAX_HELLO ? done() : { kind: 'incomplete' };
    hs.push(buf.subarray(off + 5, off + 5 + recLen));
    hsLen += recLen;
    off += 5 + recLen;
    const all = Buffer.concat(hs, hsLen);
    if (need < 0 && all.length >= 4) {
      if (all[0] !== 0x01) return done();
      need = 4 + all.readUIntBE(1, 3);
      if (need > MAX_HELLO) return done();
    }
    if (need >= 0 && all.length >= need) return done(alpnFromHello(all.subarray(4, need)));
  }
}

function done(alpn?: string[]): HelloParse {
  return { kind: 'done', alpn };
}

function alpnFromHello(b: Buffer): string[] | undefined {
  try {
    let p = 2 + 32; // client_version, random
    p += 1 + b[p]; // session_id
    p += 2 + b.readUInt16BE(p); // cipher_suites
    p += 1 + b[p]; // compression_methods
    if (p + 2 > b.length) return undefined;
    const extEnd = p + 2 + b.readUInt16BE(p);
    p += 2;
    if (extEnd > b.length) return undefined;
    while (p + 4 <= extEnd) {
      const type = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      const body = p + 4;
      if (body + len > extEnd) return undefined;
      if (type === 16) {
        const listLen = b.readUInt16BE(body);
        if (2 + listLen !== len) return undefined;
        const out: string[] = [];
        let q = body + 2;
        while (q < body + len) {
          const n = b[q];
          if (n === 0 || q + 1 + n > body + len) return undefined;
          out.push(b.toString('latin1', q + 1, q + 1 + n));
          q += 1 + n;
        }
        return out;
      }
      p = body + len;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** Waits for the whole ClientHello, puts the bytes back, and resolves with
 *  the client's ALPN list (undefined: none offered or not parseable).
 *  Rejects when the peer closes first or the timeout passes. */
export function readClientHelloAlpn(socket: Socket, timeoutMs: number): Promise<string[] | undefined> {
  return new Promise((resolve, reject) => {
    let acc: Buffer = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => finish(new Error('no ClientHello in time')), timeoutMs);
    timer.unref();
    const finish = (err: Error | null, alpn?: string[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err);
      else {
        if (acc.length > 0) socket.unshift(acc);
        resolve(alpn);
      }
    };
    const onEnd = () => finish(new Error('closed before the ClientHello'));
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
        const r = parseClientHelloAlpn(acc);
        if (r.kind === 'done') {
          finish(null, r.alpn);
          return;
        }
      }
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    onReadable();
  });
}
