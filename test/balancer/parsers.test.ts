// Value parsers, certificate matching and the ClientHello ALPN reader,
// including malformed input and property tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isCertificateArn, matchesSuccessCodes, parseBool, parseInt32, parseStringMap, parseSuccessCodes, splitList } from '../../src/balancer/annotations.ts';
import { chooseCertificate, domainMatches } from '../../src/balancer/certificate-match.ts';
import { parseClientHello, parseClientHelloAlpn } from '../../src/balancer/client-hello.ts';
import { selectAlpn } from '../../src/balancer/policies.ts';
import { flowHash } from '../../src/balancer/target-pool.ts';
import { cert } from './model-fixtures.ts';

test('splitList trims and drops empties', () => {
  assert.deepEqual(splitList(' a , ,b,, c '), ['a', 'b', 'c']);
  assert.deepEqual(splitList(''), []);
});

test('parseBool and parseInt32 refuse what is not exactly a value', () => {
  assert.deepEqual(parseBool('true'), { ok: true, value: true });
  assert.deepEqual(parseBool(' False '), { ok: true, value: false });
  assert.equal(parseBool('yes').ok, false);
  assert.equal(parseBool('').ok, false);
  assert.deepEqual(parseInt32('42', 0, 100), { ok: true, value: 42 });
  for (const v of ['4.2', '1e3', '', '0x10', '99999999999', '12a']) assert.equal(parseInt32(v, 0, 1e12).ok, false, v);
  assert.deepEqual(parseInt32('101', 0, 100), { ok: false, message: '101 is out of range (0-100)' });
});

test('parseStringMap: escapes, trimming, malformed items', () => {
  const m = parseStringMap('a=1, b = x\\,y ,c=');
  assert.ok(m.ok);
  assert.deepEqual([...m.value], [['a', '1'], ['b', 'x,y'], ['c', '']]);
  assert.equal(parseStringMap('a=1,b').ok, false);
  assert.equal(parseStringMap(' =1').ok, false);
  assert.deepEqual(parseStringMap(',,'), { ok: true, value: new Map() });
});

test('certificate ARNs', () => {
  assert.equal(isCertificateArn('arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e'), true);
  assert.equal(isCertificateArn('arn:aws-us-gov:acm:us-gov-west-1:185309785115:certificate/abc'), true);
  for (const bad of ['', 'arn:aws:acm:us-east-2:1853:certificate/x', 'arn:aws:iam::185309785115:server-certificate/x', 'arn:aws:acm:us-east-2:185309785115:certificate/', ' arn:aws:acm:us-east-2:185309785115:certificate/x']) {
    assert.equal(isCertificateArn(bad), false, bad);
  }
});

test('success codes', () => {
  assert.deepEqual(parseSuccessCodes('200-299,302'), { ok: true, value: '200-299,302' });
  for (const bad of ['2xx', '100', '200-600', '300-200', '', '200,']) assert.equal(parseSuccessCodes(bad).ok, false, bad);
  assert.equal(matchesSuccessCodes('200-299,302', 302), true);
  assert.equal(matchesSuccessCodes('200-299,302', 301), false);
});

test('SNI matching: exact before wildcard, one label only, default otherwise', () => {
  assert.equal(domainMatches('*.example.com', 'a.example.com'), true);
  assert.equal(domainMatches('*.example.com', 'A.Example.COM.'), true);
  assert.equal(domainMatches('*.example.com', 'a.b.example.com'), false);
  assert.equal(domainMatches('*.example.com', 'example.com'), false);
  assert.equal(domainMatches('*.example.com', '.example.com'), false);
  const certs = [cert('d', ['default.test']), cert('w', ['*.example.com']), cert('e', ['www.example.com'])];
  assert.equal(chooseCertificate(certs, 'www.example.com'), 2);
  assert.equal(chooseCertificate(certs, 'api.example.com'), 1);
  assert.equal(chooseCertificate(certs, 'nothing.test'), 0);
  assert.equal(chooseCertificate(certs, undefined), 0);
});

test('ALPN selection by the policy order', () => {
  assert.equal(selectAlpn(['h2', 'http/1.1'], ['http/1.1', 'h2']), 'h2');
  assert.equal(selectAlpn(['http/1.1', 'h2'], ['h2', 'http/1.1']), 'http/1.1');
  assert.equal(selectAlpn(['h2'], ['http/1.1']), undefined);
});

test('flow hash spreads and is stable', () => {
  assert.equal(flowHash('1.2.3.4|5|6.7.8.9|80|tcp'), flowHash('1.2.3.4|5|6.7.8.9|80|tcp'));
  const buckets = new Set<number>();
  for (let p = 1000; p < 1040; p++) buckets.add(flowHash(`127.0.0.1|${p}|127.0.0.1|443|tcp`) % 4);
  assert.equal(buckets.size, 4);
});

