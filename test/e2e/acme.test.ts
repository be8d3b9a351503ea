// ACME through `isobar serve`, against a real Pebble resolving through Knot
// DNS: a certificate requested while serve runs is left to serve, whose load
// balancer answers HTTP-01 on its port-80 listener (before the proxy, where
// the HTTPProxy's catch-all would answer otherwise) and TLS-ALPN-01 on its
// 443 listener; the issued certificate is served, chains to Pebble's root,
// and is renewed when a third of its (short) lifetime is left, with the new
// one served and not one failed request meanwhile.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { CertificateStore } from '../../src/certs/index.ts';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { CLI, edgeCall, freeOffset, freePort, httpsGet, startServe, waitFor } from './support.ts';
import { startKnot, startPebble, ZONE } from '../../scripts/acme-local-lib.ts';

const ARN_HTTP = 'arn:aws:acm:local:000000000000:certificate/aaaaaaaa-0000-4000-8000-000000000001';
const ARN_ALPN = 'arn:aws:acm:local:000000000000:certificate/aaaaaaaa-0000-4000-8000-000000000002';
const ARN_LOCAL = 'arn:aws:acm:local:000000000000:certificate/aaaaaaaa-0000-4000-8000-000000000003';
const HTTP_HOST = `app.${ZONE}`;
const ALPN_HOST = `alpn.${ZONE}`;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function manifests(sslCert: string, backendPort: number): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: projectcontour
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb
    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: ${sslCert}
    service.beta.kubernetes.io/aws-load-balancer-ssl-ports: "443"
spec:
  type: LoadBalancer
  ports:
    - {name: http, port: 80, targetPort: 8080, protocol: TCP}
    - {name: https, port: 443, targetPort: 8080, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  ports: [{name: http, port: 80, targetPort: ${backendPort}}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: demo}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: http, port: ${backendPort}}]}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: app, namespace: demo}
spec:
  virtualhost: {fqdn: ${HTTP_HOST}}
  routes: [{services: [{name: web, port: 80}]}]
