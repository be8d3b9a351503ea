// Reads the ALPN offer and signature algorithms out of a TLS ClientHello
// without consuming it: the bytes go back to the socket (unshift) for the TLS
// layer to read. Anything that is not a well-formed ClientHello yields "not
// offered" and is left for OpenSSL to refuse.

import type { Socket } from 'node:net';

const MAX_HELLO = 64 * 1024;

export interface ClientHelloInfo {
  /** ALPN protocols offered, in the client's order. */
  alpn?: string[];
  /** signature_algorithms (TLS SignatureScheme codes). */
  sigalgs?: number[];
}

export type HelloParse = { kind: 'incomplete' } | { kind: 'done'; alpn: string[] | undefined };
export type ClientHelloParse = { kind: 'incomplete' } | { kind: 'done'; hello: ClientHelloInfo };

/** The ALPN part of parseClientHello. */
export function parseClientHelloAlpn(buf: Buffer): HelloParse {
  const r = parseClientHello(buf);
  return r.kind === 'incomplete' ? r : { kind: 'done', alpn: r.hello.alpn };
}

/** Parses the ClientHello from the start of a TLS byte stream. */
export function parseClientHello(buf: Buffer): ClientHelloParse {
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
    if (need >= 0 && all.length >= need) return done(extensionsOf(all.subarray(4, need)));
  }
}

function done(hello: ClientHelloInfo = {}): ClientHelloParse {
  return { kind: 'done', hello };
}

function extensionsOf(b: Buffer): ClientHelloInfo {
  const info: ClientHelloInfo = {};
  try {
    let p = 2 + 32; // client_version, random
    p += 1 + b[p]; // session_id
    p += 2 + b.readUInt16BE(p); // cipher_suites
    p += 1 + b[p]; // compression_methods
    if (p + 2 > b.length) return info;
    const extEnd = p + 2 + b.readUInt16BE(p);
    p += 2;
    if (extEnd > b.length) return info;
    while (p + 4 <= extEnd) {
      const type = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      const body = p + 4;
      if (body + len > extEnd) return {};
      if (type === 16) info.alpn = alpnList(b, body, len);
      else if (type === 13) info.sigalgs = sigalgList(b, body, len);
      p = body + len;
    }
    return info;
  } catch {
    return {};
  }
}

function alpnList(b: Buffer, body: number, len: number): string[] | undefined {
  if (len < 2 || 2 + b.readUInt16BE(body) !== len) return undefined;
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

function sigalgList(b: Buffer, body: number, len: number): number[] | undefined {
  if (len < 2) return undefined;
  const n = b.readUInt16BE(body);
  if (n % 2 !== 0 || 2 + n !== len) return undefined;
  const out: number[] = [];
  for (let q = body + 2; q < body + len; q += 2) out.push(b.readUInt16BE(q));
  return out;
}

/** Waits for the whole ClientHello, puts the bytes back, and resolves with
 *  what the client offered (fields absent: not offered or not parseable).
 *  Rejects when the peer closes first or the timeout passes. */
export function readClientHello(socket: Socket, timeoutMs: number): Promise<ClientHelloInfo> {
  return new Promise((resolve, reject) => {
    let acc: Buffer = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => finish(new Error('no ClientHello in time')), timeoutMs);
    timer.unref();
    const finish = (err: Error | null, hello: ClientHelloInfo = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err);
      else {
        if (acc.length > 0) socket.unshift(acc);
        resolve(hello);
      }
    };
    const onEnd = () => finish(new Error('closed before the ClientHello'));
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
        const r = parseClientHello(acc);
        if (r.kind === 'done') {
          finish(null, r.hello);
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
