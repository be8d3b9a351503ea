// ACME issuance against a real Pebble whose validation authority really
// connects: HTTP-01 and TLS-ALPN-01 answered by the standalone challenge
// server (what `certs request --acme` runs without serve), the certificate
// chaining to Pebble's root, and the failure paths ending FAILED with
// ACM's reason and the CA's words, once, with no retry loop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attemptIssue, CertificateStore, ChallengeServer } from '../../src/certs/index.ts';
import { freePort } from '../e2e/support.ts';
import { startKnot, startPebble, ZONE, type Pebble } from '../../scripts/acme-local-lib.ts';
import { tempStateDir } from './support.ts';

async function servers(t: import('node:test').TestContext, extra: { externalAccountMACKeys?: Record<string, string> } = {}) {
  const knot = await startKnot(await freePort());
  t.after(() => knot.stop());
  const ports = { http: await freePort(), tls: await freePort() };
  const pebble = await startPebble({ port: await freePort(), managementPort: await freePort(), dnsPort: knot.port, httpPort: ports.http, tlsPort: ports.tls, ...extra });
  t.after(() => pebble.stop());
  return { knot, pebble, ports };
}

function chainsTo(certPem: string, chainPem: string, rootPem: string): boolean {
  const certs = [certPem, ...chainPem.split(/(?<=-----END CERTIFICATE-----)\s*/).filter((b) => b.includes('BEGIN'))].map((p) => new X509Certificate(p));
  const root = new X509Certificate(rootPem);
  for (let i = 0; i < certs.length - 1; i++) if (!certs[i]!.verify(certs[i + 1]!.publicKey)) return false;
  return certs.at(-1)!.verify(root.publicKey);
}

async function request(store: CertificateStore, pebble: Pebble, domain: string, challenges: ('http-01' | 'tls-alpn-01')[]) {
  return store.requestAcme({ domain, acme: { directory: pebble.directory, email: 'ops@example.org', keyType: 'ec256', challenges } });
}

test('HTTP-01 and TLS-ALPN-01 against Pebble: PENDING_VALIDATION, then ISSUED, chaining to Pebble’s root; the account key is sealed', async (t) => {
  const { pebble, ports } = await servers(t);
  const stateDir = await tempStateDir(t);
  const store = await CertificateStore.open(stateDir);
  const server = await ChallengeServer.start({ address: '127.0.0.1', httpPort: ports.http, tlsPort: ports.tls });
  t.after(() => server.close());
  const root = await pebble.root();

  for (const type of ['http-01', 'tls-alpn-01'] as const) {
    const domain = `${type.replace(/-/g, '')}.${ZONE}`;
    const pending = await request(store, pebble, domain, [type]);
    assert.equal(pending.status, 'PENDING_VALIDATION');
    assert.equal(pending.certPem, '');
    const t0 = performance.now();
    const result = await attemptIssue(store, pending.arn, { responder: server, caBundle: pebble.caBundle });
    assert.ok(result.ok, `${type}: ${!result.ok ? result.failure.message : ''}`);
    t.diagnostic(`${type}: request -> issued in ${Math.round(performance.now() - t0)} ms`);
    const r = (await store.get(pending.arn))!;
    assert.equal(r.status, 'ISSUED');
    assert.deepEqual(r.domains, [domain]);
    assert.ok(new X509Certificate(r.certPem).checkHost(domain));
    assert.ok(chainsTo(r.certPem, r.chainPem, root), 'chains to Pebble’s root');
    const key = await store.readPrivateKey(r.arn);
    assert.ok(new X509Certificate(r.certPem).checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(key))));
  }
  // The account key and certificate keys never appear in clear at rest.
  const { allFiles } = await import('./support.ts');
  for (const f of await allFiles(stateDir)) {
    const text = await readFile(f, 'utf8');
    assert.ok(!text.includes('PRIVATE KEY'), `${f} holds a key in clear`);
  }
  assert.ok((await allFiles(join(stateDir, 'acme'))).length === 1, 'one account for the directory and contact');
});

