// Cross-check against an independent implementation (proxy-protocol-js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import pp from 'proxy-protocol-js';
import { encodeV1, encodeV2, parseProxyHeader } from '../../src/proxyprotocol/index.ts';
import { ipv6ToBytes, unmapIpv4 } from '../../src/proxyprotocol/address.ts';

const port = fc.integer({ min: 0, max: 65535 });

test('our v2 IPv4 bytes decode to the same addresses in proxy-protocol-js', () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), port, port, (s, d, sp, dp) => {
      const bytes = encodeV2({ command: 'PROXY', source: { address: s, port: sp }, destination: { address: d, port: dp } });
      const theirs = pp.V2ProxyProtocol.parse(new Uint8Array(bytes));
      assert.equal(theirs.command, pp.Command.PROXY);
      const a = theirs.proxyAddress as InstanceType<typeof pp.IPv4ProxyAddress>;
      assert.equal(a.sourceAddress.address.join('.'), s);
      assert.equal(a.destinationAddress.address.join('.'), d);
      assert.equal(a.sourcePort, sp);
      assert.equal(a.destinationPort, dp);
    }),
    { numRuns: 300 },
  );
});

test('our v2 IPv6 bytes decode to the same addresses in proxy-protocol-js', () => {
  fc.assert(
    // IPv4-mapped pairs are sent as TCP4 (covered above).
    fc.property(fc.ipV6(), fc.ipV6().filter((a) => unmapIpv4(a) === a), port, port, (s, d, sp, dp) => {
      const bytes = encodeV2({ command: 'PROXY', source: { address: s, port: sp }, destination: { address: d, port: dp } });
      const theirs = pp.V2ProxyProtocol.parse(new Uint8Array(bytes));
      const a = theirs.proxyAddress as InstanceType<typeof pp.IPv6ProxyAddress>;
      assert.deepEqual(Buffer.from(a.sourceAddress.address), ipv6ToBytes(s));
      assert.deepEqual(Buffer.from(a.destinationAddress.address), ipv6ToBytes(d));
      assert.equal(a.sourcePort, sp);
      assert.equal(a.destinationPort, dp);
    }),
    { numRuns: 300 },
  );
});

test('proxy-protocol-js v2 and v1 bytes parse to the same addresses here', () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), port, port, fc.boolean(), (s, d, sp, dp, dgram) => {
      const addr = new pp.IPv4ProxyAddress(pp.IPv4Address.createFrom(s.split('.').map(Number)), sp, pp.IPv4Address.createFrom(d.split('.').map(Number)), dp);
      const v2 = Buffer.from(new pp.V2ProxyProtocol(pp.Command.PROXY, dgram ? pp.TransportProtocol.DGRAM : pp.TransportProtocol.STREAM, addr).build());
      const r2 = parseProxyHeader(v2);
      assert.ok(r2.kind === 'header');
      assert.equal(r2.length, v2.length);
      assert.equal(r2.header.transport, dgram ? 'UDP4' : 'TCP4');
      assert.deepEqual([r2.header.source, r2.header.destination], [{ address: s, port: sp }, { address: d, port: dp }]);

      const v1 = Buffer.from(new pp.V1ProxyProtocol(pp.INETProtocol.TCP4, new pp.Peer(s, sp), new pp.Peer(d, dp)).build(), 'latin1');
      assert.deepEqual(v1, encodeV1({ address: s, port: sp }, { address: d, port: dp }));
      const r1 = parseProxyHeader(v1);
      assert.ok(r1.kind === 'header');
      assert.deepEqual([r1.header.source, r1.header.destination], [{ address: s, port: sp }, { address: d, port: dp }]);
    }),
    { numRuns: 300 },
  );
});
