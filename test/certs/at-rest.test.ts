import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateStore } from '../../src/certs/index.ts';
import { createCa } from '../support/pki.ts';
import { allFiles, certsError, tempStateDir } from './support.ts';

function keyBody(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

test('private keys are encrypted at rest; files are 0600 and directories 0700', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir);
  const ca = await createCa();
  const leaf = await ca.issue({ dnsNames: ['k.example.test'] });
  const imported = await store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem });
  const issued = await store.request({ domain: 'i.example.test' });
  await store.recordUsage({ [issued.arn]: ['a/b:443'] });
  const secrets = [keyBody(leaf.keyPem), keyBody(await store.readPrivateKey(imported.arn)), keyBody(await store.readPrivateKey(issued.arn))];
  // Fragments too, in case a key were stored re-wrapped.
  const needles = secrets.flatMap((s) => [s, s.slice(20, 60)]);
  const files = await allFiles(dir);
  assert.deepEqual(
    files.map((f) => f.slice(dir.length + 1).replace(/[0-9a-f-]{36}/, 'UUID')).sort(),
    ['ca/ca.json', 'certs/UUID.json', 'certs/UUID.json', 'master.key', 'usage.json'],
  );
  for (const f of files) {
    const text = await readFile(f, 'latin1');
    assert.ok(!text.includes('PRIVATE KEY'), `${f} holds a PEM private key`);
    for (const n of needles) assert.ok(!text.includes(n), `${f} holds key material`);
    assert.equal((await stat(f)).mode & 0o777, 0o600, f);
  }
  for (const d of [dir, join(dir, 'certs'), join(dir, 'ca')]) assert.equal((await stat(d)).mode & 0o777, 0o700, d);
  assert.equal((await stat(join(dir, 'master.key'))).size, 32);
});

test('tampering is detected and named; other certificates keep working', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir);
  const a = await store.request({ domain: 'a.example.test' });
  const b = await store.request({ domain: 'b.example.test' });
  const fileOf = (arn: string) => join(dir, 'certs', `${arn.split('/')[1]}.json`);
  const original = await readFile(fileOf(a.arn), 'utf8');
  const restore = () => writeFile(fileOf(a.arn), original);

  // 1. A changed public field (another domain slipped in).
  await writeFile(fileOf(a.arn), original.replace('"a.example.test"', '"evil.example.test"'));
  await assert.rejects(store.get(a.arn), certsError('CORRUPT', fileOf(a.arn)));
  await assert.rejects(store.readPrivateKey(a.arn), certsError('CORRUPT', 'modified outside isobar'));
  const scan = await store.scan();
  assert.deepEqual(scan.records.map((r) => r.arn), [b.arn]);
  assert.equal(scan.problems.length, 1);
  assert.equal(scan.problems[0]!.file, fileOf(a.arn));
  assert.deepEqual((await store.list()).map((r) => r.arn), [b.arn]);
  assert.ok((await store.readPrivateKey(b.arn)).includes('PRIVATE KEY'));

  // 2. The sealed key of b swapped into a's record, MAC recomputed is impossible without
  //    the key, so even a perfect copy of b's blob is caught.
  const fb = JSON.parse(await readFile(fileOf(b.arn), 'utf8'));
  const fa = JSON.parse(original);
  await writeFile(fileOf(a.arn), JSON.stringify({ ...fa, key: fb.key }));
  await assert.rejects(store.readPrivateKey(a.arn), certsError('CORRUPT', fileOf(a.arn)));

  // 3. A whole record copied under another id.
  await writeFile(fileOf(a.arn), await readFile(fileOf(b.arn)));
  await assert.rejects(store.get(a.arn), certsError('CORRUPT', 'does not match the file name'));

  // 4. Truncated and non-JSON files.
  await writeFile(fileOf(a.arn), original.slice(0, 100));
  await assert.rejects(store.get(a.arn), certsError('CORRUPT', 'not valid JSON'));
  await writeFile(fileOf(a.arn), '{"version":1}');
  await assert.rejects(store.get(a.arn), certsError('CORRUPT', 'unexpected structure'));

  // 5. Nothing was lost: restoring the file brings it back intact.
  await restore();
  assert.equal((await store.get(a.arn))?.fingerprint, a.fingerprint);
  assert.equal((await store.list()).length, 2);

  // 6. A damaged record can be removed on purpose only.
  await writeFile(fileOf(a.arn), 'garbage');
  await assert.rejects(store.delete(a.arn), certsError('CORRUPT'));
  await store.delete(a.arn, { force: true });
  assert.deepEqual((await store.scan()).problems, []);
});

test('a flipped ciphertext bit, a replaced master key or a wrong-size one never yields a key', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir);
  const a = await store.request({ domain: 'a.example.test' });
  const masterPath = join(dir, 'master.key');
  const master = await readFile(masterPath);

  const other = Buffer.from(master);
  other[0]! ^= 0xff;
  await writeFile(masterPath, other);
  const fresh = await CertificateStore.open(dir, { readOnly: true });
  await assert.rejects(fresh.readPrivateKey(a.arn), certsError('CORRUPT'));

  await writeFile(masterPath, master.subarray(0, 16));
  await assert.rejects((await CertificateStore.open(dir)).get(a.arn), certsError('CORRUPT', 'exactly 32 bytes'));

  await writeFile(masterPath, master);
  await chmod(masterPath, 0o644);
  await assert.rejects((await CertificateStore.open(dir)).get(a.arn), certsError('INSECURE', 'chmod 600'));
  await chmod(masterPath, 0o600);
  assert.ok((await (await CertificateStore.open(dir)).readPrivateKey(a.arn)).includes('PRIVATE KEY'));
});

test('a missing master key is reported, never silently replaced', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir);
  const a = await store.request({ domain: 'a.example.test' });
  const { rm } = await import('node:fs/promises');
  await rm(join(dir, 'master.key'));
  const again = await CertificateStore.open(dir);
  await assert.rejects(again.request({ domain: 'b.example.test' }), certsError('CORRUPT', 'master.key is missing'));
  await assert.rejects(again.get(a.arn), certsError('CORRUPT', 'master.key is missing'));
  await assert.rejects(stat(join(dir, 'master.key')), /ENOENT/);
});

test('unreadable usage and CA files are named in the error', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir);
  const a = await store.request({ domain: 'a.example.test' });
  await writeFile(join(dir, 'usage.json'), '[1,2');
  await assert.rejects(store.usage(), certsError('CORRUPT', join(dir, 'usage.json')));
  await assert.rejects(store.delete(a.arn), certsError('CORRUPT', 'usage.json'));
  const caFile = join(dir, 'ca', 'ca.json');
  const ca = JSON.parse(await readFile(caFile, 'utf8'));
  await writeFile(caFile, JSON.stringify({ ...ca, createdAt: '2000-01-01T00:00:00.000Z' }));
  await assert.rejects(store.caCertificatePem(), certsError('CORRUPT', caFile));
  await assert.rejects(store.request({ domain: 'b.example.test' }), certsError('CORRUPT', caFile));
});
