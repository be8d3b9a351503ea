// The read relay copies each read out of the worker's one read buffer, so a
// later read cannot change bytes already handed on, and ends its
// destination when the source ends. Through real listeners (back-pressure,
// TLS, digests of 16 MiB) in runtime-flows.test.ts.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { ReadRelay } from '../../src/balancer/read-relay.ts';

/** A destination that keeps the chunks it is given as they are (Writable passes a Buffer on uncopied). */
function keeper(): { sink: Writable; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, chunks };
}

async function socketPair(t: TestContext): Promise<{ a: Socket; b: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const a = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  const [b] = (await accepted) as [Socket];
  await once(a, 'connect').catch(() => undefined);
  t.after(() => {
    a.destroy();
    b.destroy();
    server.close();
  });
  return { a, b };
}

test('each read is copied out of the shared buffer: the next read does not change it', async (t) => {
  const pair = await socketPair(t);
  const relay = new ReadRelay();
  const { sink, chunks } = keeper();
  relay.start(pair.a, sink);
  const { buffer, callback } = relay.onread;
  buffer.write('first read', 0, 'latin1');
  callback(10, buffer);
  buffer.write('SECOND!!!!', 0, 'latin1');
  callback(6, buffer);
  assert.deepEqual(
    chunks.map((c) => c.toString('latin1')),
    ['first read', 'SECOND'],
  );
  assert.notEqual(chunks[0]!.buffer, buffer.buffer, 'a copy, not a view of the read buffer');
});

test('reads before start() are kept and written first, in order', async (t) => {
  const pair = await socketPair(t);
  const relay = new ReadRelay();
  const { buffer, callback } = relay.onread;
  buffer.write('early', 0, 'latin1');
  assert.equal(callback(5, buffer), true);
  buffer.write('later', 0, 'latin1');
  const { sink, chunks } = keeper();
  relay.start(pair.a, sink);
  callback(5, buffer);
  assert.deepEqual(
    chunks.map((c) => c.toString('latin1')),
    ['early', 'later'],
  );
});

test('a socket made with the relay stays paused until start(), then its bytes and its end are relayed', async (t) => {
  const server = createServer((s) => s.end('hello before anyone asked\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const relay = new ReadRelay();
  const s = relay.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  assert.equal(relay.relays(s), true);
  await once(s, 'connect');
  await new Promise((r) => setTimeout(r, 50));
  let got = '';
  let ended = false;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      got += chunk.toString();
      done();
    },
    final(done) {
      ended = true;
      done();
    },
  });
  relay.start(s, sink);
  await once(sink, 'finish');
  assert.equal(got, 'hello before anyone asked\n');
  assert.equal(ended, true);
  s.destroy();
});
