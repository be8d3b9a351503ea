// PROXY protocol encoders. The v2 family follows the address syntax:
// IPv4 pair -> TCP4, IPv6 (or a v4/v6 mix, v4 mapped into ::ffff:0:0/96)
// -> TCP6, absolute path -> UNIX, none -> UNSPEC. IPv4-mapped addresses
// (::ffff:a.b.c.d, what dual-stack sockets report) count as IPv4, so a
// plain IPv4 client is never announced as TCP6.

import { isIPv4, isIPv6 } from 'node:net';
import { ipv4ToBytes, ipv6ToBytes, toIpv6, unmapIpv4 } from './address.ts';
import { crc32c } from './crc32c.ts';
import {
  PP2_CLIENT,
  PP2_SUBTYPE_AWS_VPCE_ID,
  PP2_TYPE,
  UNIQUE_ID_MAX,
  V2_SIGNATURE,
  type ProxyAddress,
  type SslInfo,
  type Tlv,
} from './types.ts';

export interface EncodeV2Options {
  command: 'PROXY' | 'LOCAL';
  source?: ProxyAddress;
  destination?: ProxyAddress;
  /** Extra TLVs, written after the convenience TLVs below. */
  tlvs?: Tlv[];
  ssl?: Partial<SslInfo> & { connectedWithSsl: boolean };
  authority?: string;
  alpn?: string;
  uniqueId?: Buffer;
  awsVpceId?: string;
  /** Datagram transport (UDP4/UDP6 or UNIX DGRAM) instead of stream. */
  datagram?: boolean;
  /** Append a PP2_TYPE_CRC32C TLV over the whole header. */
  crc32c?: boolean;
}

export function encodeV2(h: EncodeV2Options): Buffer {
  const tlvs: Tlv[] = [];
  if (h.alpn !== undefined) tlvs.push({ type: PP2_TYPE.ALPN, value: Buffer.from(h.alpn, 'latin1') });
  if (h.authority !== undefined) tlvs.push({ type: PP2_TYPE.AUTHORITY, value: Buffer.from(h.authority, 'utf8') });
  if (h.uniqueId !== undefined) {
    if (h.uniqueId.length > UNIQUE_ID_MAX) throw new RangeError(`uniqueId is ${h.uniqueId.length} bytes (at most ${UNIQUE_ID_MAX})`);
    tlvs.push({ type: PP2_TYPE.UNIQUE_ID, value: h.uniqueId });
  }
  if (h.ssl !== undefined) tlvs.push({ type: PP2_TYPE.SSL, value: encodeSsl(h.ssl) });
  if (h.awsVpceId !== undefined) {
    tlvs.push({ type: PP2_TYPE.AWS, value: Buffer.concat([Buffer.from([PP2_SUBTYPE_AWS_VPCE_ID]), Buffer.from(h.awsVpceId, 'latin1')]) });
  }
  if (h.tlvs) tlvs.push(...h.tlvs);

  let fam = 0x00;
  let addr = Buffer.alloc(0);
  if (h.command === 'PROXY' && (h.source || h.destination)) {
    if (!h.source || !h.destination) throw new TypeError('encodeV2: source and destination go together');
    checkPort(h.source.port);
    checkPort(h.destination.port);
    const s = unmapIpv4(h.source.address);
    const d = unmapIpv4(h.destination.address);
    const proto = h.datagram ? 0x2 : 0x1;
    if (isIPv4(s) && isIPv4(d)) {
      fam = 0x10 | proto;
      addr = Buffer.alloc(12);
      ipv4ToBytes(s).copy(addr, 0);
      ipv4ToBytes(d).copy(addr, 4);
      addr.writeUInt16BE(h.source.port, 8);
      addr.writeUInt16BE(h.destination.port, 10);
    } else if ((isIPv4(s) || isIPv6(s)) && (isIPv4(d) || isIPv6(d))) {
      fam = 0x20 | proto;
      addr = Buffer.alloc(36);
      ipv6ToBytes(toIpv6(s)).copy(addr, 0);
      ipv6ToBytes(toIpv6(d)).copy(addr, 16);
      addr.writeUInt16BE(h.source.port, 32);
      addr.writeUInt16BE(h.destination.port, 34);
    } else if (s.startsWith('/') && d.startsWith('/')) {
      fam = 0x30 | proto;
      addr = Buffer.alloc(216);
      for (const [p, at] of [[s, 0], [d, 108]] as const) {
        const b = Buffer.from(p, 'utf8');
        if (b.length > 107) throw new RangeError(`encodeV2: UNIX path longer than 107 bytes: ${p}`);
        b.copy(addr, at);
      }
    } else {
      throw new TypeError(`encodeV2: addresses ${JSON.stringify(s)} and ${JSON.stringify(d)} are neither IP addresses nor absolute UNIX paths`);
    }
  }

  const tlvBytes = tlvs.reduce((n, t) => n + 3 + t.value.length, 0) + (h.crc32c ? 7 : 0);
  const bodyLength = addr.length + tlvBytes;
  if (bodyLength > 0xffff) throw new RangeError(`encodeV2: header body of ${bodyLength} bytes exceeds 65535`);
  const out = Buffer.alloc(16 + bodyLength);
  V2_SIGNATURE.copy(out, 0);
  out[12] = h.command === 'PROXY' ? 0x21 : 0x20;
  out[13] = fam;
  out.writeUInt16BE(bodyLength, 14);
  addr.copy(out, 16);
  let off = 16 + addr.length;
  for (const t of tlvs) off = writeTlv(out, off, t);
  if (h.crc32c) {
    const at = writeTlv(out, off, { type: PP2_TYPE.CRC32C, value: Buffer.alloc(4) }) - 4;
    out.writeUInt32BE(crc32c(out), at);
  }
  return out;
}

