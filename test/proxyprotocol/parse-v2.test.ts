import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, encodeV2, parseProxyHeader, PP2_TYPE, ProxyProtocolError, V2_SIGNATURE } from '../../src/proxyprotocol/index.ts';

function code(fn: () => unknown, what = ''): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProxyProtocolError, `expected ProxyProtocolError, got ${String(err)}`);
    return err.code;
  }
  assert.fail(`expected a ProxyProtocolError ${what}`);
}

/** Builds a v2 header by hand: preamble + body. */
function raw(verCmd: number, fam: number, body: Buffer, lengthOverride?: number): Buffer {
  const pre = Buffer.alloc(16);
  V2_SIGNATURE.copy(pre);
  pre[12] = verCmd;
  pre[13] = fam;
  pre.writeUInt16BE(lengthOverride ?? body.length, 14);
  return Buffer.concat([pre, body]);
}
const ipv4Block = Buffer.from([192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb]); // 56324 -> 443
const tlv = (type: number, value: Buffer) => Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 0xff]), value]);

test('CRC32C matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
});

test('hand-built TCP4 header parses', () => {
  const r = parseProxyHeader(Buffer.concat([raw(0x21, 0x11, ipv4Block), Buffer.from('hello')]));
  assert.ok(r.kind === 'header');
  assert.equal(r.length, 28);
  assert.deepEqual(r.header, {
    version: 2,
    command: 'PROXY',
    transport: 'TCP4',
    source: { address: '192.0.2.1', port: 56324 },
    destination: { address: '198.51.100.7', port: 443 },
    tlvs: [],
  });
});

test('AWS NLB layout: length 84, CRC32C then NOOP padding, optional VPC endpoint TLV', () => {
  // Body: 12 address bytes, CRC32C TLV (7), AWS TLV, NOOP padding to 84.
  const aws = tlv(0xea, Buffer.concat([Buffer.from([0x01]), Buffer.from('vpce-0a1b2c3d4e5f6a7b8')]));
  for (const extra of [Buffer.alloc(0), aws]) {
    const padLen = 84 - 12 - 7 - extra.length - 3;
    const body = Buffer.concat([ipv4Block, tlv(0x03, Buffer.alloc(4)), extra, tlv(0x04, Buffer.alloc(padLen))]);
    assert.equal(body.length, 84);
    const header = raw(0x21, 0x11, body);
    header.writeUInt32BE(crc32c(header), 16 + 12 + 3);
    const r = parseProxyHeader(Buffer.concat([header, Buffer.from('\x16\x03\x01')]));
    assert.ok(r.kind === 'header');
    assert.equal(r.length, 100);
    assert.equal(r.header.source?.address, '192.0.2.1');
    assert.equal(r.header.destination?.port, 443);
    assert.deepEqual(r.header.tlvs.map((t) => t.type), extra.length ? [0x03, 0xea, 0x04] : [0x03, 0x04]);
    assert.equal(r.header.awsVpceId, extra.length ? 'vpce-0a1b2c3d4e5f6a7b8' : undefined);
    assert.equal(r.header.ssl, undefined);
    // A flipped bit anywhere is caught by the checksum.
    for (const at of [17, 20, 16 + 40, header.length - 1]) {
      const bad = Buffer.from(header);
      bad[at]! ^= 0x01;
      assert.equal(code(() => parseProxyHeader(bad)), 'BAD_CRC', `bit flip at ${at}`);
    }
  }
});

test('NLB health check: LOCAL with family 0x11 but only TLVs skips the whole block', () => {
  const body = Buffer.concat([tlv(0x03, Buffer.alloc(4)), tlv(0x04, Buffer.alloc(2))]);
  const header = raw(0x20, 0x11, body);
  const r = parseProxyHeader(Buffer.concat([header, Buffer.from('GET /healthz')]));
  assert.ok(r.kind === 'header');
  assert.equal(r.length, 16 + body.length);
  assert.equal(r.header.command, 'LOCAL');
  assert.equal(r.header.source, undefined);
  // LOCAL ignores the family entirely, even unknown ones.
  const odd = parseProxyHeader(raw(0x20, 0xff, Buffer.alloc(0)));
  assert.ok(odd.kind === 'header' && odd.header.command === 'LOCAL' && odd.header.transport === 'UNKNOWN');
});

