import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { CertificateStore, toEdgeCertificate, expiresSoon, daysUntilExpiry } from '../../src/certs/index.ts';
import { createCa, selfSigned } from '../support/pki.ts';
import { certsError, tempStateDir } from './support.ts';

const ARN = 'arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e';

/** Serves `cert`/`key` and returns what a verifying client sees for `servername`. */
async function handshake(certPem: string, keyPem: string, caPem: string, servername: string): Promise<{ authorized: boolean; error?: string }> {
  const server = tls.createServer({ cert: certPem, key: keyPem }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = tls.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername, ca: caPem, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    const result = { authorized: socket.authorized, error: socket.authorizationError?.toString() };
    const hostError = tls.checkServerIdentity(servername, socket.getPeerCertificate());
    socket.destroy();
    return hostError ? { authorized: false, error: hostError.message } : result;
  } finally {
    server.close();
  }
}

test('request issues a local-CA certificate that clients trusting the CA accept, wildcards included', async (t) => {
  const store = await CertificateStore.open(await tempStateDir(t));
  const r = await store.request({ domain: 'www.example.test', sans: ['*.apps.example.test', 'WWW.example.test'] });
  assert.match(r.arn, /^arn:aws:acm:local:000000000000:certificate\/[0-9a-f-]{36}$/);
  assert.deepEqual(r.domains, ['www.example.test', '*.apps.example.test']);
  assert.equal(r.type, 'local-ca');
  assert.equal(r.subject, 'CN=www.example.test');
  const x = new X509Certificate(r.certPem);
  assert.equal(r.fingerprint, x.fingerprint256);
  assert.equal(r.notAfter, new Date(x.validTo).toISOString());
  assert.ok(daysUntilExpiry(r) >= 393 && !expiresSoon(r));
  const ca = await store.caCertificatePem();
  assert.equal(r.chainPem, ca);
  assert.ok(x.verify(new X509Certificate(ca).publicKey));
  const key = await store.readPrivateKey(r.arn);
  assert.ok(x.checkPrivateKey(createPrivateKey(key)));
  assert.deepEqual(await handshake(r.certPem, key, ca, 'www.example.test'), { authorized: true, error: undefined });
  assert.deepEqual(await handshake(r.certPem, key, ca, 'api.apps.example.test'), { authorized: true, error: undefined });
  assert.equal((await handshake(r.certPem, key, ca, 'other.example.test')).authorized, false);
  // A second request reuses the same CA.
  const r2 = await store.request({ domain: 'b.example.test' });
  assert.equal(r2.chainPem, ca);
  assert.deepEqual((await store.list()).map((c) => c.arn), [r.arn, r2.arn]);
  assert.deepEqual(toEdgeCertificate(r), { arn: r.arn, certPem: r.certPem, chainPem: r.chainPem, domains: r.domains, notAfter: r.notAfter });
});

test('request under a given ARN, region and account; a taken ARN is refused', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir, { region: 'eu-west-1', account: '123456789012' });
  const r = await store.request({ domain: 'edge.example.test', arn: ARN });
  assert.equal(r.arn, ARN);
  assert.equal((await store.get(ARN))?.fingerprint, r.fingerprint);
  assert.match((await store.request({ domain: 'x.example.test' })).arn, /^arn:aws:acm:eu-west-1:123456789012:certificate\//);
  await assert.rejects(store.request({ domain: 'edge.example.test', arn: ARN }), certsError('EXISTS', ARN));
  // Same id under another region/account is a different ARN but the same file: refused, not overwritten.
  const twin = ARN.replace('us-east-2', 'us-west-1');
  await assert.rejects(store.request({ domain: 'x.example.test', arn: twin }), certsError('EXISTS', 'already used by'));
  assert.equal(await store.get(twin), undefined);
  await assert.rejects(store.request({ domain: 'x.example.test', arn: 'arn:aws:acm:bad' }), certsError('BAD_ARN'));
  await assert.rejects(store.request({ domain: 'bad_name.example' }), certsError('BAD_INPUT', 'bad_name'));
  await assert.rejects(CertificateStore.open(dir, { account: 'x' }), certsError('BAD_INPUT', 'account'));
});

