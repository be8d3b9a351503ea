import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseClientHello } from '../../src/proxy/client-hello.ts';

/** Captures the ClientHello a real Node TLS client sends. */
async function capture(opts: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (parseClientHello(buf).kind !== 'incomplete') {
          resolve(buf);
          s.destroy();
        }
      });
    });
  });
  const c = tls.connect({ host: '127.0.0.1', port, ...opts });
  c.on('error', () => {});
  const out = await got;
  c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return out;
}

test('reads SNI and ALPN from a real ClientHello', async () => {
  const hello = await capture({ servername: 'App.Example.Test', ALPNProtocols: ['h2', 'http/1.1'] });
  const r = parseClientHello(hello);
  assert.deepEqual(r, { kind: 'hello', serverName: 'app.example.test', alpn: ['h2', 'http/1.1'] });
});

test('no SNI when the client sends none', async () => {
  const hello = await capture({});
  const r = parseClientHello(hello);
  assert.equal(r.kind, 'hello');
  assert.equal((r as { serverName?: string }).serverName, undefined);
});

test('every strict prefix of a ClientHello is incomplete', async () => {
  const hello = await capture({ servername: 'x.test' });
  for (let i = 0; i < hello.length; i++) assert.equal(parseClientHello(hello.subarray(0, i)).kind, 'incomplete', `prefix ${i}`);
});

test('a ClientHello split across two records is reassembled', async () => {
  const hello = await capture({ servername: 'split.test' });
  const body = hello.subarray(5);
  const cut = 40;
  const rec = (b: Buffer): Buffer => Buffer.concat([Buffer.from([22, 3, 1, b.length >> 8, b.length & 255]), b]);
  const two = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
  const r = parseClientHello(two);
  assert.equal(r.kind, 'hello');
  assert.equal((r as { serverName?: string }).serverName, 'split.test');
});

test('malformed input is invalid, never a throw', () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'invalid');
  assert.equal(parseClientHello(Buffer.from([22, 2, 0, 0, 5, 1, 0, 0, 1, 0])).kind, 'invalid');
  assert.equal(parseClientHello(Buffer.from([22, 3, 1, 0, 0])).kind, 'invalid');
  assert.equal(parseClientHello(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0])).kind, 'invalid');
  // ClientHello with a truncated body inside a complete record
  assert.equal(parseClientHello(Buffer.from([22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3])).kind, 'invalid');
});

test('property: random bytes give incomplete/invalid/hello, never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const r = parseClientHello(Buffer.from(bytes));
      assert.ok(['incomplete', 'invalid', 'hello'].includes(r.kind));
    }),
    { numRuns: 2000 },
  );
});

test('property: mutated real ClientHellos never throw', async () => {
  const hello = await capture({ servername: 'mutate.test', ALPNProtocols: ['h2'] });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(hello.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (edits) => {
      const b = Buffer.from(hello);
      for (const [i, v] of edits) b[i] = v;
      parseClientHello(b);
    }),
    { numRuns: 2000 },
  );
});