test('TCP6, UDP4, UDP6, UNIX and UNSPEC families', () => {
  const v6 = Buffer.alloc(36);
  v6[15] = 1; // ::1
  Buffer.from('20010db8000000000000000000000002', 'hex').copy(v6, 16);
  v6.writeUInt16BE(1, 32);
  v6.writeUInt16BE(2, 34);
  let r = parseProxyHeader(raw(0x21, 0x21, v6));
  assert.ok(r.kind === 'header');
  assert.deepEqual([r.header.transport, r.header.source, r.header.destination], ['TCP6', { address: '::1', port: 1 }, { address: '2001:db8::2', port: 2 }]);
  r = parseProxyHeader(raw(0x21, 0x22, v6));
  assert.ok(r.kind === 'header' && r.header.transport === 'UDP6');
  r = parseProxyHeader(raw(0x21, 0x12, ipv4Block));
  assert.ok(r.kind === 'header' && r.header.transport === 'UDP4');
  const unix = Buffer.alloc(216);
  unix.write('/run/src.sock', 0);
  unix.write('/run/dst.sock', 108);
  r = parseProxyHeader(raw(0x21, 0x31, unix));
  assert.ok(r.kind === 'header');
  assert.deepEqual([r.header.transport, r.header.source?.address, r.header.destination?.address], ['UNIX', '/run/src.sock', '/run/dst.sock']);
  r = parseProxyHeader(raw(0x21, 0x00, tlv(PP2_TYPE.AUTHORITY, Buffer.from('a.example'))));
  assert.ok(r.kind === 'header');
  assert.equal(r.header.transport, 'UNKNOWN');
  assert.equal(r.header.authority, 'a.example');
});

test('every prefix of a v2 header is incomplete', () => {
  const h = encodeV2({ command: 'PROXY', source: { address: '::1', port: 1 }, destination: { address: '::2', port: 2 }, authority: 'x', crc32c: true });
  for (let i = 0; i < h.length; i++) assert.deepEqual(parseProxyHeader(h.subarray(0, i)), { kind: 'incomplete' }, `prefix ${i}`);
  assert.ok(parseProxyHeader(h).kind === 'header');
});

test('v2 malformed headers are rejected with a specific code', () => {
  const sig = Buffer.from(V2_SIGNATURE);
  sig[7] = 0x52;
  const cases: Array<[string, Buffer, string]> = [
    ['signature typo', Buffer.concat([sig, Buffer.alloc(4)]), 'INVALID_SIGNATURE'],
    ['signature typo in a short prefix', Buffer.from(V2_SIGNATURE.subarray(0, 4)).fill(0x0b, 3), 'INVALID_SIGNATURE'],
    ['version 1 in the binary format', raw(0x11, 0x11, ipv4Block), 'BAD_VERSION'],
    ['version 3', raw(0x31, 0x11, ipv4Block), 'BAD_VERSION'],
    ['command 2', raw(0x22, 0x11, ipv4Block), 'BAD_COMMAND'],
    ['command 15', raw(0x2f, 0x11, ipv4Block), 'BAD_COMMAND'],
    ['family 0x41', raw(0x21, 0x41, ipv4Block), 'BAD_FAMILY'],
    ['transport 3', raw(0x21, 0x13, ipv4Block), 'BAD_FAMILY'],
    ['TCP4 shorter than its addresses', raw(0x21, 0x11, ipv4Block.subarray(0, 11)), 'BAD_LENGTH'],
    ['TCP6 with an IPv4-sized block', raw(0x21, 0x21, ipv4Block), 'BAD_LENGTH'],
    ['UNIX with 100 bytes', raw(0x21, 0x31, Buffer.alloc(100)), 'BAD_LENGTH'],
    ['TLV overrunning the block', raw(0x21, 0x11, Buffer.concat([ipv4Block, Buffer.from([0x04, 0x00, 0x05, 0, 0])])), 'BAD_TLV'],
    ['2 stray bytes after the addresses', raw(0x21, 0x11, Buffer.concat([ipv4Block, Buffer.from([0x04, 0x00])])), 'BAD_TLV'],
    ['CRC32C of length 3', raw(0x21, 0x11, Buffer.concat([ipv4Block, tlv(0x03, Buffer.alloc(3))])), 'BAD_TLV'],
    ['CRC32C wrong', raw(0x21, 0x11, Buffer.concat([ipv4Block, tlv(0x03, Buffer.from([1, 2, 3, 4]))])), 'BAD_CRC'],
    ['SSL TLV too short', raw(0x21, 0x11, Buffer.concat([ipv4Block, tlv(0x20, Buffer.alloc(4))])), 'BAD_TLV'],
    ['SSL sub-TLV overrun', raw(0x21, 0x11, Buffer.concat([ipv4Block, tlv(0x20, Buffer.from([1, 0, 0, 0, 0, 0x21, 0, 9, 0x41]))])), 'BAD_TLV'],
    ['AWS TLV empty', raw(0x21, 0x11, Buffer.concat([ipv4Block, tlv(0xea, Buffer.alloc(0))])), 'BAD_TLV'],
    ['UNIQUE_ID over 128 bytes', raw(0x21, 0x11, Buffer.concat([ipv4Block, tlv(0x05, Buffer.alloc(129))])), 'BAD_TLV'],
    ['AUTHORITY not UTF-8', raw(0x21, 0x11, Buffer.concat([ipv4Block, tlv(0x02, Buffer.from([0xff, 0xfe]))])), 'BAD_TLV'],
    ['header over the default cap', raw(0x21, 0x11, Buffer.alloc(0), 5000), 'TOO_LONG'],
  ];
  for (const [name, bytes, expected] of cases) assert.equal(code(() => parseProxyHeader(bytes), name), expected, name);
});

