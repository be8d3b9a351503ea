// Client certificates through the whole chain: the load balancer forwards
// TCP with PROXY v2 (TLS ends at the proxy, which validates the client),
// the proxy forwards to a plain backend that echoes what it got. A virtual
// host with forwardClientCertificate sends Envoy's X-Forwarded-Client-Cert
// (never the client's forged one), another strips it; the leaf-only CRL
// check passes a good client whose root has no CRL and cuts off a revoked
// one; an IP filter still judges the client the PROXY header names.

import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { stringify } from 'yaml';
import { startDemoBackend } from '../../src/demo/index.ts';
import { createCa, type Ca, type Issued } from '../support/pki.ts';
import { freeOffset, freePort, startServe, type ServeProcess } from './support.ts';

async function crl(ca: Ca, revoked: Issued[]): Promise<string> {
  const der = Buffer.from(ca.keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const c = await x509.X509CrlGenerator.create({
    issuer: new x509.X509Certificate(ca.certPem).subject,
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey: key as unknown as CryptoKey,
    entries: revoked.map((r) => ({ serialNumber: new x509.X509Certificate(r.certPem).serialNumber, revocationDate: new Date(Date.now() - 30_000) })),
  });
  return c.toString('pem').replace(/(BEGIN|END) CRL/g, '$1 X509 CRL') + '\n';
}

test('client certificates through the chain: XFCC forwarded or stripped, the leaf-only CRL check, an IP filter behind TCP', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-client-certs-'));
  const manifests = join(work, 'manifests');
  await mkdir(manifests);
  const edgeCa = await createCa('edge CA');
  const root = await createCa('client root');
  const inter = await root.intermediate('client intermediate');
  const good = await inter.issue({ commonName: 'good', client: true, dnsNames: ['good.clients.test'] });
  const revoked = await inter.issue({ commonName: 'revoked', client: true });
  const backend = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'app' });
  let backendRequests = 0;
  backend.server.on('request', () => backendRequests++);
  const tlsSecret = async (name: string, fqdn: string) => {
    const c = await edgeCa.issue({ dnsNames: [fqdn] });
    return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'demo' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': c.certPem, 'tls.key': c.keyPem } };
  };
  const route = { services: [{ name: 'app', port: 80 }] };
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'envoy', namespace: 'projectcontour', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', 'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol': '*' } },
      spec: { type: 'LoadBalancer', ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] },
    },
    await tlsSecret('forward-tls', 'forward.example.test'),
    await tlsSecret('strip-tls', 'strip.example.test'),
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'client-ca', namespace: 'demo' }, type: 'Opaque', stringData: { 'ca.crt': root.certPem } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'client-crl', namespace: 'demo' }, type: 'Opaque', stringData: { 'crl.pem': await crl(inter, [revoked]) } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app', namespace: 'demo' }, spec: { ports: [{ port: 80, targetPort: backend.port }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'app', namespace: 'demo' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: backend.port }] }] },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'forward', namespace: 'demo' },
      spec: {
        virtualhost: {
          fqdn: 'forward.example.test',
          tls: {
            secretName: 'forward-tls',
            clientValidation: { caSecret: 'client-ca', crlSecret: 'client-crl', crlOnlyVerifyLeafCert: true, forwardClientCertificate: { subject: true, dns: true, uri: true } },
          },
          ipDenyPolicy: [{ cidr: '127.0.0.9', source: 'Remote' }],
        },
        routes: [route],
      },
    },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'strip', namespace: 'demo' },
      spec: { virtualhost: { fqdn: 'strip.example.test', tls: { secretName: 'strip-tls', clientValidation: { caSecret: 'client-ca' } } }, routes: [route] },
    },
  ];
  await writeFile(join(manifests, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));

  const offset = await freeOffset([443]);
  const port = 443 + offset;
  const get = (host: string, client: Issued, from = '127.0.0.2', headers: Record<string, string> = {}): Promise<{ status: number; seen: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port, localAddress: from, servername: host, headers: { host, ...headers }, ca: edgeCa.certPem, cert: client.certPem + inter.certPem, key: client.keyPem, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, seen: res.statusCode === 200 ? (JSON.parse(body) as { headers: Record<string, unknown> }).headers : {} }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [manifests, '--state-dir', join(work, 'state'), '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '1'],
      await freePort(),
    );

    // Forwarded: Envoy's XFCC for the certificate the client presented, not the forged one.
    const fwd = await get('forward.example.test', good, '127.0.0.2', { 'x-forwarded-client-cert': 'Hash=0000;Subject="CN=admin"' });
    assert.equal(fwd.status, 200);
    const hash = createHash('sha256').update(new X509Certificate(good.certPem).raw).digest('hex');
    assert.equal(fwd.seen['x-forwarded-client-cert'], `Hash=${hash};Subject="CN=good";URI=;DNS=good.clients.test`);

    // Stripped where nothing is forwarded.
    const strip = await get('strip.example.test', good, '127.0.0.2', { 'x-forwarded-client-cert': 'Hash=0000;Subject="CN=admin"' });
    assert.equal(strip.status, 200);
    assert.equal(strip.seen['x-forwarded-client-cert'], undefined);

    // The leaf-only CRL check: the revoked client reaches nothing.
    const served = backendRequests;
    await assert.rejects(get('forward.example.test', revoked));
    assert.equal(backendRequests, served);

    // Behind a TCP load balancer the IP filter still sees the client's address.
    const denied = await get('forward.example.test', good, '127.0.0.9');
    assert.equal(denied.status, 403);
    assert.equal(backendRequests, served);
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