`;
}

test('serve validates with its own load balancer (HTTP-01, TLS-ALPN-01), serves the certificate, renews it with no failed request', { timeout: 90_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-acme-e2e-'));
  const stateDir = join(work, 'state');
  const dir = join(work, 'manifests');
  const offset = await freeOffset([80, 443]);
  const knot = await startKnot(await freePort());
  t.after(() => knot.stop());
  // Short lifetimes: renewal is due 10 s after issuance.
  const pebble = await startPebble({ port: await freePort(), managementPort: await freePort(), dnsPort: knot.port, httpPort: 80 + offset, tlsPort: 443 + offset, validitySeconds: 15 });
  t.after(() => pebble.stop());
  const backend = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'web' });
  t.after(() => backend.close());
  const config = join(work, 'isobar.yaml');
  await writeFile(config, `acme:\n  directory: ${pebble.directory}\n  email: ops@example.org\n  caBundle: ${pebble.caBundleFile}\n`);
  const local = await cli(['certs', '--state-dir', stateDir, 'request', '--domain', HTTP_HOST, '--arn', ARN_LOCAL]);
  assert.equal(local.code, 0, local.stderr);
  await rm(dir, { recursive: true, force: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  await writeFile(join(dir, 'edge.yaml'), manifests(ARN_LOCAL, backend.port));
  const serve = await startServe([dir, '--config', config, '--state-dir', stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '1', '--drain-timeout', '1s'], await freePort());
  t.after(() => serve.stop());
  // t.after hooks run in the order they were added: the folder goes once serve, Pebble and Knot have stopped writing to it.
  t.after(() => rm(work, { recursive: true, force: true }));
  const root = await pebble.root();

  // Requested while serve runs: the ARN at once, left to serve.
  const t0 = Date.now();
  const req = await cli(['certs', '--state-dir', stateDir, '--config', config, 'request', '--acme', '--domain', HTTP_HOST, '--arn', ARN_HTTP, '--challenge', 'http-01']);
  assert.equal(req.code, 0, req.stderr);
  assert.equal(req.stdout, `${ARN_HTTP}\n`);
  assert.match(req.stderr, /is PENDING_VALIDATION: isobar serve \(pid \d+\) validates it with its load balancer/);
  // The store as `certs describe` reads it (a CLI process per poll would cost seconds here).
  const store = await CertificateStore.open(stateDir, { readOnly: true });
  const describe = async (arn: string) => (await store.get(arn))!;
  await waitFor('the HTTP-01 certificate to be issued', async () => {
    const d = await describe(ARN_HTTP);
    if (d.status === 'FAILED') throw new Error(`FAILED: ${d.failureDetail}\n${serve.output()}`);
    return d.status === 'ISSUED';
  }, 30_000, 100);
  t.diagnostic(`HTTP-01 through serve: request -> issued in ${Date.now() - t0} ms`);

  // TLS-ALPN-01 on the 443 listener, while it serves the local certificate.
  // The Service names the new ARN before it exists (an error: the Service
  // keeps its load balancer), then it is PENDING_VALIDATION (said in the
  // Service's status, the listener still serving), then issued and served.
  await writeFile(join(dir, 'edge.yaml'), manifests(`${ARN_LOCAL},${ARN_ALPN}`, backend.port));
  await waitFor('the missing certificate in the log', () => serve.output().includes(`certificate ${ARN_ALPN} is not in the certificate store`), 15_000);
  const t1 = Date.now();
  const req2 = await cli(['certs', '--state-dir', stateDir, '--config', config, 'request', '--acme', '--domain', ALPN_HOST, '--arn', ARN_ALPN, '--challenge', 'tls-alpn-01']);
  assert.equal(req2.code, 0, req2.stderr);
  await waitFor('the TLS-ALPN-01 certificate to be issued', async () => {
    const d = await describe(ARN_ALPN);
    if (d.status === 'FAILED') throw new Error(`FAILED: ${d.failureDetail}\n${serve.output()}`);
    return d.status === 'ISSUED';
  }, 30_000, 100);
  t.diagnostic(`TLS-ALPN-01 through serve: request -> issued in ${Date.now() - t1} ms`);
  assert.match(serve.output(), new RegExp(`certificate ${ARN_ALPN} not yet issued \\(PENDING_VALIDATION\\)`));
  const alpnServed = await waitFor('the TLS-ALPN-01 certificate served for its name', async () => {
    const a = await httpsGet({ host: ALPN_HOST, port: 443 + offset, ca: root }).catch(() => undefined);
    return a && a.peerFingerprint.replace(/:/g, '') === (await describe(ARN_ALPN)).fingerprint.replace(/:/g, '') ? a : undefined;
  }, 15_000, 100);
  assert.equal(alpnServed.status, 404, 'no route for that host, but its certificate');

  // The Service now names the ACME certificate: served, chaining to Pebble's root.
  await writeFile(join(dir, 'edge.yaml'), manifests(ARN_HTTP, backend.port));
  const port = 443 + offset;
  const first = await waitFor('the ACME certificate on 443', async () => {
    const a = await httpsGet({ host: HTTP_HOST, port, ca: root });
    return a.status === 200 ? a : undefined;
  }, 15_000, 100).catch(async (err) => {
    const { connect } = await import('node:tls');
    const s = connect({ host: '127.0.0.1', port, servername: HTTP_HOST, rejectUnauthorized: false });
    await new Promise((r) => s.once('secureConnect', r));
    const c = s.getPeerCertificate(true);
    t.diagnostic(`served: ${c.subject?.CN} issued by ${c.issuer?.CN}, next ${c.issuerCertificate?.subject?.CN} by ${c.issuerCertificate?.issuer?.CN}; root ${new X509Certificate(root).subject}`);
    s.destroy();
    throw err;
  });
  assert.match(first.body, /"backend": "web"/);

  // Renewal: requests all along; the new certificate arrives without one failing.
  let failures = 0;
  let requests = 0;
  let stop = false;
  const seen = new Map<string, number>();
  const loop = (async () => {
    while (!stop) {
      try {
        const a = await httpsGet({ host: HTTP_HOST, port, ca: root });
        requests++;
        if (a.status !== 200) failures++;
        const f = a.peerFingerprint.replace(/:/g, '');
        if (!seen.has(f)) seen.set(f, Date.now());
      } catch (err) {
        failures++;
        t.diagnostic(`request failed: ${(err as Error).message}`);
      }
    }
  })();
  const before = first.peerFingerprint.replace(/:/g, '');
  const renewed = await waitFor('a renewed certificate served', async () => {
    const d = await describe(ARN_HTTP);
    const f = d.fingerprint.replace(/:/g, '');
    return f !== before && seen.has(f) ? d : undefined;
  }, 30_000, 50);
  const servedAt = seen.get(renewed.fingerprint.replace(/:/g, ''))!;
  stop = true;
  await loop;
  t.diagnostic(`renewal: stored at ${renewed.updatedAt}, first served ${servedAt - Date.parse(renewed.updatedAt!)} ms later; ${requests} requests, ${failures} failed`);
  // serve's own time per order (account, order, challenge, finalize, store), from its log.
  for (const m of serve.output().matchAll(/"kind":"(issue|renew)","ms":(\d+)/g)) t.diagnostic(`serve ${m[1]}: ${m[2]} ms`);
  assert.equal(failures, 0);
  assert.ok(requests >= 3, `${requests} requests`);
  assert.ok(new X509Certificate(`${(await cli(['certs', '--state-dir', stateDir, 'export', ARN_HTTP])).stdout.split('-----END CERTIFICATE-----')[0]}-----END CERTIFICATE-----\n`).checkHost(HTTP_HOST));
  // Metrics: the renewal counted.
  const metrics = await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text();
  assert.match(metrics, /isobar_certificate_issuances_total\{kind="renew",result="success"\} [1-9]/);
  assert.match(metrics, /isobar_certificate_issuances_total\{kind="issue",result="success"\} 2/);
});

test('serve --roles dag,proxy (the proxy serves port 80 itself): HTTP-01 answered by the proxy before its HTTPS redirect', { timeout: 90_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-acme-proxy-'));
  const stateDir = join(work, 'state');
  const dir = join(work, 'manifests');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  // Every path of the host redirects to https: the classic way HTTP-01 breaks.
  await writeFile(join(dir, 'proxy.yaml'), `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: redirect, namespace: demo}
