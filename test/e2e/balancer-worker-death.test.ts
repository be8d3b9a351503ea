// A balancer worker's death resets none of the connections that had not
// reached it yet (src/serve/socket-keeper.ts). Each worker has its own
// listening socket on a port (SO_REUSEPORT); the worker is stopped
// (SIGSTOP), so connections the kernel hashes to its socket queue there
// unaccepted, then killed. Without the primary's copies, Linux resets every
// one of them; with them, a live worker (or the replacement, when there is
// no other) accepts them and each is answered.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareQuickstart } from '../../scripts/quickstart-lib.ts';
import { edgeCall, freeOffset, freePort, startSecureBackend, startServe, waitFor, workerPids, type ServeProcess } from './support.ts';

/** New connections, each with one request, while a worker is stopped. */
const CALLS = 24;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withServe(workers: number, body: (s: ServeProcess, port: number, ca: string) => Promise<void>): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'isobar-lb-death-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const backend = await startSecureBackend(files, backendPort);
  const ca = await readFile(files.edgeCa, 'utf8');
  const offset = await freeOffset([80, 443]);
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', String(workers), '--no-access-log'],
      await freePort(),
      undefined,
      90_000,
    );
    await body(serve, 443 + offset, ca);
  } finally {
    await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Stops balancer worker `pid`, opens CALLS connections, kills it; what each got. */
async function killWhileQueued(pid: number, port: number, ca: string): Promise<string[]> {
  process.kill(pid, 'SIGSTOP');
  const calls = Array.from({ length: CALLS }, () =>
    edgeCall({ port, ca }).then(
      (a) => String(a.status),
      (e: NodeJS.ErrnoException) => e.code ?? e.message,
    ),
  );
  // Every connection is made (the kernel's handshake) and waits in a queue.
  await sleep(500);
  process.kill(pid, 'SIGKILL');
  return Promise.all(calls);
}

async function replaced(primary: number, killed: number, count: number): Promise<number[]> {
  return waitFor(`balancer worker ${killed} replaced`, async () => {
    const now = workerPids(primary, 'balancer-worker');
    return now.length === count && !now.includes(killed) ? now : undefined;
  }, 60_000);
}

/** Until a whole round of new connections is answered (the replacement has its config). */
async function allAnswered(port: number, ca: string): Promise<void> {
  await waitFor('every new connection answered', async () => {
    const got = await Promise.all(Array.from({ length: 8 }, () => edgeCall({ port, ca }).then((a) => a.status, () => 0)));
    return got.every((s) => s === 200) ? true : undefined;
  }, 60_000);
}

test('kill -9 of a stopped balancer worker: the connections queued on its socket are answered by the other worker, then by its replacement', { timeout: 240_000 }, async () => {
  await withServe(2, async (serve, port, ca) => {
    const primary = serve.child.pid!;
    const [first] = workerPids(primary, 'balancer-worker');
    assert.ok(first !== undefined);

    const round1 = await killWhileQueued(first, port, ca);
    assert.deepEqual(round1, Array(CALLS).fill('200'), `every connection answered after the kill: ${round1.join(' ')}`);
    assert.match(serve.output(), /a live worker accepts on the dead worker's listening sockets/);

    // The replacement listens on the dead worker's socket again; then the
    // other worker dies the same way and the replacement serves both sockets.
    const now = await replaced(primary, first, 2);
    await allAnswered(port, ca);
    const second = now.find((p) => p !== Math.max(...now)) ?? now[0]!;
    const round2 = await killWhileQueued(second, port, ca);
    assert.deepEqual(round2, Array(CALLS).fill('200'), `after the second kill: ${round2.join(' ')}`);
    await replaced(primary, second, 2);
    await allAnswered(port, ca);

    // At stop the primary's copies close too: the port is free.
    assert.equal(await serve.stop(), 0);
    const refused = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    assert.equal(refused, 'ECONNREFUSED');
  });
});

test('kill -9 of the only balancer worker, stopped: the connections queued on its socket wait for the replacement and are answered', { timeout: 180_000 }, async () => {
  await withServe(1, async (serve, port, ca) => {
    const primary = serve.child.pid!;
    const [only] = workerPids(primary, 'balancer-worker');
    assert.ok(only !== undefined);
    const got = await killWhileQueued(only, port, ca);
    assert.deepEqual(got, Array(CALLS).fill('200'), `every connection answered by the replacement: ${got.join(' ')}`);
    await replaced(primary, only, 1);
  });
});
