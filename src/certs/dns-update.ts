// RFC 2136 dynamic updates signed with TSIG (RFC 8945), the part of DNS-01
// isobar needs: a message that adds or deletes one TXT record in a zone,
// its TSIG signature, and the server's answer read back (RCODE, and the
// answer's own TSIG verified: an unsigned or wrongly signed "NOERROR" is
// not taken as done). Answers are untrusted bytes: any malformation is a
// DnsUpdateError, never another exception.

import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

export const TSIG_ALGORITHMS = { 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512' } as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret, raw bytes (configured as base64). */
  secret: Buffer;
}

export interface TxtChange {
  zone: string;
  name: string;
  value: string;
  ttl: number;
  op: 'add' | 'delete';
}

export class DnsUpdateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsUpdateError';
  }
}

const TYPE = { SOA: 6, TXT: 16, TSIG: 250 } as const;
const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
const OPCODE_UPDATE = 5;
const FUDGE_S = 300;

const RCODES: Record<number, string> = {
  1: 'FORMERR (the server could not read the update)',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP (the server does not take dynamic updates)',
  5: 'REFUSED (the server does not allow this key to update the zone)',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH (the server is not authoritative for the zone, or the key is not accepted)',
  10: 'NOTZONE (the name is outside the zone)',
};
const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG (wrong secret)', 17: 'BADKEY (unknown key name or algorithm)', 18: 'BADTIME (clocks differ by more than 5 minutes)' };

