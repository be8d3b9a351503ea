import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCa, selfSigned } from './pki.ts';

test('issued leaf verifies against its CA and carries the SANs', async () => {
  const ca = await createCa();
  const leaf = await ca.issue({ dnsNames: ['backend.example.test'] });
  const cert = new X509Certificate(leaf.certPem);
  assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  assert.match(cert.subjectAltName ?? '', /DNS:backend\.example\.test/);
  assert.equal(cert.checkHost('backend.example.test'), 'backend.example.test');
  const other = await createCa('other');
  assert.equal(cert.verify(new X509Certificate(other.certPem).publicKey), false);
});

test('expired and self-signed material', async () => {
  const ca = await createCa();
  const expired = await ca.issue({ dnsNames: ['a.test'], notBeforeDays: -10, notAfterDays: -1 });
  assert.ok(new Date(new X509Certificate(expired.certPem).validTo) < new Date());
  const self = await selfSigned(['a.test']);
  assert.equal(self.issuerPem, '');
  assert.ok(new X509Certificate(self.certPem).verify(new X509Certificate(self.certPem).publicKey));
});
