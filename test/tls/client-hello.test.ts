// The shared ClientHello reader: what each extension yields, and that a bad
// server_name is reported beside the rest instead of hiding it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readClientHello } from '../../src/tls/index.ts';
import { alpn, ext, hello, sni, u16 } from './hello-bytes.ts';

test('server name, ALPN and signature algorithms', () => {
  const r = readClientHello(hello([sni('App.Example.Test.'), alpn(['h2', 'http/1.1']), ext(13, Buffer.concat([u16(4), u16(0x0804), u16(0x0403)]))]));
  assert.deepEqual(r, { kind: 'hello', hello: { serverName: 'app.example.test', alpn: ['h2', 'http/1.1'], sigalgs: [0x0804, 0x0403] } });
});

test('a bad server name is a problem beside the other extensions', () => {
  const r = readClientHello(hello([sni(''), alpn(['h2'])]));
  assert.deepEqual(r, { kind: 'hello', hello: { serverNameProblem: 'server_name is not a host name', alpn: ['h2'] } });
  const spaces = readClientHello(hello([sni('a b.test')]));
  assert.deepEqual(spaces, { kind: 'hello', hello: { serverNameProblem: 'server_name is not a host name' } });
});

test('malformed ALPN (an empty protocol name) reads as not offered', () => {
  assert.deepEqual(readClientHello(hello([alpn(['h2', ''])])), { kind: 'hello', hello: { alpn: undefined } });
});

test('too large, not TLS, not a ClientHello', () => {
  assert.equal(readClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'invalid');
  const big = hello([ext(21, Buffer.alloc(3000))]);
  assert.equal(readClientHello(big, 1000).kind, 'invalid');
  assert.equal(readClientHello(big).kind, 'hello');
});

test('property: any bytes give incomplete, invalid or hello; every strict prefix of a hello is incomplete', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.ok(['incomplete', 'invalid', 'hello'].includes(readClientHello(Buffer.from(bytes)).kind));
    }),
  );
  const h = hello([sni('x.test'), alpn(['h2'])]);
  for (let i = 0; i < h.length; i++) assert.equal(readClientHello(h.subarray(0, i)).kind, 'incomplete');
});
