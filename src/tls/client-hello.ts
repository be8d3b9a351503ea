// Reads a TLS ClientHello from the start of a byte stream without consuming
// it: the server name (SNI), the ALPN offer and the signature algorithms.
// The proxy picks a virtual host by SNI before any handshake (Envoy's
// tls_inspector); the balancer answers ALPN by policy and picks among
// certificates by key type. Never throws: bad bytes are "invalid".

export interface ClientHello {
  /** host_name from server_name, lower-cased, trailing dot removed. */
  serverName?: string;
  /** ALPN protocols offered, in the client's order (absent: not offered or malformed). */
  alpn?: string[];
  /** signature_algorithms as TLS SignatureScheme codes (absent: not offered or malformed). */
  sigalgs?: number[];
  /** Why server_name was unusable, when it was: a proxy that routes by SNI
   *  refuses such a hello; a load balancer leaves it to the TLS library. */
  serverNameProblem?: string;
}

export type ClientHelloRead =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'hello'; hello: ClientHello };

/** A ClientHello larger than this is refused (records may fragment it). */
export const DEFAULT_MAX_CLIENT_HELLO = 64 * 1024;

const INCOMPLETE: ClientHelloRead = { kind: 'incomplete' };

/** Parses the handshake records at the start of `buf`. */
export function readClientHello(buf: Buffer, maxBytes = DEFAULT_MAX_CLIENT_HELLO): ClientHelloRead {
  // Reassemble the handshake message from one or more records.
  let offset = 0;
  const fragments: Buffer[] = [];
  let have = 0;
  let need = -1;
  while (need < 0 || have < need) {
    if (buf.length < offset + 5) return buf.length >= maxBytes ? invalid('ClientHello too large') : INCOMPLETE;
    const type = buf[offset]!;
    if (type !== 22) return invalid(`first record is type ${type}, not a TLS handshake`);
    if (buf[offset + 1] !== 3) return invalid('unsupported record version');
    const len = buf.readUInt16BE(offset + 3);
    if (len === 0 || len > 16384 + 2048) return invalid('bad record length');
    if (buf.length < offset + 5 + len) return buf.length >= maxBytes ? invalid('ClientHello too large') : INCOMPLETE;
    const frag = buf.subarray(offset + 5, offset + 5 + len);
    fragments.push(frag);
    have += frag.length;
    offset += 5 + len;
    if (need < 0 && have >= 4) {
      const first = fragments.length === 1 ? frag : Buffer.concat(fragments);
      if (first[0] !== 1) return invalid('first handshake message is not a ClientHello');
      need = 4 + ((first[1]! << 16) | (first[2]! << 8) | first[3]!);
      if (need > maxBytes) return invalid('ClientHello too large');
    }
  }
  const msg = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
  try {
    return parseBody(msg.subarray(4, need));
  } catch {
    return invalid('malformed ClientHello');
  }
}

function invalid(reason: string): ClientHelloRead {
  return { kind: 'invalid', reason };
}

function parseBody(b: Buffer): ClientHelloRead {
  let p = 2 + 32; // client_version, random
  p += 1 + b.readUInt8(p); // session_id
  p += 2 + b.readUInt16BE(p); // cipher_suites
  p += 1 + b.readUInt8(p); // compression_methods
  const hello: ClientHello = {};
  if (p === b.length) return { kind: 'hello', hello };
  const extEnd = p + 2 + b.readUInt16BE(p);
  if (extEnd > b.length) return invalid('extensions overrun the ClientHello');
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const start = p + 4;
    const end = start + len;
    if (end > extEnd) return invalid('extension overruns the ClientHello');
    if (type === 0) {
      const sni = serverName(b, start, end);
      if ('problem' in sni) hello.serverNameProblem = sni.problem;
      else if (sni.name !== undefined) hello.serverName = sni.name;
    } else if (type === 16) {
      hello.alpn = alpnList(b, start, len);
    } else if (type === 13) {
      hello.sigalgs = sigalgList(b, start, len);
    }
    p = end;
  }
  return { kind: 'hello', hello };
}

/** server_name: a list of (type, name); only host_name (0) is defined. */
function serverName(b: Buffer, start: number, end: number): { name?: string } | { problem: string } {
  let q = start + 2;
  const listEnd = Math.min(end, q + b.readUInt16BE(start));
  let name: string | undefined;
  while (q + 3 <= listEnd) {
    const nameType = b[q]!;
    const nameLen = b.readUInt16BE(q + 1);
    if (q + 3 + nameLen > listEnd) return { problem: 'server_name overruns its extension' };
    if (nameType === 0 && name === undefined) {
      name = b.toString('latin1', q + 3, q + 3 + nameLen).toLowerCase();
      if (!/^[a-z0-9.*_-]{1,253}$/.test(name)) return { problem: 'server_name is not a host name' };
      if (name.endsWith('.')) name = name.slice(0, -1);
    }
    q += 3 + nameLen;
  }
  return { name };
}

/** RFC 7301 protocol_name_list; undefined when malformed (empty names included). */
function alpnList(b: Buffer, body: number, len: number): string[] | undefined {
  if (len < 2 || 2 + b.readUInt16BE(body) !== len) return undefined;
  const out: string[] = [];
  let q = body + 2;
  while (q < body + len) {
    const n = b[q]!;
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
