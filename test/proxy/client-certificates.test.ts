// Client certificates on real TLS connections through the proxy runtime:
// X-Forwarded-Client-Cert as Envoy writes it where forwardClientCertificate
// asks, a client's own XFCC removed everywhere else, and the leaf-only CRL
// check (the client's issuer needs a CRL, the CAs above it do not; the
// whole-chain default refuses that same client).
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createCa, type Ca, type Issued } from '../support/pki.ts';
import { xfccValue } from '../../src/proxy/xfcc.ts';
import { cluster, config, ep, get, httpBackend, route, secureVhost, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let edge: Ca;
let root: Ca;
let inter: Ca;
let good: Issued;
let revoked: Issued;
let app: Backend;
let p: Started;

async function crl(ca: Ca, list: Issued[]): Promise<string> {
  const der = Buffer.from(ca.keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const c = await x509.X509CrlGenerator.create({
    issuer: new x509.X509Certificate(ca.certPem).subject,
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey: key as unknown as CryptoKey,
    entries: list.map((i) => ({ serialNumber: new x509.X509Certificate(i.certPem).serialNumber, revocationDate: new Date(Date.now() - 30_000) })),
  });
  return c.toString('pem').replace(/(BEGIN|END) CRL/g, '$1 X509 CRL') + '\n';
}

const FWD = { subject: true, cert: true, chain: true, dns: true, uri: true };

before(async () => {
  edge = await createCa('edge CA');
  root = await createCa('client root');
  inter = await root.intermediate('client intermediate');
  good = await inter.issue({ commonName: 'good', client: true, dnsNames: ['good.clients.test'] });
  revoked = await inter.issue({ commonName: 'revoked', client: true });
  const interCrl = await crl(inter, [revoked]);
  app = await httpBackend('app');
  const hosts = ['fwd.test', 'plain.test', 'leaf.test', 'chain.test'];
  const secrets = await Promise.all(hosts.map(async (h) => ({ id: `d/${h}`, ...(await edge.issue({ dnsNames: [h] })) })));
  const cv = (bundle: string, extra = {}) => ({ caBundleId: bundle, skipVerification: false, optional: false, ...extra });
  p = await startProxy(
    config({
      clusters: [cluster('app', [ep(app)])],
      secrets,
      caBundles: [
        { id: 'd/roots', caPem: root.certPem },
        { id: 'd/roots+crl', caPem: root.certPem, crlPem: interCrl },
      ],
      httpVirtualHosts: [vhost('http.test', [route({ to: 'app' })])],
      httpsVirtualHosts: [
        secureVhost('fwd.test', [route({ to: 'app' })], { secretId: 'd/fwd.test', clientValidation: cv('d/roots', { forwardClientCertificate: FWD }) }),
        secureVhost('plain.test', [route({ to: 'app' })], { secretId: 'd/plain.test', clientValidation: cv('d/roots') }),
        secureVhost('leaf.test', [route({ to: 'app' })], { secretId: 'd/leaf.test', clientValidation: cv('d/roots+crl', { crlOnlyVerifyLeafCert: true }) }),
        secureVhost('chain.test', [route({ to: 'app' })], { secretId: 'd/chain.test', clientValidation: cv('d/roots+crl') }),
      ],
    }),
    [{ name: 'http' }, { name: 'https', tls: true }],
  );
});

after(async () => {
  await p.close();
  await app.close();
});

function call(host: string, client: Issued, headers: Record<string, string> = {}): Promise<{ status: number; seen: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: p.port('https'), servername: host, headers: { host, ...headers }, ca: edge.certPem, cert: client.certPem + inter.certPem, key: client.keyPem, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, seen: body ? (JSON.parse(body) as { headers: Record<string, unknown> }).headers : {} }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('client certificates: the upstream gets Envoy\'s XFCC for the client\'s certificate, never the client\'s own', async () => {
  const r = await call('fwd.test', good, { 'x-forwarded-client-cert': 'Hash=forged;Subject="CN=admin"' });
  assert.equal(r.status, 200);
  const leaf = new X509Certificate(good.certPem);
  const want = xfccValue(FWD, { leaf, chain: [leaf, new X509Certificate(inter.certPem)], localUris: [] });
  assert.equal(r.seen['x-forwarded-client-cert'], want);
  assert.match(want, /^Hash=[0-9a-f]{64};Cert="-----BEGIN%20CERTIFICATE-----%0A.*";Chain=".*";Subject="CN=good";URI=;DNS=good\.clients\.test$/);
});

test('client certificates: a client\'s XFCC is removed where nothing is forwarded, TLS or not', async () => {
  const tlsReq = await call('plain.test', good, { 'x-forwarded-client-cert': 'Hash=forged' });
  assert.equal(tlsReq.status, 200);
  assert.equal(tlsReq.seen['x-forwarded-client-cert'], undefined);
  const plain = await get(p.port('http'), '/', { host: 'http.test', 'x-forwarded-client-cert': 'Hash=forged' });
  assert.equal(plain.status, 200);
  assert.equal((JSON.parse(plain.body) as { headers: Record<string, unknown> }).headers['x-forwarded-client-cert'], undefined);
});

test('client certificates: leaf-only CRL: a good client passes without a CRL from the root, a revoked one is cut off', async () => {
  const before = app.seen.length;
  assert.equal((await call('leaf.test', good)).status, 200);
  await assert.rejects(call('leaf.test', revoked));
  assert.equal(app.seen.length, before + 1, 'the revoked client reached nothing');
});

test('client certificates: the whole-chain default refuses the same good client (the root has no CRL)', async () => {
  const before = app.seen.length;
  await assert.rejects(call('chain.test', good));
  assert.equal(app.seen.length, before);
});
