// Peeking a ClientHello on a real socket: the parser sees the bytes as they
// arrive, and whatever was read is there again for the next reader.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { peekClientHello, readClientHello } from '../../src/tls/index.ts';
import { alpn, hello, sni } from './hello-bytes.ts';

let server: net.Server;
const accepted: net.Socket[] = [];
let waiting: ((s: net.Socket) => void) | undefined;

before(async () => {
  server = net.createServer((s) => {
    if (waiting) {
      waiting(s);
      waiting = undefined;
    } else accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

/** A connected client and the server's side of it. */
async function connection(): Promise<{ client: net.Socket; peer: net.Socket }> {
  const peer = new Promise<net.Socket>((r) => {
    const s = accepted.shift();
    if (s) r(s);
    else waiting = r;
  });
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  return { client, peer: await peer };
}

/** Reads `n` bytes from `s` as the next reader would (what arrived, after 2 s). */
function readBytes(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const timer = setTimeout(() => resolve(Buffer.concat(chunks)), 2000);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (have >= n) {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      }
    });
  });
}

const HELLO = hello([sni('app.example.test'), alpn(['h2', 'http/1.1'])]);
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a ClientHello split across writes, after bytes already taken off, is read whole and every byte comes back in order', async () => {
  const { client, peer } = await connection();
  const initial = HELLO.subarray(0, 7);
  const peeked = peekClientHello(peer, (b) => readClientHello(b), { timeoutMs: 5000, initial });
  client.write(HELLO.subarray(7, 40));
  await tick(20);
  const tail = Buffer.from('early bytes');
  client.write(Buffer.concat([HELLO.subarray(40), tail]));
  const r = await peeked;
  assert.deepEqual(r, { kind: 'read', result: { kind: 'hello', hello: { serverName: 'app.example.test', alpn: ['h2', 'http/1.1'] } } });
  assert.equal(peer.listenerCount('readable'), 0);
  const again = await readBytes(peer, HELLO.length + tail.length);
  assert.deepEqual(again, Buffer.concat([HELLO, tail]));
  client.destroy();
  peer.destroy();
});

test('bytes that cannot be a ClientHello end the wait with the parser\'s answer, and are put back too', async () => {
  const { client, peer } = await connection();
  const text = Buffer.from('GET / HTTP/1.1\r\n');
  client.write(text);
  const r = await peekClientHello(peer, (b) => readClientHello(b), { timeoutMs: 5000 });
  assert.deepEqual(r, { kind: 'read', result: { kind: 'invalid', reason: 'first record is type 71, not a TLS handshake' } });
  assert.deepEqual(await readBytes(peer, text.length), text);
  client.destroy();
  peer.destroy();
});

test('half a ClientHello and no more: timeout, with no listener left behind', async () => {
  const { client, peer } = await connection();
  const own = { end: peer.listenerCount('end'), close: peer.listenerCount('close') };
  client.write(HELLO.subarray(0, 30));
  const r = await peekClientHello(peer, (b) => readClientHello(b), { timeoutMs: 50 });
  client.destroy();
  peer.destroy();
  assert.deepEqual(r, { kind: 'timeout' });
  assert.deepEqual({ readable: peer.listenerCount('readable'), end: peer.listenerCount('end'), close: peer.listenerCount('close') }, { readable: 0, ...own });
});

test('a peer that ends before a whole ClientHello: closed', async () => {
  const { client, peer } = await connection();
  const peeked = peekClientHello(peer, (b) => readClientHello(b), { timeoutMs: 5000 });
  client.end(HELLO.subarray(0, 30));
  assert.deepEqual(await peeked, { kind: 'closed' });
  peer.destroy();
});
