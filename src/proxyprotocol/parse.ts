// Strict PROXY protocol parser (v1 text and v2 binary). Works on whatever
// prefix of the stream has arrived: answers "incomplete" until it can decide,
// and throws ProxyProtocolError as soon as the bytes cannot become a header.

import { isIPv4, isIPv6 } from 'node:net';
import { bytesToIpv4, bytesToIpv6 } from './address.ts';
import { crc32c } from './crc32c.ts';
import {
  DEFAULT_MAX_LENGTH,
  PP2_CLIENT,
  PP2_SUBTYPE_AWS_VPCE_ID,
  PP2_TYPE,
  ProxyProtocolError,
  UNIQUE_ID_MAX,
  V1_MAX_LENGTH,
  V1_PREFIX,
  V2_SIGNATURE,
  type ProxyHeader,
  type ProxyTransport,
  type SslInfo,
  type Tlv,
} from './types.ts';

export type ParseResult = { kind: 'header'; header: ProxyHeader; length: number } | { kind: 'incomplete' };

export interface ParseOptions {
  /** Cap on a v2 header's total size in bytes (default 4096). v1 is always capped at 107. */
  maxLength?: number;
}

export function parseProxyHeader(buf: Buffer, opts: ParseOptions = {}): ParseResult {
  const maxLength = opts.maxLength ?? DEFAULT_MAX_LENGTH;
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] === V2_SIGNATURE[0]) {
    const n = Math.min(buf.length, V2_SIGNATURE.length);
    if (!buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n))) throw badSignature();
    if (buf.length < 16) return { kind: 'incomplete' };
    return parseV2(buf, maxLength);
  }
  if (buf[0] === V1_PREFIX[0]) {
    const n = Math.min(buf.length, V1_PREFIX.length);
    if (!buf.subarray(0, n).equals(V1_PREFIX.subarray(0, n))) throw badSignature();
    return parseV1(buf);
  }
  throw badSignature();
}

function badSignature(): ProxyProtocolError {
  return new ProxyProtocolError('INVALID_SIGNATURE', 'connection does not start with a PROXY protocol v1 or v2 signature');
}

// ---------------------------------------------------------------- v1

const PORT_RE = /^(0|[1-9][0-9]{0,4})$/;