test('failures end FAILED with a reason and no loop: challenge unreachable, CA down, account rejected', async (t) => {
  const { pebble } = await servers(t);
  const stateDir = await tempStateDir(t);
  const store = await CertificateStore.open(stateDir);
  // Nothing answers on the ports Pebble connects to.
  const silent = { publish: async () => {}, withdraw: async () => {} };
  const unreachable = await request(store, pebble, `nobody.${ZONE}`, ['http-01']);
  const r1 = await attemptIssue(store, unreachable.arn, { responder: silent, caBundle: pebble.caBundle });
  assert.equal(r1.ok, false);
  const f1 = (await store.get(unreachable.arn))!;
  assert.equal(f1.status, 'FAILED');
  assert.equal(f1.failureReason, 'DOMAIN_VALIDATION_DENIED');
  assert.match(f1.failureDetail!, /^http-01 for nobody\.acme\.test failed: acme error connection: /);
  assert.ok(!f1.failureDetail!.includes('\n'));

  // A CA that does not answer at all.
  const closed = await freePort();
  const down = await store.requestAcme({ domain: `down.${ZONE}`, acme: { directory: `https://127.0.0.1:${closed}/dir`, keyType: 'ec256', challenges: ['http-01'] } });
  const t0 = performance.now();
  const r2 = await attemptIssue(store, down.arn, { responder: silent });
  assert.equal(r2.ok, false);
  assert.ok(performance.now() - t0 < 15_000, 'gives up without a long retry loop');
  const f2 = (await store.get(down.arn))!;
  assert.equal(f2.status, 'FAILED');
  assert.equal(f2.failureReason, 'OTHER');
  assert.match(f2.failureDetail!, /^the ACME directory https:\/\/127\.0\.0\.1:\d+\/dir cannot be reached \(ECONNREFUSED\)$/);

  // Its account refused: this Pebble wants an external account binding.
  const eabPebble = await startPebble({ port: await freePort(), managementPort: await freePort(), dnsPort: 53, httpPort: await freePort(), tlsPort: await freePort(), externalAccountMACKeys: { kid1: 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W' } });
  t.after(() => eabPebble.stop());
  const rejected = await store.requestAcme({ domain: `eab.${ZONE}`, acme: { directory: eabPebble.directory, keyType: 'ec256', challenges: ['http-01'] } });
  const r3 = await attemptIssue(store, rejected.arn, { responder: silent, caBundle: eabPebble.caBundle });
  assert.equal(r3.ok, false);
  const f3 = (await store.get(rejected.arn))!;
  assert.equal(f3.status, 'FAILED');
  assert.equal(f3.failureReason, 'ADDITIONAL_VERIFICATION_REQUIRED');
  assert.match(f3.failureDetail!, /^account registration: acme error externalAccountRequired: /);

  // With the binding the same CA registers the account and validation proceeds.
  const bound = await store.requestAcme({ domain: `eab2.${ZONE}`, acme: { directory: eabPebble.directory, keyType: 'ec256', challenges: ['http-01'] } });
  const r4 = await attemptIssue(store, bound.arn, { responder: silent, caBundle: eabPebble.caBundle, eab: { kid: 'kid1', hmacKey: 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W' } });
  assert.equal(r4.ok, false);
  // Registered: it failed later, at validation (port 53 is no DNS server here).
  assert.doesNotMatch((await store.get(bound.arn))!.failureDetail!, /account registration/);
});

test('DNS-01 through RFC 2136 updates to Knot, for a wildcard and its apex; the records are removed after', async (t) => {
  const { knot, pebble } = await servers(t);
  const store = await CertificateStore.open(await tempStateDir(t));
  const { Rfc2136Publisher } = await import('../../src/certs/index.ts');
  const dns = new Rfc2136Publisher({ server: `127.0.0.1:${knot.port}`, zone: ZONE, key: { name: knot.tsig.name, algorithm: knot.tsig.algorithm, secret: Buffer.from(knot.tsig.secret, 'base64') } });
  const silent = { publish: async () => {}, withdraw: async () => {} };
  const pending = await store.requestAcme({ domain: `*.${ZONE}`, sans: [ZONE], acme: { directory: pebble.directory, keyType: 'ec384', challenges: ['dns-01'] } });
  const t0 = performance.now();
  const result = await attemptIssue(store, pending.arn, { responder: silent, dns, caBundle: pebble.caBundle });
  assert.ok(result.ok, !result.ok ? result.failure.message : '');
  t.diagnostic(`dns-01 (wildcard + apex): request -> issued in ${Math.round(performance.now() - t0)} ms`);
  const cert = new X509Certificate(result.record.certPem);
  assert.ok(cert.checkHost(`anything.${ZONE}`) && cert.checkHost(ZONE));
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  assert.ok(chainsTo(result.record.certPem, result.record.chainPem, await pebble.root()));
  const { promises: dnsp } = await import('node:dns');
  const resolver = new dnsp.Resolver();
  resolver.setServers([`127.0.0.1:${knot.port}`]);
  await assert.rejects(resolver.resolveTxt(`_acme-challenge.${ZONE}`), /ENODATA|ENOTFOUND/);

  // Without a DNS server to update, a wildcard cannot be validated: FAILED, saying so.
  const no = await store.requestAcme({ domain: `*.no.${ZONE}`, acme: { directory: pebble.directory, keyType: 'ec256', challenges: ['dns-01', 'http-01'] } });
  const r2 = await attemptIssue(store, no.arn, { responder: silent, caBundle: pebble.caBundle });
  assert.equal(r2.ok, false);
  assert.match((await store.get(no.arn))!.failureDetail!, /no\.acme\.test: no challenge isobar can answer \(the CA offers dns-01; a wildcard needs dns-01 and no DNS update server is configured \(acme\.dns\)\)/);
});

test('a renewal that fails keeps the certificate, records ACM’s RenewalSummary and backs off, doubling', async (t) => {
  const { pebble, ports } = await servers(t);
  const store = await CertificateStore.open(await tempStateDir(t));
  const server = await ChallengeServer.start({ address: '127.0.0.1', httpPort: ports.http });
  t.after(() => server.close());
  const pending = await request(store, pebble, `renew.${ZONE}`, ['http-01']);
  const first = await attemptIssue(store, pending.arn, { responder: server, caBundle: pebble.caBundle });
  assert.ok(first.ok);
  // The CA goes away: the renewal fails, the issued certificate stays.
  await pebble.stop();
  const backoff = { baseMs: 60_000, maxMs: 600_000 };
  const t0 = Date.now();
  const r1 = await attemptIssue(store, pending.arn, { responder: server, caBundle: pebble.caBundle, backoff });
  assert.equal(r1.ok, false);
  const a = (await store.get(pending.arn))!;
  assert.equal(a.status, 'ISSUED');
  assert.equal(a.fingerprint, first.record.fingerprint, 'the old certificate keeps serving');
  assert.equal(a.renewal?.status, 'FAILED');
  assert.equal(a.renewal?.attempts, 1);
  assert.equal(a.renewal?.reason, 'OTHER');
  assert.match(a.renewal!.detail!, /cannot be reached \(ECONNREFUSED\)/);
  const wait1 = Date.parse(a.renewal!.nextAttemptAt!) - t0;
  assert.ok(wait1 >= 59_000 && wait1 <= 70_000, `first retry after about a minute (${wait1} ms)`);
  const r2 = await attemptIssue(store, pending.arn, { responder: server, caBundle: pebble.caBundle, backoff });
  assert.equal(r2.ok, false);
  const b = (await store.get(pending.arn))!;
  assert.equal(b.renewal?.attempts, 2);
  const wait2 = Date.parse(b.renewal!.nextAttemptAt!) - Date.parse(b.renewal!.updatedAt);
  assert.equal(wait2, 120_000, 'doubled');
  const { renewalDueAt } = await import('../../src/certs/index.ts');
  assert.equal(renewalDueAt(b), Date.parse(b.renewal!.nextAttemptAt!), 'serve waits for the backoff, not the lifetime');
});

test('ARI (RFC 9773): the CertID of the RFC’s example, and the window read from a directory’s renewalInfo', async (t) => {
  const x509 = await import('@peculiar/x509');
  const { webcrypto } = await import('node:crypto');
  const { ariCertId, fetchRenewalWindow } = await import('../../src/certs/ari.ts');
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as { publicKey: CryptoKey; privateKey: CryptoKey };
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0087654321',
    subject: 'CN=ari.example',
    issuer: 'CN=ari issuer',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: alg,
    extensions: [new x509.AuthorityKeyIdentifierExtension('69885b6b87464041e1b37b847ba0ae2cde01c8d4')],
  });
  // RFC 9773 appendix A: keyIdentifier 69:88:5B:... and serial 00:87:65:43:21.
  assert.equal(ariCertId(cert.toString('pem')), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');

  const { createServer } = await import('node:https');
  const { createCa } = await import('../../src/demo/pki.ts');
  const ca = await createCa('ari test CA');
  const leaf = await ca.issue({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const seen: string[] = [];
  const srv = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    seen.push(req.url ?? '');
    const base = `https://127.0.0.1:${(srv.address() as { port: number }).port}`;
    if (req.url === '/dir') return res.end(JSON.stringify({ newNonce: `${base}/nonce`, renewalInfo: `${base}/renewal-info` }));
    if (req.url === '/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE') return res.end(JSON.stringify({ suggestedWindow: { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z' } }));
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const w = await fetchRenewalWindow(`https://127.0.0.1:${port}/dir`, cert.toString('pem'), ca.certPem);
  assert.deepEqual(w, { start: Date.parse('2030-01-01T00:00:00Z'), end: Date.parse('2030-01-02T00:00:00Z') });
  assert.deepEqual(seen, ['/dir', '/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE']);
});