test('import accepts a certificate with its chain (ordered, reversed, or inside the cert file)', async (t) => {
  const store = await CertificateStore.open(await tempStateDir(t));
  const root = await createCa('Test Root');
  const inter = await root.intermediate('Test Intermediate');
  const leaf = await inter.issue({ dnsNames: ['shop.example.test', '*.shop.example.test'] });
  const a = await store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: inter.certPem + root.certPem });
  assert.equal(a.type, 'imported');
  assert.deepEqual(a.domains, ['shop.example.test', '*.shop.example.test']);
  assert.equal(a.issuer, 'CN=Test Intermediate');
  assert.equal(a.chainPem, inter.certPem + root.certPem);
  const b = await store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: root.certPem + inter.certPem });
  assert.equal(b.chainPem, inter.certPem + root.certPem, 'chain is stored in path order');
  const c = await store.importCertificate({ certPem: leaf.certPem + inter.certPem, keyPem: leaf.keyPem });
  assert.equal(c.chainPem, inter.certPem);
  const key = await store.readPrivateKey(a.arn);
  assert.deepEqual(await handshake(a.certPem + a.chainPem, key, root.certPem, 'x.shop.example.test'), { authorized: true, error: undefined });
  // No chain at all (self-signed, or a leaf whose issuer clients already trust) is accepted.
  const ss = await selfSigned(['self.example.test']);
  assert.equal((await store.importCertificate({ certPem: ss.certPem, keyPem: ss.keyPem })).chainPem, '');
});

test('import refuses a foreign key, an expired certificate, a broken chain and unusable input', async (t) => {
  const store = await CertificateStore.open(await tempStateDir(t));
  const root = await createCa('Root A');
  const inter = await root.intermediate('Inter A');
  const other = await createCa('Root B');
  const leaf = await inter.issue({ dnsNames: ['a.example.test'] });
  const otherLeaf = await other.issue({ dnsNames: ['a.example.test'] });
  const expired = await root.issue({ dnsNames: ['old.example.test'], notBeforeDays: -60, notAfterDays: -1 });

  await assert.rejects(store.importCertificate({ certPem: leaf.certPem, keyPem: otherLeaf.keyPem }), certsError('KEY_MISMATCH', 'does not belong'));
  await assert.rejects(store.importCertificate({ certPem: expired.certPem, keyPem: expired.keyPem }), certsError('EXPIRED', /expired on .*--allow-expired/));
  const kept = await store.importCertificate({ certPem: expired.certPem, keyPem: expired.keyPem, chainPem: root.certPem, allowExpired: true });
  assert.ok(expiresSoon(kept));
  await assert.rejects(store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: other.certPem }), certsError('CHAIN_INVALID', 'not signed by'));
  await assert.rejects(store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: root.certPem }), certsError('CHAIN_INVALID'));
  await assert.rejects(
    store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: inter.certPem + root.certPem + other.certPem }),
    certsError('CHAIN_INVALID', 'Root B'),
  );
  // A leaf signing another leaf is not a chain.
  const fakeCaLeaf = await root.issue({ dnsNames: ['ca-ish.example.test'] });
  await assert.rejects(store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: fakeCaLeaf.certPem }), certsError('CHAIN_INVALID'));
  await assert.rejects(store.importCertificate({ certPem: 'hello', keyPem: leaf.keyPem }), certsError('BAD_INPUT', 'no PEM certificate'));
  await assert.rejects(store.importCertificate({ certPem: leaf.keyPem, keyPem: leaf.keyPem }), certsError('BAD_INPUT', 'pass that file with --key'));
  await assert.rejects(store.importCertificate({ certPem: leaf.certPem, keyPem: leaf.certPem }), certsError('BAD_INPUT', 'no PEM private key'));
  await assert.rejects(
    store.importCertificate({ certPem: leaf.certPem, keyPem: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n' }),
    certsError('BAD_INPUT', 'passphrase'),
  );
  // A line missing from the middle leaves DER that cannot parse.
  const lines = leaf.certPem.split('\n');
  const truncated = [...lines.slice(0, 2), ...lines.slice(3)].join('\n');
  await assert.rejects(store.importCertificate({ certPem: truncated, keyPem: leaf.keyPem }), certsError('BAD_INPUT', 'does not parse'));
  const garbledKey = leaf.keyPem.replace(/\n[A-Za-z0-9+/]{20}/, '\n' + 'B'.repeat(20));
  await assert.rejects(store.importCertificate({ certPem: leaf.certPem, keyPem: garbledKey }), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.ok(!err.message.includes('BBBBBBBB'), 'no key material in messages');
    return true;
  });
  assert.equal((await store.list()).length, 1, 'only the --allow-expired import was stored');
});

