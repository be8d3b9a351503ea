// X-Forwarded-Client-Cert in Envoy's format: the RFC 2253 subject, SANs,
// hash, URL-encoded PEM, the order of the keys, and the chain a real TLS
// handshake leaves (leaf and intermediate, not the trust anchor).
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { createCa, type Ca } from '../support/pki.ts';
import { peerCertificatesOf, rfc2253, sans, xfccValue, type PeerCertificates } from '../../src/proxy/xfcc.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A certificate with any subject and SANs, signed by `ca`. */
async function issue(ca: Ca, subject: x509.JsonName, names: x509.JsonGeneralName[], client: boolean): Promise<{ certPem: string; keyPem: string }> {
  const der = Buffer.from(ca.keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0a' + Date.now().toString(16),
    subject: new x509.Name(subject),
    issuer: new x509.X509Certificate(ca.certPem).subject,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey as unknown as CryptoKey,
    signingKey: signingKey as unknown as CryptoKey,
    extensions: [
      new x509.ExtendedKeyUsageExtension([client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64').replace(/.{64}/g, '$&\n');
  return { certPem: cert.toString('pem') + '\n', keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n` };
}

const root = await createCa('xfcc root');
const sub = await root.intermediate('xfcc intermediate');
const client = await issue(
  sub,
  [{ C: ['US'] }, { O: ['Acme, Inc.'] }, { OU: ['edge'], '0.9.2342.19200300.100.1.1': ['u1'] }, { CN: ['client é'] }],
  [
    { type: 'dns', value: 'a.example.com' },
    { type: 'url', value: 'spiffe://cluster.local/ns/default/sa/client' },
    { type: 'dns', value: 'b.example.com' },
    { type: 'ip', value: '192.0.2.1' },
  ],
  true,
);
const server = await issue(root, [{ CN: ['edge.example.com'] }], [{ type: 'dns', value: 'edge.example.com' }, { type: 'url', value: 'spiffe://cluster.local/ns/edge/sa/isobar' }], false);

test('xfcc: RFC 2253 subjects as OpenSSL prints them (reversed RDNs, "+" inside an RDN, \\XX above ASCII)', () => {
  const rows: [string, string][] = [
    ['CN=client', 'CN=client'],
    ['C=US\nO=Acme\\, Inc.\nOU=a', 'OU=a,O=Acme\\, Inc.,C=US'],
    ['C=US\nO=Acme \\"Q\\" \\<x\\>\\;\nOU=a + UID=b\nCN=client é #1\\ ', 'CN=client \\C3\\A9 #1\\ ,UID=b+OU=a,O=Acme \\"Q\\" \\<x\\>\\;,C=US'],
    ['', ''],
  ];
  for (const [node, want] of rows) assert.equal(rfc2253(node), want, JSON.stringify(node));
});

test('xfcc: every detail, in Envoy\'s order, with By and Hash first', () => {
  const leaf = new X509Certificate(client.certPem);
  const inter = new X509Certificate(sub.certPem);
  const peer: PeerCertificates = { leaf, chain: [leaf, inter], localUris: ['spiffe://cluster.local/ns/edge/sa/isobar'] };
  const hash = createHash('sha256').update(leaf.raw).digest('hex');
  assert.deepEqual(sans(leaf, 'DNS'), ['a.example.com', 'b.example.com']);
  assert.equal(
    xfccValue({ subject: true, cert: true, chain: true, dns: true, uri: true }, peer),
    [
      'By=spiffe://cluster.local/ns/edge/sa/isobar',
      `Hash=${hash}`,
      `Cert="${encodeURIComponent(leaf.toString())}"`,
      `Chain="${encodeURIComponent(leaf.toString() + inter.toString())}"`,
      `Subject="${rfc2253(leaf.subject)}"`,
      'URI=spiffe://cluster.local/ns/default/sa/client',
      'DNS=a.example.com',
      'DNS=b.example.com',
    ].join(';'),
  );
  assert.equal(rfc2253(leaf.subject), 'CN=client \\C3\\A9,UID=u1+OU=edge,O=Acme\\, Inc.,C=US');
  assert.match(encodeURIComponent(leaf.toString()), /^-----BEGIN%20CERTIFICATE-----%0A[A-Za-z0-9%]+-----END%20CERTIFICATE-----%0A$/);
});

test('xfcc: nothing asked for still sends the hash; an asked-for URI is kept empty; no DNS SAN sends no DNS key', async () => {
  const bare = new X509Certificate((await sub.issue({ commonName: 'bare', client: true })).certPem);
  const peer: PeerCertificates = { leaf: bare, chain: [bare], localUris: [] };
  const hash = createHash('sha256').update(bare.raw).digest('hex');
  assert.equal(xfccValue({ subject: false, cert: false, chain: false, dns: false, uri: false }, peer), `Hash=${hash}`);
  assert.equal(xfccValue({ subject: true, cert: false, chain: false, dns: true, uri: true }, peer), `Hash=${hash};Subject="CN=bare";URI=`);
});

test('xfcc: a real handshake gives the leaf and the intermediate the client sent, and the server certificate\'s URI', async () => {
  const srv = tls.createServer({ cert: server.certPem, key: server.keyPem, ca: root.certPem, requestCert: true, rejectUnauthorized: true });
  const seen = new Promise<PeerCertificates | null>((resolve) => {
    srv.on('secureConnection', (s) => {
      resolve(peerCertificatesOf(s, (der) => new X509Certificate(der)));
      s.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const c = tls.connect({ host: '127.0.0.1', port, servername: 'edge.example.com', ca: root.certPem, cert: client.certPem + sub.certPem, key: client.keyPem });
  c.on('error', () => {});
  try {
    const peer = await seen;
    assert.ok(peer);
    assert.deepEqual(peer.chain.map((x) => x.subject), [new X509Certificate(client.certPem).subject, 'CN=xfcc intermediate']);
    assert.deepEqual(peer.localUris, ['spiffe://cluster.local/ns/edge/sa/isobar']);
  } finally {
    c.destroy();
    srv.close();
  }
});
