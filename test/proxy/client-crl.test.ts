// Client validation with a CRL (clientValidation CA bundle with crl.pem): a
// revoked client certificate is refused, a good one from the same CA passes.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import https from 'node:https';
import { webcrypto } from 'node:crypto';
import { after, before, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { createCa, type Ca, type Issued } from '../support/pki.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, startProxy, type Backend, type Started } from './fixtures.ts';

let edgeCa: Ca;
let clientCa: Ca;
let good: Issued;
let revoked: Issued;
let app: Backend;
let p: Started;

async function crlRevoking(ca: Ca, certs: Issued[]): Promise<string> {
  const der = Buffer.from(ca.keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const caCert = new x509.X509Certificate(ca.certPem);
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert.subject,
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey: key as unknown as CryptoKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(caCert)],
    entries: certs.map((c) => ({ serialNumber: new x509.X509Certificate(c.certPem).serialNumber, revocationDate: new Date(Date.now() - 30_000) })),
  });
  // OpenSSL reads CRLs only under the "X509 CRL" PEM label.
  return crl.toString('pem').replace(/(BEGIN|END) CRL/g, '$1 X509 CRL') + '\n';
}

before(async () => {
  edgeCa = await createCa('edge CA');
  clientCa = await createCa('client CA');
  good = await clientCa.issue({ commonName: 'good', client: true });
  revoked = await clientCa.issue({ commonName: 'revoked', client: true });
  const crlPem = await crlRevoking(clientCa, [revoked]);
  app = await httpBackend('app');
  p = await startProxy(
    config({
      clusters: [cluster('app', [ep(app)])],
      secrets: [{ id: 'd/edge', ...(await edgeCa.issue({ dnsNames: ['crl.example.test'] })) }],
      caBundles: [{ id: 'd/client-ca', caPem: clientCa.certPem, crlPem }],
      httpsVirtualHosts: [
        secureVhost('crl.example.test', [route({ to: 'app' })], {
          secretId: 'd/edge',
          clientValidation: { caBundleId: 'd/client-ca', skipVerification: false, optional: false },
        }),
      ],
    }),
    [{ name: 'https', tls: true }],
  );
});

after(async () => {
  await p.close();
  await app.close();
});

function call(client: Issued): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: p.port('https'), servername: 'crl.example.test', headers: { host: 'crl.example.test' }, ca: edgeCa.certPem, cert: client.certPem, key: client.keyPem, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('a client certificate on the CRL is refused; another from the same CA passes', async () => {
  assert.equal(await call(good), 200);
  await assert.rejects(call(revoked));
  assert.equal(app.seen.length, 1);
});
