// A worker whose primary goes away drains and exits 0, quietly: its last
// report ("drained") has no channel left to go over and is not sent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER_PROCESS = fileURLToPath(new URL('../../src/serve/worker-process.ts', import.meta.url));

test('the primary gone: the worker drains and exits 0 without an error', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'isobar-worker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'worker.mjs');
  writeFileSync(
    file,
    `
    const { runWorker } = await import(${JSON.stringify(WORKER_PROCESS)});
    runWorker({ handle: async () => {}, drain: async () => { process.stderr.write('drained\\n'); } });
    process.send({ type: 'ready' });
  `,
  );
  const child = fork(file, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await once(child, 'message');
  child.disconnect();
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(stderr.trim(), 'drained');
  assert.equal(code, 0);
});