test('re-import under the same ARN replaces an imported certificate; renew replaces a local-CA one with a new key', async (t) => {
  const store = await CertificateStore.open(await tempStateDir(t));
  const ca = await createCa();
  const one = await ca.issue({ dnsNames: ['r.example.test'] });
  const two = await ca.issue({ dnsNames: ['r.example.test'] });
  const a = await store.importCertificate({ certPem: one.certPem, keyPem: one.keyPem, arn: ARN });
  const b = await store.importCertificate({ certPem: two.certPem, keyPem: two.keyPem, arn: ARN });
  assert.notEqual(a.fingerprint, b.fingerprint);
  assert.equal(b.createdAt, a.createdAt);
  assert.ok(b.updatedAt);
  assert.equal((await store.list()).length, 1);
  await assert.rejects(store.renew(ARN), certsError('NOT_RENEWABLE', 'certs import --arn'));

  const issued = await store.request({ domain: 'n.example.test', sans: ['*.n.example.test'] });
  const oldKey = await store.readPrivateKey(issued.arn);
  const renewed = await store.renew(issued.arn);
  assert.equal(renewed.arn, issued.arn);
  assert.deepEqual(renewed.domains, issued.domains);
  assert.notEqual(renewed.fingerprint, issued.fingerprint);
  const newKey = await store.readPrivateKey(issued.arn);
  assert.notEqual(newKey, oldKey);
  assert.ok(new X509Certificate(renewed.certPem).checkPrivateKey(createPrivateKey(newKey)));
  await assert.rejects(store.importCertificate({ certPem: one.certPem, keyPem: one.keyPem, arn: issued.arn }), certsError('EXISTS', 'renew'));
  await assert.rejects(store.renew(ARN.replace('7610', '9999')), certsError('NOT_FOUND'));
});

test('delete is refused while a listener uses the certificate, unless forced; usage of a stopped server binds nothing', async (t) => {
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir);
  const r = await store.request({ domain: 'd.example.test' });
  const spare = await store.request({ domain: 'e.example.test' });
  // serve records usage through a read-only store.
  const serving = await CertificateStore.open(dir, { readOnly: true });
  await serving.recordUsage({ [r.arn]: ['projectcontour/envoy:443', 'default/web:8443'] });
  assert.deepEqual(await store.usage(), { [r.arn]: ['default/web:8443', 'projectcontour/envoy:443'] });
  await assert.rejects(store.delete(r.arn), certsError('IN_USE', 'projectcontour/envoy:443'));
  await store.delete(spare.arn);
  await store.delete(r.arn, { force: true });
  assert.equal(await store.get(r.arn), undefined);
  await assert.rejects(store.delete(r.arn), certsError('NOT_FOUND'));
  await assert.rejects(serving.request({ domain: 'x.example.test' }), certsError('READ_ONLY'));
  await assert.rejects(serving.delete(r.arn), certsError('READ_ONLY'));
});

test('a read-only store on a missing state dir is empty and creates nothing', async (t) => {
  const dir = await tempStateDir(t);
  const ro = await CertificateStore.open(dir, { readOnly: true });
  assert.deepEqual(await ro.list(), []);
  assert.deepEqual(await ro.usage(), {});
  assert.equal(await ro.get(ARN), undefined);
  await assert.rejects(ro.readPrivateKey(ARN), certsError('NOT_FOUND'));
  await assert.rejects(ro.caCertificatePem(), certsError('NOT_FOUND', 'certs request'));
  await assert.rejects(import('node:fs/promises').then((fs) => fs.stat(dir)), /ENOENT/);
});

