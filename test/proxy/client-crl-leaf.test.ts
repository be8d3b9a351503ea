// The leaf-only CRL check (clientValidation.crlOnlyVerifyLeafCert): the
// client certificate's issuer must have a current CRL it signed, and the
// leaf must not be on it; CAs above the issuer need no CRL.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createCa, type Ca, type Issued } from '../support/pki.ts';
import { LeafCrlCheck } from '../../src/proxy/client-crl.ts';

const DAY = 86_400_000;

async function crl(ca: Ca, revoked: Issued[], window: { from: number; to: number } = { from: -DAY, to: DAY }): Promise<string> {
  const der = Buffer.from(ca.keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const caCert = new x509.X509Certificate(ca.certPem);
  const c = await x509.X509CrlGenerator.create({
    issuer: caCert.subject,
    thisUpdate: new Date(Date.now() + window.from),
    nextUpdate: new Date(Date.now() + window.to),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey: key as unknown as CryptoKey,
    entries: revoked.map((r) => ({ serialNumber: new x509.X509Certificate(r.certPem).serialNumber, revocationDate: new Date(Date.now() - 1000) })),
  });
  return c.toString('pem').replace(/(BEGIN|END) CRL/g, '$1 X509 CRL') + '\n';
}

const root = await createCa('leaf-crl root');
const inter = await root.intermediate('leaf-crl intermediate');
const good = await inter.issue({ commonName: 'good', client: true });
const bad = await inter.issue({ commonName: 'bad', client: true });
const impostor = await createCa('leaf-crl intermediate'); // same name, other key
const leaf = (i: Issued) => new X509Certificate(i.certPem);
const sent = (i: Issued) => [leaf(i), new X509Certificate(inter.certPem)];

const rows: [name: string, crls: () => Promise<string>, client: Issued, want: string | null][] = [
  ['a leaf the issuer\'s CRL does not list passes (no CRL needed from the root)', () => crl(inter, [bad]), good, null],
  ['a revoked leaf is refused', () => crl(inter, [bad]), bad, 'certificate revoked'],
  ['only the root\'s CRL: nothing vouches for the leaf\'s issuer', () => crl(root, []), good, 'unable to get certificate CRL'],
  ['a CRL under the issuer\'s name but another key does not count', async () => (await crl(impostor, [])) + (await crl(root, [])), good, 'unable to get certificate CRL'],
  ['an expired CRL', () => crl(inter, [], { from: -2 * DAY, to: -DAY }), good, 'CRL has expired or is not yet valid'],
  ['a CRL not yet valid', () => crl(inter, [], { from: DAY, to: 2 * DAY }), good, 'CRL has expired or is not yet valid'],
  ['several CRLs in one crl.pem: the issuer\'s is found', async () => (await crl(root, [])) + (await crl(inter, [bad])), bad, 'certificate revoked'],
];

for (const [name, crls, client, want] of rows) {
  test(`leaf-only CRL: ${name}`, async () => {
    const check = new LeafCrlCheck(root.certPem, await crls());
    assert.equal(await check.problem(leaf(client), sent(client)), want);
  });
}

test('leaf-only CRL: the issuer may come from the CA bundle instead of the client', async () => {
  const check = new LeafCrlCheck(root.certPem + inter.certPem, await crl(inter, [bad]));
  assert.equal(await check.problem(leaf(bad), [leaf(bad)]), 'certificate revoked');
  assert.equal(await new LeafCrlCheck(root.certPem, await crl(inter, [])).problem(leaf(good), [leaf(good)]), 'unable to get issuer certificate');
});