function clientHello(alpn: string[] | undefined, extraExtensions: Buffer[] = []): Buffer {
  const exts: Buffer[] = [...extraExtensions];
  if (alpn) {
    const list = Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])));
    const body = Buffer.concat([u16(list.length), list]);
    exts.push(Buffer.concat([u16(16), u16(body.length), body]));
  }
  const extBytes = Buffer.concat(exts);
  const hello = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    u16(2),
    Buffer.from([0x13, 0x01]),
    Buffer.from([1, 0]),
    u16(extBytes.length),
    extBytes,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, hello.length >> 8, hello.length & 0xff]), hello]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

test('ClientHello ALPN: found, absent, split across records and reads, malformed', () => {
  const sni = Buffer.concat([u16(0), u16(5), u16(3), Buffer.from([0, 0, 0])]);
  const full = clientHello(['h2', 'http/1.1'], [sni]);
  assert.deepEqual(parseClientHelloAlpn(full), { kind: 'done', alpn: ['h2', 'http/1.1'] });
  assert.deepEqual(parseClientHelloAlpn(clientHello(undefined)), { kind: 'done', alpn: undefined });
  for (let cut = 0; cut < full.length; cut++) assert.equal(parseClientHelloAlpn(full.subarray(0, cut)).kind, 'incomplete', `cut ${cut}`);
  // The handshake message split over two records.
  const hs = full.subarray(5);
  const split = Buffer.concat([Buffer.from([0x16, 3, 1]), u16(10), hs.subarray(0, 10), Buffer.from([0x16, 3, 1]), u16(hs.length - 10), hs.subarray(10)]);
  assert.deepEqual(parseClientHelloAlpn(split), { kind: 'done', alpn: ['h2', 'http/1.1'] });
  // Not TLS at all, or not a ClientHello.
  assert.deepEqual(parseClientHelloAlpn(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'done', alpn: undefined });
  const notHello = Buffer.from(full);
  notHello[5] = 2;
  assert.deepEqual(parseClientHelloAlpn(notHello), { kind: 'done', alpn: undefined });
  // A broken ALPN extension (zero-length name).
  assert.deepEqual(parseClientHelloAlpn(clientHello([''])), { kind: 'done', alpn: undefined });
});

test('property: random bytes never throw out of the ClientHello reader', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, tlsPrefix) => {
      const b = Buffer.from(bytes);
      if (tlsPrefix && b.length >= 2) {
        b[0] = 0x16;
        b[1] = 3;
      }
      const r = parseClientHelloAlpn(b);
      assert.ok(r.kind === 'incomplete' || r.kind === 'done');
    }),
    { numRuns: 2000 },
  );
});

test('property: a ClientHello with any ALPN list reads back that list', () => {
  const proto = fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789/.-'.split('')) });
  fc.assert(
    fc.property(fc.array(proto, { minLength: 1, maxLength: 8 }), (list) => {
      assert.deepEqual(parseClientHelloAlpn(clientHello(list)), { kind: 'done', alpn: list });
    }),
  );
});

test('property: parsers never throw', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      parseStringMap(s);
      parseBool(s);
      parseInt32(s, 0, 10);
      parseSuccessCodes(s);
      isCertificateArn(s);
      splitList(s);
    }),
  );
});

test('ClientHello signature algorithms; certificate choice by key type among equal matches', () => {
  const sig = Buffer.concat([u16(13), u16(6), u16(4), u16(0x0804), u16(0x0403)]);
  const r = parseClientHello(clientHello(['h2'], [sig]));
  assert.deepEqual(r, { kind: 'done', hello: { sigalgs: [0x0804, 0x0403], alpn: ['h2'] } });
  const odd = Buffer.concat([u16(13), u16(5), u16(3), u16(0x0804), Buffer.from([4])]);
  assert.deepEqual(parseClientHello(clientHello(undefined, [odd])), { kind: 'done', hello: { sigalgs: undefined } });
  const certs = [cert('d', ['x.test']), cert('r', ['dual.test']), cert('e', ['dual.test'])];
  const keyTypes = ['ec', 'rsa', 'ec'];
  assert.equal(chooseCertificate(certs, 'dual.test', { sigalgs: [0x0403], keyTypes }), 2);
  assert.equal(chooseCertificate(certs, 'dual.test', { sigalgs: [0x0804], keyTypes }), 1);
  assert.equal(chooseCertificate(certs, 'dual.test', { sigalgs: [0x0807], keyTypes }), 1, 'none verifiable: first match');
  assert.equal(chooseCertificate(certs, 'dual.test', {}), 1);
});