function writeTlv(out: Buffer, off: number, t: Tlv): number {
  if (!Number.isInteger(t.type) || t.type < 0 || t.type > 0xff) throw new RangeError(`TLV type ${t.type} is not a byte`);
  if (t.value.length > 0xffff) throw new RangeError(`TLV 0x${t.type.toString(16)} value exceeds 65535 bytes`);
  out[off] = t.type;
  out.writeUInt16BE(t.value.length, off + 1);
  t.value.copy(out, off + 3);
  return off + 3 + t.value.length;
}

function encodeSsl(ssl: Partial<SslInfo> & { connectedWithSsl: boolean }): Buffer {
  const subs: Tlv[] = [];
  const add = (type: number, v: string | undefined, enc: BufferEncoding = 'latin1') => {
    if (v !== undefined) subs.push({ type, value: Buffer.from(v, enc) });
  };
  add(PP2_TYPE.SSL_VERSION, ssl.version);
  add(PP2_TYPE.SSL_CN, ssl.commonName, 'utf8');
  add(PP2_TYPE.SSL_CIPHER, ssl.cipher);
  add(PP2_TYPE.SSL_SIG_ALG, ssl.signatureAlgorithm);
  add(PP2_TYPE.SSL_KEY_ALG, ssl.keyAlgorithm);
  const client = ((ssl.client ?? 0) & ~PP2_CLIENT.SSL) | (ssl.connectedWithSsl ? PP2_CLIENT.SSL : 0);
  const out = Buffer.alloc(5 + subs.reduce((n, t) => n + 3 + t.value.length, 0));
  out[0] = client & 0xff;
  out.writeUInt32BE((ssl.verify ?? 0) >>> 0, 1);
  let off = 5;
  for (const t of subs) off = writeTlv(out, off, t);
  return out;
}

function checkPort(p: number): void {
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`port ${p} is not 0-65535`);
}

/** v1 text header. Both addresses must share a family (TCP4 or TCP6); a mix
 *  is written as TCP6 with the IPv4 side mapped. */
export function encodeV1(source: ProxyAddress, destination: ProxyAddress): Buffer {
  checkPort(source.port);
  checkPort(destination.port);
  const s = unmapIpv4(source.address);
  const d = unmapIpv4(destination.address);
  if (isIPv4(s) && isIPv4(d)) return Buffer.from(`PROXY TCP4 ${s} ${d} ${source.port} ${destination.port}\r\n`, 'latin1');
  if ((isIPv4(s) || isIPv6(s)) && (isIPv4(d) || isIPv6(d)) && !s.includes('%') && !d.includes('%')) {
    return Buffer.from(`PROXY TCP6 ${toIpv6(s)} ${toIpv6(d)} ${source.port} ${destination.port}\r\n`, 'latin1');
  }
  throw new TypeError(`encodeV1: ${JSON.stringify(s)} / ${JSON.stringify(d)} are not IP addresses`);
}

/** v1 header for a connection whose addresses are unknown. */
export function encodeV1Unknown(): Buffer {
  return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
}