/** A domain name in wire form, lower case (canonical, RFC 4034 section 6.2). */
export function encodeName(name: string): Buffer {
  const n = name.replace(/\.$/, '').toLowerCase();
  const parts: Buffer[] = [];
  if (n !== '') {
    for (const label of n.split('.')) {
      const b = Buffer.from(label, 'ascii');
      if (b.length === 0 || b.length > 63) throw new DnsUpdateError(`${JSON.stringify(name)} has an empty or over-long label`);
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new DnsUpdateError(`${JSON.stringify(name)} is longer than 255 bytes`);
  return out;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

function txtRdata(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const c = bytes.subarray(i, i + 255);
    chunks.push(Buffer.from([c.length]), c);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(chunks);
}

/** The unsigned UPDATE message for one TXT change. */
export function updateMessage(c: TxtChange, id: number): Buffer {
  if (!(c.name.toLowerCase().replace(/\.$/, '') === c.zone.toLowerCase().replace(/\.$/, '') || c.name.toLowerCase().replace(/\.$/, '').endsWith(`.${c.zone.toLowerCase().replace(/\.$/, '')}`))) {
    throw new DnsUpdateError(`${c.name} is not in the zone ${c.zone}`);
  }
  const rdata = txtRdata(c.value);
  const header = Buffer.concat([u16(id), u16(OPCODE_UPDATE << 11), u16(1), u16(0), u16(1), u16(0)]);
  const zone = Buffer.concat([encodeName(c.zone), u16(TYPE.SOA), u16(CLASS.IN)]);
  const rr = Buffer.concat([encodeName(c.name), u16(TYPE.TXT), u16(c.op === 'add' ? CLASS.IN : CLASS.NONE), u32(c.op === 'add' ? c.ttl : 0), u16(rdata.length), rdata]);
  return Buffer.concat([header, zone, rr]);
}

function tsigVariables(key: TsigKey, timeSigned: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([encodeName(key.name), u16(CLASS.ANY), u32(0), encodeName(key.algorithm), u48(timeSigned), u16(FUDGE_S), u16(error), u16(other.length), other]);
}

function mac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm], key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `message` with a TSIG record appended; returns it and the MAC (the answer is signed over it). */
export function signMessage(message: Buffer, key: TsigKey, now = Date.now()): { signed: Buffer; mac: Buffer } {
  const timeSigned = Math.floor(now / 1000);
  const m = mac(key, message, tsigVariables(key, timeSigned, 0, Buffer.alloc(0)));
  const id = message.readUInt16BE(0);
  const rdata = Buffer.concat([encodeName(key.algorithm), u48(timeSigned), u16(FUDGE_S), u16(m.length), m, u16(id), u16(0), u16(0)]);
  const rr = Buffer.concat([encodeName(key.name), u16(TYPE.TSIG), u16(CLASS.ANY), u32(0), u16(rdata.length), rdata]);
  const signed = Buffer.concat([message, rr]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { signed, mac: m };
}

/** Reads a (possibly compressed) name at `off`; returns it and where the record goes on. */
function readName(buf: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = off;
  let end = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new DnsUpdateError('the answer ends inside a name');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsUpdateError('the answer ends inside a name');
      if (++jumps > 32) throw new DnsUpdateError('the answer has a name compression loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len > 63) throw new DnsUpdateError('the answer has a malformed label');
    if (pos + 1 + len > buf.length) throw new DnsUpdateError('the answer ends inside a name');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), end };
}

function need(buf: Buffer, off: number, n: number): void {
  if (off + n > buf.length) throw new DnsUpdateError('the answer is truncated');
}

/** Checks the server's answer to the update `id` signed with `requestMac`:
 *  resolves when it says NOERROR with a valid TSIG, else throws saying why. */
export function checkAnswer(answer: Buffer, id: number, key: TsigKey, requestMac: Buffer, now = Date.now()): void {
  need(answer, 0, 12);
  if (answer.readUInt16BE(0) !== id) throw new DnsUpdateError('the answer is for another message (ID mismatch)');
  const flags = answer.readUInt16BE(2);
  if ((flags & 0x8000) === 0 || ((flags >> 11) & 0xf) !== OPCODE_UPDATE) throw new DnsUpdateError('the answer is not a response to an UPDATE');
  const counts = [4, 6, 8, 10].map((o) => answer.readUInt16BE(o));
  let off = 12;
  for (let i = 0; i < counts[0]!; i++) {
    off = readName(answer, off).end;
    need(answer, off, 4);
    off += 4;
  }
  let tsigAt = -1;
  let tsig: { name: string; rdataOff: number; rdlen: number } | undefined;
  const rrs = counts[1]! + counts[2]! + counts[3]!;
  for (let i = 0; i < rrs; i++) {
    const start = off;
    const n = readName(answer, off);
    need(answer, n.end, 10);
    const type = answer.readUInt16BE(n.end);
    const rdlen = answer.readUInt16BE(n.end + 8);
    need(answer, n.end + 10, rdlen);
    if (type === TYPE.TSIG) {
      if (i !== rrs - 1) throw new DnsUpdateError('the answer has a TSIG record that is not the last one');
      tsigAt = start;
      tsig = { name: n.name, rdataOff: n.end + 10, rdlen };
    }
    off = n.end + 10 + rdlen;
  }
  const rcode = flags & 0xf;
  if (!tsig) {
    throw new DnsUpdateError(rcode !== 0 ? `the server answered ${RCODES[rcode] ?? `RCODE ${rcode}`}` : 'the answer is not signed (TSIG); refusing to trust it');
  }
  // TSIG RDATA: algorithm, time signed, fudge, MAC, original ID, error, other.
  const alg = readName(answer, tsig.rdataOff);
  let p = alg.end;
  need(answer, p, 10);
  const timeSigned = answer.readUIntBE(p, 6);
  const fudge = answer.readUInt16BE(p + 6);
  const macLen = answer.readUInt16BE(p + 8);
  p += 10;
  need(answer, p, macLen + 6);
  const answerMac = answer.subarray(p, p + macLen);
  p += macLen;
  const error = answer.readUInt16BE(p + 2);
  const otherLen = answer.readUInt16BE(p + 4);
  need(answer, p + 6, otherLen);
  const other = answer.subarray(p + 6, p + 6 + otherLen);
  if (p + 6 + otherLen > tsig.rdataOff + tsig.rdlen) throw new DnsUpdateError('the answer has a malformed TSIG record');
  if (error !== 0) throw new DnsUpdateError(`the server refused the key ${key.name}: ${TSIG_ERRORS[error] ?? `TSIG error ${error}`}`);
  if (tsig.name !== key.name.toLowerCase().replace(/\.$/, '') || alg.name !== key.algorithm) throw new DnsUpdateError('the answer is signed with another key');
  const unsigned = Buffer.from(answer.subarray(0, tsigAt));
  unsigned.writeUInt16BE(counts[3]! - 1, 10);
  const expected = mac(key, u16(requestMac.length), requestMac, unsigned, tsigVariables(key, timeSigned, error, other));
  if (answerMac.length !== expected.length || !timingSafeEqual(answerMac, expected)) throw new DnsUpdateError('the answer’s TSIG signature does not verify');
  if (Math.abs(Math.floor(now / 1000) - timeSigned) > fudge) throw new DnsUpdateError('the answer’s TSIG time is outside its fudge');
  if (rcode !== 0) throw new DnsUpdateError(`the server answered ${RCODES[rcode] ?? `RCODE ${rcode}`}`);
}

export function newMessageId(): number {
  return randomInt(0, 0x10000);
}