test('maxLength is enforced from the preamble alone, before the body arrives', () => {
  const h = encodeV2({ command: 'PROXY', source: { address: '192.0.2.1', port: 1 }, destination: { address: '192.0.2.2', port: 2 }, tlvs: [{ type: 0x04, value: Buffer.alloc(200) }] });
  assert.equal(code(() => parseProxyHeader(h.subarray(0, 16), { maxLength: 100 })), 'TOO_LONG');
  assert.ok(parseProxyHeader(h, { maxLength: h.length }).kind === 'header');
  assert.equal(code(() => parseProxyHeader(h, { maxLength: h.length - 1 })), 'TOO_LONG');
});

test('encodeV2 conveniences decode back: SSL, ALPN, authority, unique id, VPC endpoint, unknown TLVs', () => {
  const h = encodeV2({
    command: 'PROXY',
    source: { address: '192.0.2.1', port: 50000 },
    destination: { address: '192.0.2.2', port: 443 },
    ssl: { connectedWithSsl: true, client: 0x04, verify: 0, version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', commonName: 'client.example' },
    alpn: 'h2',
    authority: 'www.example.com',
    uniqueId: Buffer.from('abc'),
    awsVpceId: 'vpce-123',
    tlvs: [{ type: 0xe0, value: Buffer.from([9, 9]) }],
    crc32c: true,
  });
  const r = parseProxyHeader(h);
  assert.ok(r.kind === 'header');
  assert.equal(r.length, h.length);
  assert.equal(r.header.alpn, 'h2');
  assert.equal(r.header.authority, 'www.example.com');
  assert.deepEqual(r.header.uniqueId, Buffer.from('abc'));
  assert.equal(r.header.awsVpceId, 'vpce-123');
  assert.deepEqual(r.header.ssl, { client: 0x05, verify: 0, connectedWithSsl: true, version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', commonName: 'client.example' });
  assert.deepEqual(r.header.tlvs.map((t) => t.type), [0x01, 0x02, 0x05, 0x20, 0xea, 0xe0, 0x03]);
  const plain = parseProxyHeader(encodeV2({ command: 'PROXY', ssl: { connectedWithSsl: false, client: 0x01 } }));
  assert.ok(plain.kind === 'header');
  assert.equal(plain.header.ssl?.connectedWithSsl, false);
  assert.equal(plain.header.ssl?.client, 0);
});

test('encodeV2 families and LOCAL', () => {
  const fam = (h: Buffer) => h[13];
  assert.equal(fam(encodeV2({ command: 'PROXY', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } })), 0x11);
  assert.equal(fam(encodeV2({ command: 'PROXY', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 }, datagram: true })), 0x12);
  assert.equal(fam(encodeV2({ command: 'PROXY', source: { address: '1.2.3.4', port: 1 }, destination: { address: '::1', port: 2 } })), 0x21);
  assert.equal(fam(encodeV2({ command: 'PROXY', source: { address: '/a', port: 0 }, destination: { address: '/b', port: 0 } })), 0x31);
  const local = encodeV2({ command: 'LOCAL' });
  assert.equal(local.length, 16);
  assert.equal(local[12], 0x20);
  assert.throws(() => encodeV2({ command: 'PROXY', source: { address: 'x', port: 1 }, destination: { address: '::1', port: 2 } }), TypeError);
  assert.throws(() => encodeV2({ command: 'PROXY', source: { address: '::1', port: 1 } }), TypeError);
  assert.throws(() => encodeV2({ command: 'PROXY', uniqueId: Buffer.alloc(129) }), RangeError);
  // Mixed families are mapped, so the IPv4 side reads back as ::ffff:a.b.c.d.
  const mixed = parseProxyHeader(encodeV2({ command: 'PROXY', source: { address: '10.1.2.3', port: 1 }, destination: { address: '::1', port: 2 } }));
  assert.ok(mixed.kind === 'header');
  assert.equal(mixed.header.source?.address, '::ffff:10.1.2.3');
  // What dual-stack sockets report for IPv4 peers is announced as IPv4.
  const mapped = encodeV2({ command: 'PROXY', source: { address: '::ffff:10.1.2.3', port: 1 }, destination: { address: '::ffff:127.0.0.1', port: 2 } });
  assert.equal(mapped[13], 0x11);
  const back = parseProxyHeader(mapped);
  assert.ok(back.kind === 'header');
  assert.deepEqual([back.header.source?.address, back.header.destination?.address], ['10.1.2.3', '127.0.0.1']);
});