function parseV1(buf: Buffer): ParseResult {
  // The CR may sit at index 105 at most, so that CRLF ends at byte 107.
  const limit = Math.min(buf.length, V1_MAX_LENGTH - 1);
  let end = -1;
  for (let i = 0; i < limit; i++) {
    const c = buf[i]!;
    if (c === 0x0d) {
      if (i + 1 >= buf.length) return { kind: 'incomplete' };
      if (buf[i + 1] !== 0x0a) throw new ProxyProtocolError('BAD_SYNTAX', 'v1 header has CR not followed by LF');
      end = i;
      break;
    }
    if (c === 0x0a) throw new ProxyProtocolError('BAD_SYNTAX', 'v1 header has a bare LF (expected CRLF)');
    // The line is US-ASCII text.
    if (c < 0x20 || c > 0x7e) throw new ProxyProtocolError('BAD_SYNTAX', `v1 header contains byte 0x${c.toString(16).padStart(2, '0')}`);
  }
  if (end < 0) {
    if (buf.length >= V1_MAX_LENGTH - 1) {
      throw new ProxyProtocolError('TOO_LONG', `v1 header has no CRLF within ${V1_MAX_LENGTH} bytes`);
    }
    return { kind: 'incomplete' };
  }
  const line = buf.toString('latin1', 0, end);
  const length = end + 2;
  const parts = line.split(' ');
  const proto = parts[1];
  if (proto === 'UNKNOWN') {
    // The receiver must ignore anything after UNKNOWN.
    return { kind: 'header', length, header: { version: 1, command: 'PROXY', transport: 'UNKNOWN', tlvs: [] } };
  }
  if (proto !== 'TCP4' && proto !== 'TCP6') {
    throw new ProxyProtocolError('BAD_FAMILY', `v1 protocol ${JSON.stringify(proto ?? '')} is not TCP4, TCP6 or UNKNOWN`);
  }
  if (parts.length !== 6) {
    throw new ProxyProtocolError('BAD_SYNTAX', `v1 ${proto} header needs exactly "PROXY ${proto} <src> <dst> <sport> <dport>" separated by single spaces`);
  }
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const valid = proto === 'TCP4' ? isIPv4 : (a: string) => isIPv6(a) && !a.includes('%');
  for (const a of [src, dst]) {
    if (!valid(a)) throw new ProxyProtocolError('BAD_ADDRESS', `v1 ${proto} address ${JSON.stringify(a)} is not a valid ${proto === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  }
  return {
    kind: 'header',
    length,
    header: {
      version: 1,
      command: 'PROXY',
      transport: proto,
      source: { address: src, port: v1Port(sport) },
      destination: { address: dst, port: v1Port(dport) },
      tlvs: [],
    },
  };
}

function v1Port(s: string): number {
  const n = PORT_RE.test(s) ? Number(s) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new ProxyProtocolError('BAD_PORT', `v1 port ${JSON.stringify(s)} is not a decimal 0-65535 without leading zeros`);
  return n;
}

// ---------------------------------------------------------------- v2

const FAMILIES: Record<number, { transport: ProxyTransport; size: number; datagram?: boolean }> = {
  0x00: { transport: 'UNKNOWN', size: 0 },
  0x11: { transport: 'TCP4', size: 12 },
  0x12: { transport: 'UDP4', size: 12 },
  0x21: { transport: 'TCP6', size: 36 },
  0x22: { transport: 'UDP6', size: 36 },
  0x31: { transport: 'UNIX', size: 216 },
  0x32: { transport: 'UNIX', size: 216, datagram: true },
};

function parseV2(buf: Buffer, maxLength: number): ParseResult {
  const verCmd = buf[12]!;
  const version = verCmd >> 4;
  const cmd = verCmd & 0x0f;
  if (version !== 2) throw new ProxyProtocolError('BAD_VERSION', `v2 header has version ${version} (expected 2)`);
  if (cmd !== 0 && cmd !== 1) throw new ProxyProtocolError('BAD_COMMAND', `v2 header has command ${cmd} (expected 0 LOCAL or 1 PROXY)`);
  const fam = buf[13]!;
  const bodyLength = buf.readUInt16BE(14);
  const total = 16 + bodyLength;
  if (total > maxLength) {
    throw new ProxyProtocolError('TOO_LONG', `v2 header of ${total} bytes exceeds the ${maxLength}-byte limit`);
  }
  const family = FAMILIES[fam];
  // LOCAL (health checks, the sender's own connections): the family is
  // ignored and the whole block skipped; NLB sends family 0x11 with no addresses.
  if (cmd === 0) {
    if (buf.length < total) return { kind: 'incomplete' };
    return { kind: 'header', length: total, header: { version: 2, command: 'LOCAL', transport: family?.transport ?? 'UNKNOWN', tlvs: [] } };
  }
  if (!family) throw new ProxyProtocolError('BAD_FAMILY', `v2 header has unknown address family/transport 0x${fam.toString(16).padStart(2, '0')}`);
  if (bodyLength < family.size) {
    throw new ProxyProtocolError('BAD_LENGTH', `v2 ${family.transport} header length ${bodyLength} is shorter than its ${family.size}-byte address block`);
  }
  if (buf.length < total) return { kind: 'incomplete' };
  const header: ProxyHeader = { version: 2, command: 'PROXY', transport: family.transport, tlvs: [] };
  if (family.datagram) header.datagram = true;
  const a = buf.subarray(16, 16 + family.size);
  switch (family.transport) {
    case 'TCP4':
    case 'UDP4':
      header.source = { address: bytesToIpv4(a.subarray(0, 4)), port: a.readUInt16BE(8) };
      header.destination = { address: bytesToIpv4(a.subarray(4, 8)), port: a.readUInt16BE(10) };
      break;
    case 'TCP6':
    case 'UDP6':
      header.source = { address: bytesToIpv6(a.subarray(0, 16)), port: a.readUInt16BE(32) };
      header.destination = { address: bytesToIpv6(a.subarray(16, 32)), port: a.readUInt16BE(34) };
      break;
    case 'UNIX':
      header.source = { address: unixPath(a.subarray(0, 108)), port: 0 };
      header.destination = { address: unixPath(a.subarray(108, 216)), port: 0 };
      break;
    default:
      break; // UNSPEC: no addresses, TLVs may still follow.
  }
  header.tlvs = parseTlvs(buf.subarray(16 + family.size, total), 'v2 header');
  decodeTlvs(header, buf.subarray(0, total), 16 + family.size);
  return { kind: 'header', length: total, header };
}

function unixPath(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

function parseTlvs(block: Buffer, where: string): Tlv[] {
  const tlvs: Tlv[] = [];
  let off = 0;
  while (off < block.length) {
    if (block.length - off < 3) {
      throw new ProxyProtocolError('BAD_TLV', `${where}: ${block.length - off} trailing byte(s) cannot hold a TLV (3-byte minimum)`);
    }
    const type = block[off]!;
    const len = block.readUInt16BE(off + 1);
    if (off + 3 + len > block.length) {
      throw new ProxyProtocolError('BAD_TLV', `${where}: TLV 0x${type.toString(16).padStart(2, '0')} of length ${len} overruns the header by ${off + 3 + len - block.length} byte(s)`);
    }
    tlvs.push({ type, value: block.subarray(off + 3, off + 3 + len) });
    off += 3 + len;
  }
  return tlvs;
}

/** Fills the decoded conveniences and verifies CRC32C. `whole` is the
 *  complete header, `tlvStart` the offset of its first TLV. */
function decodeTlvs(header: ProxyHeader, whole: Buffer, tlvStart: number): void {
  let off = tlvStart;
  for (const tlv of header.tlvs) {
    const valueOffset = off + 3;
    off = valueOffset + tlv.value.length;
    switch (tlv.type) {
      case PP2_TYPE.ALPN:
        header.alpn = tlv.value.toString('latin1');
        break;
      case PP2_TYPE.AUTHORITY:
        header.authority = utf8(tlv.value, 'AUTHORITY');
        break;
      case PP2_TYPE.CRC32C: {
        if (tlv.value.length !== 4) throw new ProxyProtocolError('BAD_TLV', `CRC32C TLV has length ${tlv.value.length} (expected 4)`);
        const expected = tlv.value.readUInt32BE(0);
        const copy = Buffer.from(whole);
        copy.fill(0, valueOffset, valueOffset + 4);
        const actual = crc32c(copy);
        if (actual !== expected) {
          throw new ProxyProtocolError('BAD_CRC', `CRC32C mismatch (header says 0x${hex32(expected)}, bytes give 0x${hex32(actual)})`);
        }
        break;
      }
      case PP2_TYPE.UNIQUE_ID:
        if (tlv.value.length > UNIQUE_ID_MAX) throw new ProxyProtocolError('BAD_TLV', `UNIQUE_ID TLV is ${tlv.value.length} bytes (at most ${UNIQUE_ID_MAX})`);
        header.uniqueId = Buffer.from(tlv.value);
        break;
      case PP2_TYPE.SSL:
        header.ssl = decodeSsl(tlv.value);
        break;
      case PP2_TYPE.AWS:
        if (tlv.value.length < 1) throw new ProxyProtocolError('BAD_TLV', 'AWS TLV is empty (expected a subtype byte)');
        if (tlv.value[0] === PP2_SUBTYPE_AWS_VPCE_ID) header.awsVpceId = tlv.value.toString('latin1', 1);
        break;
      default:
        break; // NOOP, NETNS and unknown types are kept in tlvs only.
    }
  }
}

function decodeSsl(v: Buffer): SslInfo {
  if (v.length < 5) throw new ProxyProtocolError('BAD_TLV', `SSL TLV has length ${v.length} (at least 5: client byte + verify)`);
  const client = v[0]!;
  const ssl: SslInfo = { client, verify: v.readUInt32BE(1), connectedWithSsl: (client & PP2_CLIENT.SSL) !== 0 };
  for (const sub of parseTlvs(v.subarray(5), 'SSL TLV')) {
    switch (sub.type) {
      case PP2_TYPE.SSL_VERSION:
        ssl.version = sub.value.toString('latin1');
        break;
      case PP2_TYPE.SSL_CN:
        ssl.commonName = utf8(sub.value, 'SSL_CN');
        break;
      case PP2_TYPE.SSL_CIPHER:
        ssl.cipher = sub.value.toString('latin1');
        break;
      case PP2_TYPE.SSL_SIG_ALG:
        ssl.signatureAlgorithm = sub.value.toString('latin1');
        break;
      case PP2_TYPE.SSL_KEY_ALG:
        ssl.keyAlgorithm = sub.value.toString('latin1');
        break;
      default:
        break;
    }
  }
  return ssl;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
function utf8(b: Buffer, what: string): string {
  try {
    return decoder.decode(b);
  } catch {
    throw new ProxyProtocolError('BAD_TLV', `${what} TLV is not valid UTF-8`);
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
