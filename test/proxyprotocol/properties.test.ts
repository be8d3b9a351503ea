import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isIPv4 } from 'node:net';
import { encodeV1, encodeV2, parseProxyHeader, ProxyProtocolError, V2_SIGNATURE } from '../../src/proxyprotocol/index.ts';
import { bytesToIpv6, ipv6ToBytes, unmapIpv4 } from '../../src/proxyprotocol/address.ts';

const port = fc.integer({ min: 0, max: 65535 });
const ip = fc.oneof(fc.ipV4(), fc.ipV6());
const canonical = (a: string) => (isIPv4(a) ? a : bytesToIpv6(ipv6ToBytes(a)));

test('IPv6 text -> bytes -> text is stable and preserves the address', () => {
  fc.assert(
    fc.property(fc.ipV6(), (a) => {
      const bytes = ipv6ToBytes(a);
      const text = bytesToIpv6(bytes);
      assert.deepEqual(ipv6ToBytes(text), bytes);
      assert.equal(bytesToIpv6(ipv6ToBytes(text)), text);
    }),
    { numRuns: 2000 },
  );
  assert.equal(bytesToIpv6(ipv6ToBytes('2001:0db8:0000:0000:0001:0000:0000:0001')), '2001:db8::1:0:0:1');
  assert.equal(bytesToIpv6(ipv6ToBytes('::ffff:1.2.3.4')), '::ffff:1.2.3.4');
  assert.equal(bytesToIpv6(ipv6ToBytes('1:2:3:4:5:6:7:8')), '1:2:3:4:5:6:7:8');
  assert.equal(bytesToIpv6(ipv6ToBytes('::')), '::');
});

test('encodeV2 -> parse is the identity on addresses, ports and TLVs', () => {
  const tlv = fc.record({
    type: fc.constantFrom(0x04, 0x30, 0xe0, 0xf1),
    value: fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  });
  fc.assert(
    fc.property(ip, ip, port, port, fc.array(tlv, { maxLength: 5 }), fc.boolean(), fc.boolean(), fc.option(fc.string({ maxLength: 50 }), { nil: undefined }), (s, d, sp, dp, tlvs, crc, dgram, authority) => {
      const bytes = encodeV2({ command: 'PROXY', source: { address: s, port: sp }, destination: { address: d, port: dp }, tlvs, crc32c: crc, datagram: dgram, authority });
      const trailing = Buffer.from('rest');
      const r = parseProxyHeader(Buffer.concat([bytes, trailing]));
      assert.ok(r.kind === 'header');
      assert.equal(r.length, bytes.length);
      const both4 = isIPv4(unmapIpv4(s)) && isIPv4(unmapIpv4(d));
      assert.equal(r.header.transport, `${dgram ? 'UDP' : 'TCP'}${both4 ? 4 : 6}`);
      const map = (a: string) => (both4 ? unmapIpv4(a) : canonical(isIPv4(a) ? `::ffff:${a}` : a));
      assert.deepEqual(r.header.source, { address: map(s), port: sp });
      assert.deepEqual(r.header.destination, { address: map(d), port: dp });
      assert.equal(r.header.authority, authority);
      const expectedTypes = [...(authority !== undefined ? [0x02] : []), ...tlvs.map((t) => t.type), ...(crc ? [0x03] : [])];
      assert.deepEqual(r.header.tlvs.map((t) => t.type), expectedTypes);
      const passed = r.header.tlvs.filter((t) => t.type !== 0x02 && t.type !== 0x03);
      assert.deepEqual(passed.map((t) => Buffer.from(t.value)), tlvs.map((t) => t.value));
    }),
    { numRuns: 500 },
  );
});

test('encodeV1 -> parse is the identity', () => {
  fc.assert(
    fc.property(ip, ip, port, port, (s, d, sp, dp) => {
      const bytes = encodeV1({ address: s, port: sp }, { address: d, port: dp });
      assert.ok(bytes.length <= 107);
      const r = parseProxyHeader(bytes);
      assert.ok(r.kind === 'header');
      assert.equal(r.length, bytes.length);
      const both4 = isIPv4(unmapIpv4(s)) && isIPv4(unmapIpv4(d));
      const map = (a: string) => (both4 ? unmapIpv4(a) : isIPv4(a) ? `::ffff:${a}` : unmapIpv4(a) !== a ? `::ffff:${unmapIpv4(a)}` : a);
      assert.deepEqual(r.header.source, { address: map(s), port: sp });
      assert.deepEqual(r.header.destination, { address: map(d), port: dp });
    }),
    { numRuns: 500 },
  );
});

function onlyProtocolErrors(buf: Buffer, maxLength?: number): void {
  try {
    const r = parseProxyHeader(buf, { maxLength });
    if (r.kind === 'header') assert.ok(r.length <= buf.length && r.length >= 15);
  } catch (err) {
    if (!(err instanceof ProxyProtocolError)) throw err;
    assert.ok(err.message.startsWith('PROXY protocol: '));
  }
}

test('random bytes never throw anything but ProxyProtocolError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (u) => onlyProtocolErrors(Buffer.from(u))), { numRuns: 3000 });
});

test('random bodies behind a valid v2 signature never throw anything but ProxyProtocolError', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 400 }), fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }), (vc, fam, body, maxLength) => {
      const pre = Buffer.alloc(16);
      V2_SIGNATURE.copy(pre);
      pre[12] = vc;
      pre[13] = fam;
      pre.writeUInt16BE(body.length, 14);
      onlyProtocolErrors(Buffer.concat([pre, Buffer.from(body)]), maxLength);
    }),
    { numRuns: 3000 },
  );
});

test('random v1-looking lines never throw anything but ProxyProtocolError', () => {
  const word = fc.oneof(fc.constantFrom('TCP4', 'TCP6', 'UNKNOWN', '1.2.3.4', '::1', '65535', '0', '080', ''), fc.string({ maxLength: 12 }));
  fc.assert(
    fc.property(fc.array(word, { maxLength: 7 }), fc.constantFrom('\r\n', '\n', '\r', ''), (words, end) => {
      onlyProtocolErrors(Buffer.from(`PROXY ${words.join(' ')}${end}`, 'utf8'));
    }),
    { numRuns: 3000 },
  );
});