test('keys in other formats import: RSA (PKCS#1) and EC (SEC1) made by openssl', async (t) => {
  const { execFile } = await import('node:child_process');
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const work = await mkdtemp(join(tmpdir(), 'isobar-openssl-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const sh = (args: string[]) => new Promise<void>((resolve, reject) => execFile('openssl', args, { cwd: work }, (err, _o, e) => (err ? reject(new Error(e)) : resolve())));
  await sh(['genrsa', '-traditional', '-out', 'rsa.key', '2048']);
  await sh(['req', '-x509', '-key', 'rsa.key', '-out', 'rsa.crt', '-days', '30', '-subj', '/CN=rsa.example.test', '-addext', 'subjectAltName=DNS:rsa.example.test']);
  await sh(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key']);
  await sh(['req', '-x509', '-key', 'ec.key', '-out', 'ec.crt', '-days', '30', '-subj', '/CN=ec.example.test', '-addext', 'subjectAltName=DNS:ec.example.test,DNS:*.ec.example.test']);
  const read = (f: string) => readFile(join(work, f), 'utf8');
  assert.match(await read('rsa.key'), /BEGIN RSA PRIVATE KEY/);
  assert.match(await read('ec.key'), /BEGIN EC PRIVATE KEY/);
  const store = await CertificateStore.open(await tempStateDir(t));
  const rsa = await store.importCertificate({ certPem: await read('rsa.crt'), keyPem: await read('rsa.key') });
  const ec = await store.importCertificate({ certPem: await read('ec.crt'), keyPem: await read('ec.key') });
  assert.deepEqual(rsa.domains, ['rsa.example.test']);
  assert.deepEqual(ec.domains, ['ec.example.test', '*.ec.example.test']);
  for (const r of [rsa, ec]) {
    const key = await store.readPrivateKey(r.arn);
    assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/, 'stored as PKCS#8');
    assert.ok(new X509Certificate(r.certPem).checkPrivateKey(createPrivateKey(key)));
  }
});

test('usage recorded by a server that has stopped does not block delete', async (t) => {
  const { spawn } = await import('node:child_process');
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dir = await tempStateDir(t);
  const store = await CertificateStore.open(dir);
  const r = await store.request({ domain: 'gone.example.test' });
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  await writeFile(join(dir, 'usage.json'), JSON.stringify({ version: 1, pid: child.pid, updatedAt: new Date().toISOString(), listeners: { [r.arn]: ['a/b:443'] } }));
  assert.deepEqual(await store.usage(), {});
  await store.delete(r.arn);
  assert.equal(await store.get(r.arn), undefined);
});

test('import of arbitrary text fails only with a CertsError and stores nothing', async (t) => {
  const fc = (await import('fast-check')).default;
  const { CertsError } = await import('../../src/certs/index.ts');
  const store = await CertificateStore.open(await tempStateDir(t));
  const ca = await createCa();
  const leaf = await ca.issue({ dnsNames: ['p.example.test'] });
  const pemish = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ maxLength: 200 }).map((s) => `-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----\n`),
    fc.string({ maxLength: 200 }).map((s) => `-----BEGIN PRIVATE KEY-----\n${s}\n-----END PRIVATE KEY-----\n`),
    fc.base64String({ maxLength: 300 }).map((s) => `-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----\n`),
    fc.constant(leaf.certPem),
  );
  await fc.assert(
    fc.asyncProperty(pemish, fc.oneof(pemish, fc.constant(leaf.keyPem)), fc.option(pemish, { nil: undefined }), async (certPem, keyPem, chainPem) => {
      if (certPem === leaf.certPem && keyPem === leaf.keyPem && chainPem === undefined) return;
      try {
        await store.importCertificate({ certPem, keyPem, chainPem });
      } catch (err) {
        assert.ok(err instanceof CertsError, String(err));
        assert.ok(!err.message.includes(leaf.keyPem.slice(40, 80)), 'no key material in the message');
      }
    }),
    { numRuns: 150 },
  );
  assert.ok((await store.list()).every((r) => r.fingerprint === new X509Certificate(leaf.certPem).fingerprint256));
});
