// The balancer's connection to a proxy worker's Unix socket, when that
// worker goes away as the PROXY header is written (it died, or ran out of
// file descriptors and closed what it accepted): the write's EPIPE or
// ECONNRESET destroys that one socket; it is never thrown, which would end
// the balancer worker and every flow it carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { dialUnix } from '../../src/balancer/listener-runtime.ts';
import { ReadRelay } from '../../src/balancer/read-relay.ts';

test('a proxy socket that closes each connection as it is accepted: every failed header write destroys its socket, nothing is thrown', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isobar-dial-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'proxy.sock');
  const server = createServer((s: Socket) => s.destroy());
  server.listen(file);
  await once(server, 'listening');
  t.after(() => server.close());
  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));
  // A header larger than the socket buffer, so its write is still going
  // when the peer's close arrives.
  const header = Buffer.alloc(4 << 20, 0x61);
  let destroyed = 0;
  for (let i = 0; i < 20; i++) {
    const s = await dialUnix(file, header, new ReadRelay());
    if (!s.destroyed) await once(s, 'close');
    destroyed++;
  }
  assert.equal(destroyed, 20);
  assert.deepEqual(uncaught, []);
});