spec:
  virtualhost: {fqdn: ${HTTP_HOST}}
  routes: [{requestRedirectPolicy: {scheme: https, statusCode: 301}}]
`);
  const httpPort = await freePort();
  const knot = await startKnot(await freePort());
  t.after(() => knot.stop());
  const pebble = await startPebble({ port: await freePort(), managementPort: await freePort(), dnsPort: knot.port, httpPort, tlsPort: await freePort() });
  t.after(() => pebble.stop());
  await (await CertificateStore.open(stateDir)).caCertificatePem(); // the store exists
  const serve = await startServe([dir, '--roles', 'dag,proxy', '--state-dir', stateDir, '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--drain-timeout', '1s'], await freePort());
  t.after(() => serve.stop());
  // t.after hooks run in the order they were added: the folder goes once serve, Pebble and Knot have stopped writing to it.
  t.after(() => rm(work, { recursive: true, force: true }));
  const probe = await edgeCall({ port: httpPort, ca: '', host: HTTP_HOST, path: '/.well-known/acme-challenge/abc', plain: true });
  assert.equal(probe.status, 301, 'no challenge pending: the route answers');
  const req = await cli(['certs', '--state-dir', stateDir, 'request', '--acme', pebble.directory, '--ca-bundle', pebble.caBundleFile, '--domain', HTTP_HOST, '--challenge', 'http-01']);
  assert.equal(req.code, 0, req.stderr);
  const arn = req.stdout.trim();
  const store = await CertificateStore.open(stateDir, { readOnly: true });
  const r = await waitFor('issued through the proxy', async () => {
    const d = (await store.get(arn))!;
    if (d.status === 'FAILED') throw new Error(`FAILED: ${d.failureDetail}`);
    return d.status === 'ISSUED' ? d : undefined;
  }, 30_000, 100);
  assert.ok(new X509Certificate(r.certPem).checkHost(HTTP_HOST));
});
