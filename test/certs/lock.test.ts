import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CertificateStore } from '../../src/certs/index.ts';
import { allFiles, certsError, tempStateDir } from './support.ts';

const NODE = process.execPath;
const STORE = fileURLToPath(new URL('../../src/certs/index.ts', import.meta.url));

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(NODE, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

test('a stale lock left by a dead process is taken over', async (t) => {
  const dir = await tempStateDir(t);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, '.lock'), `${await deadPid()}\n2020-01-01T00:00:00.000Z\n`);
  const store = await CertificateStore.open(dir, { lockWaitMs: 2000 });
  const r = await store.request({ domain: 'stale.example.test' });
  assert.ok(await store.get(r.arn));
  await assert.rejects(stat(join(dir, '.lock')), /ENOENT/, 'lock released');
  // A leftover takeover guard from a dead writer does not block either.
  await writeFile(join(dir, '.lock'), `${await deadPid()}\n`);
  await writeFile(join(dir, '.lock.takeover'), `${await deadPid()}\n`);
  await store.request({ domain: 'stale2.example.test' });
  assert.deepEqual((await allFiles(dir)).filter((f) => f.includes('.lock')), []);
});

test('a live lock holder makes writers wait, then fail with LOCKED naming the pid; readers are not blocked', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir, { lockWaitMs: 150 });
  const r = await store.request({ domain: 'live.example.test' });
  // The parent of this process is alive and is not us.
  await writeFile(join(dir, '.lock'), `${process.ppid}\n`);
  await assert.rejects(store.request({ domain: 'x.example.test' }), certsError('LOCKED', `process ${process.ppid}`));
  await assert.rejects(store.delete(r.arn), certsError('LOCKED'));
  assert.equal((await store.get(r.arn))?.arn, r.arn);
  assert.equal((await store.list()).length, 1);
  assert.equal(await readFile(join(dir, '.lock'), 'utf8'), `${process.ppid}\n`, 'the holder keeps its lock');
});

test('two processes writing at once never corrupt the store or lose a certificate', async (t) => {
  const dir = await tempStateDir(t);
  const perProcess = 6;
  const script = `
    import { CertificateStore } from ${JSON.stringify(STORE)};
    const store = await CertificateStore.open(process.argv[1], { lockWaitMs: 30000 });
    const arns = [];
    for (let i = 0; i < ${perProcess}; i++) {
      const r = await store.request({ domain: 'p' + process.pid + '-' + i + '.example.test' });
      arns.push(r.arn);
      await store.recordUsage({ [r.arn]: ['ns/svc:' + i] });
    }
    process.stdout.write(JSON.stringify(arns));
  `;
  const run = async () => {
    const child = spawn(NODE, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, err);
    return JSON.parse(out) as string[];
  };
  const [a, b] = await Promise.all([run(), run()]);
  const store = await CertificateStore.open(dir);
  const { records, problems } = await store.scan();
  assert.deepEqual(problems, []);
  assert.deepEqual(records.map((r) => r.arn).sort(), [...a, ...b].sort());
  for (const arn of [...a, ...b]) assert.ok((await store.readPrivateKey(arn)).includes('PRIVATE KEY'));
  // One CA for everyone, no temp files or locks left behind.
  assert.equal(new Set(records.map((r) => r.chainPem)).size, 1);
  const leftovers = (await allFiles(dir)).filter((f) => f.endsWith('.tmp') || f.includes('.lock'));
  assert.deepEqual(leftovers, []);
  JSON.parse(await readFile(join(dir, 'usage.json'), 'utf8'));
});

test('concurrent writers in one process are serialised', async (t) => {
  const store = await CertificateStore.open(await tempStateDir(t));
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.request({ domain: `c${i}.example.test` })));
  assert.equal(new Set(results.map((r) => r.arn)).size, 8);
  assert.equal((await store.list()).length, 8);
});

test('a writer killed mid-stream leaves a readable store; the next writer recovers its lock and temp files', async (t) => {
  const { readdir } = await import('node:fs/promises');
  const dir = await tempStateDir(t);
  const script = `
    import { CertificateStore } from ${JSON.stringify(STORE)};
    const store = await CertificateStore.open(process.argv[1]);
    for (let i = 0; ; i++) await store.request({ domain: 'k' + i + '.example.test' });
  `;
  const child = spawn(NODE, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = once(child, 'exit');
  let gone = false;
  void exited.then(() => (gone = true));
  // Wait until it has written a few certificates, then kill it without warning.
  for (;;) {
    if (gone) assert.fail(`the writer exited on its own: ${stderr}`);
    const names = await readdir(join(dir, 'certs')).catch(() => [] as string[]);
    if (names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).length >= 3) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  // Whatever it was doing, plus a temp file as a crash mid-write leaves one.
  await writeFile(join(dir, 'certs', `.x.json.${child.pid}.0123abcd.tmp`), 'partial');

  const store = await CertificateStore.open(dir, { lockWaitMs: 5000 });
  const before = await store.scan();
  assert.deepEqual(before.problems, []);
  assert.ok(before.records.length >= 3);
  for (const r of before.records) assert.ok((await store.readPrivateKey(r.arn)).includes('PRIVATE KEY'));
  await store.request({ domain: 'after.example.test' });
  assert.equal((await store.list()).length, before.records.length + 1);
  const leftovers = (await allFiles(dir)).filter((f) => f.endsWith('.tmp') || f.includes('.lock'));
  assert.deepEqual(leftovers, []);
});
