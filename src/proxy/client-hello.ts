// Reads the server name (SNI) and ALPN list out of a TLS ClientHello without
// consuming it, so a listener can pick passthrough or a per-vhost TLS
// context before any handshake starts (Envoy's tls_inspector).

export type ClientHelloResult =
  | { kind: 'incomplete' }
  | { kind: 'hello'; serverName?: string; alpn: string[] }
  | { kind: 'invalid'; reason: string };

/** Largest ClientHello we wait for (records may fragment it). */
export const MAX_CLIENT_HELLO = 16 * 1024 + 5 * 4;

const INCOMPLETE: ClientHelloResult = { kind: 'incomplete' };

/** Parses the handshake records at the start of `buf`. */
export function parseClientHello(buf: Buffer): ClientHelloResult {
  // Reassemble the handshake message from one or more records.
  let offset = 0;
  const fragments: Buffer[] = [];
  let have = 0;
  let need = -1;
  while (need < 0 || have < need) {
    if (buf.length < offset + 5) return buf.length >= MAX_CLIENT_HELLO ? invalid('ClientHello too large') : INCOMPLETE;
    const type = buf[offset]!;
    if (type !== 22) return invalid(`first record is type ${type}, not a TLS handshake`);
    if (buf[offset + 1] !== 3) return invalid('unsupported record version');
    const len = buf.readUInt16BE(offset + 3);
    if (len === 0 || len > 16384 + 2048) return invalid('bad record length');
    if (buf.length < offset + 5 + len) return buf.length >= MAX_CLIENT_HELLO ? invalid('ClientHello too large') : INCOMPLETE;
    const frag = buf.subarray(offset + 5, offset + 5 + len);
    fragments.push(frag);
    have += frag.length;
    offset += 5 + len;
    if (need < 0 && have >= 4) {
      const first = fragments.length === 1 ? frag : Buffer.concat(fragments);
      if (first[0] !== 1) return invalid('first handshake message is not a ClientHello');
      need = 4 + ((first[1]! << 16) | (first[2]! << 8) | first[3]!);
      if (need > MAX_CLIENT_HELLO) return invalid('ClientHello too large');
    }
  }
  const msg = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
  try {
    return parseBody(msg.subarray(4, need));
  } catch {
    return invalid('malformed ClientHello');
  }
}

function invalid(reason: string): ClientHelloResult {
  return { kind: 'invalid', reason };
}

function parseBody(b: Buffer): ClientHelloResult {
  let p = 2 + 32; // client_version, random
  p += 1 + b.readUInt8(p); // session_id
  p += 2 + b.readUInt16BE(p); // cipher_suites
  p += 1 + b.readUInt8(p); // compression_methods
  const alpn: string[] = [];
  let serverName: string | undefined;
  if (p === b.length) return { kind: 'hello', alpn };
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
      // server_name: list of (type, name); only host_name (0) is defined.
      let q = start + 2;
      const listEnd = Math.min(end, q + b.readUInt16BE(start));
      while (q + 3 <= listEnd) {
        const nameType = b[q]!;
        const nameLen = b.readUInt16BE(q + 1);
        if (q + 3 + nameLen > listEnd) return invalid('server_name overruns its extension');
        if (nameType === 0 && serverName === undefined) {
          serverName = b.toString('latin1', q + 3, q + 3 + nameLen).toLowerCase();
          if (!/^[a-z0-9.*_-]{1,253}$/.test(serverName)) return invalid('server_name is not a host name');
          if (serverName.endsWith('.')) serverName = serverName.slice(0, -1);
        }
        q += 3 + nameLen;
      }
    } else if (type === 16) {
      let q = start + 2;
      const listEnd = Math.min(end, q + b.readUInt16BE(start));
      while (q + 1 <= listEnd) {
        const l = b[q]!;
        if (q + 1 + l > listEnd) return invalid('ALPN overruns its extension');
        alpn.push(b.toString('latin1', q + 1, q + 1 + l));
        q += 1 + l;
      }
    }
    p = end;
  }
  return serverName === undefined ? { kind: 'hello', alpn } : { kind: 'hello', serverName, alpn };
}
