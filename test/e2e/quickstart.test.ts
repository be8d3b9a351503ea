// The walkthrough, end to end, on real sockets: curl → load balancer (TLS
// terminated with the certificate from the store) → PROXY v2 → proxy →
// validated upstream TLS with a client certificate → the demo backend.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import https from 'node:https';
import { prepareQuickstart, EDGE_ARN, FQDN, type QuickstartFiles } from '../../scripts/quickstart-lib.ts';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { CertificateStore } from '../../src/certs/index.ts';
import { buildReport } from '../../src/edge/index.ts';
import type { StatusReport } from '../../src/status/types.ts';
import { CLI, startSecureBackend, waitFor, freeOffset, freePort, getJson, httpsGet, startServe, type ServeProcess } from './support.ts';

const run = promisify(execFile);

let work: string;
let files: QuickstartFiles;
let serve: ServeProcess;
let offset: number;
let edgeCa: string;
const backends: { close(): Promise<void> }[] = [];
let backendRequests = 0;
let rogueRequests = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'isobar-e2e-'));
  const backendPort = await freePort();
  files = await prepareQuickstart(work, { backendPort });
  edgeCa = await readFile(files.edgeCa, 'utf8');

  const backend = await startSecureBackend(files, backendPort);
  backend.server.on('request', () => backendRequests++);
  backends.push(backend);

  // A backend with the right name but a certificate from a CA nobody trusts.
  const rogue = await startDemoBackend({
    host: '127.0.0.1',
    port: 0,
    name: 'rogue',
    tls: { certPem: await readFile(files.rogueCert, 'utf8'), keyPem: await readFile(files.rogueKey, 'utf8'), requireClientCert: false },
  });
  rogue.server.on('request', () => rogueRequests++);
  backends.push(rogue);
  await writeFile(join(files.manifests, 'rogue.yaml'), rogueManifests(rogue.port));

  offset = await freeOffset([80, 443, 9000]);
  serve = await startServe(
    [
      files.manifests,
      '--config', files.config,
      '--state-dir', files.stateDir,
      '--lb-port-offset', String(offset),
      '--http-port', String(await freePort()),
      '--https-port', String(await freePort()),
      '--workers', '1',
    ],
    await freePort(),
  );
});

after(async () => {
  const code = await serve?.stop();
  for (const b of backends) await b.close();
  await rm(work, { recursive: true, force: true });
  assert.equal(code, 0, 'SIGTERM drains and exits 0');
});

test('curl through the load balancer reaches the validated backend with the client address', async () => {
  const port = 443 + offset;
  const { stdout } = await run('curl', ['-sS', '--fail', '--resolve', `${FQDN}:${port}:127.0.0.1`, '--cacert', files.edgeCa, `https://${FQDN}:${port}/hello`]);
  const seen = JSON.parse(stdout) as Record<string, unknown> & { clientCertificate: { subject: string } | null };
  assert.equal(seen.backend, 'secure-backend');
  assert.equal(seen.path, '/hello');
  assert.equal(seen.clientAddress, '127.0.0.1', 'client address survives the load balancer (PROXY v2 → X-Forwarded-For)');
  assert.equal(seen.scheme, 'https', 'the SSL TLV becomes X-Forwarded-Proto: https');
  assert.equal(seen.tls, true, 'the proxy spoke TLS to the backend');
  assert.equal(seen.sni, 'secure-backend.example.test', 'SNI is the validated subject name');
  assert.ok(seen.clientCertificate, 'the proxy presented its client certificate');
  assert.match(seen.clientCertificate.subject, /CN=envoy/);
});

test('the HTTPProxy with a missing CA Secret has the documented status and serves nothing', async () => {
  const { stdout } = await run(process.execPath, [CLI, 'status', files.manifests, '-o', 'json', '--config', files.config, '--state-dir', files.stateDir]).catch(
    (err: { stdout: string; code: number }) => {
      assert.equal(err.code, 1, 'status exits 1 when an object is invalid');
      return err;
    },
  );
  const report = JSON.parse(stdout) as StatusReport;
  const broken = report.httpproxies.find((p) => p.name === 'missing-ca')!;
  assert.equal(broken.currentStatus, 'invalid');
  assert.equal(broken.description, 'route "/": service "secure-backend": upstreamValidation requested but secret not found or misconfigured');
  const good = report.httpproxies.find((p) => p.name === 'tls-demo')!;
  assert.equal(good.currentStatus, 'valid');
  assert.equal(good.description, 'Valid HTTPProxy');

  const res = await httpsGet({ host: 'missing-ca.example.test', port: 443 + offset, ca: edgeCa });
  assert.equal(res.status, 404);
});

test('a backend whose certificate comes from the wrong CA gets no traffic', async () => {
  const before = rogueRequests;
  const res = await httpsGet({ host: 'rogue.example.test', port: 443 + offset, ca: edgeCa });
  assert.equal(res.status, 503);
  assert.match(res.body, /TLS|certificate|verify/i);
  assert.equal(rogueRequests, before, 'no request reached the rogue backend');
});

test('editing the Service in place keeps open connections and binds no second listener', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const port = 443 + offset;
    const first = await httpsGet({ host: FQDN, port, ca: edgeCa, agent });
    assert.equal(first.status, 200);

    // Add a port.
    const svcFile = join(files.manifests, 'envoy-service.yaml');
    const original = await readFile(svcFile, 'utf8');
    await writeFile(svcFile, original + '    - name: extra\n      port: 9000\n      targetPort: 8080\n      protocol: TCP\n');
    const adminUrl = `http://127.0.0.1:${serve.adminPort}/status`;
    await waitFor('listener on 9000', async () => {
      const r = await getJson<StatusReport>(adminUrl);
      return r.services.find((s) => s.name === 'envoy')?.listeners.some((l) => l.port === 9000) ? true : undefined;
    });
    // The model lists the listener before every worker has bound it: wait
    // for the port itself.
    const viaNewPort = await waitFor('the new port serving', async () => ((await httpGet(9000 + offset, FQDN)) === 200 ? 200 : undefined), 10_000);
    assert.equal(viaNewPort, 200, 'the new port serves');

    const second = await httpsGet({ host: FQDN, port, ca: edgeCa, agent });
    assert.equal(second.status, 200);
    assert.equal(second.localPort, first.localPort, 'the same TLS connection is still open');

    const listeners = (await getJson<StatusReport>(adminUrl)).services.find((s) => s.name === 'envoy')!.listeners;
    assert.deepEqual(listeners.map((l) => l.port).sort((a, b) => a - b), [80, 443, 9000], 'one listener per port');

    // Change the certificate.
    const store = await CertificateStore.open(files.stateDir);
    const next = await store.request({ domain: FQDN });
    await writeFile(svcFile, (await readFile(svcFile, 'utf8')).replace(EDGE_ARN, next.arn));
    const fresh = await waitFor('new certificate served', async () => {
      const r = await httpsGet({ host: FQDN, port, ca: edgeCa });
      return r.peerFingerprint !== first.peerFingerprint ? r : undefined;
    });
    assert.equal(fresh.status, 200);
    const third = await httpsGet({ host: FQDN, port, ca: edgeCa, agent });
    assert.equal(third.localPort, first.localPort, 'the open connection survived the certificate change');
    assert.equal(third.peerFingerprint, first.peerFingerprint, 'and keeps the certificate it was made with');
  } finally {
    agent.destroy();
  }
});

/** Plain HTTP GET with a Host header (fetch cannot set Host). */
function httpGet(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, headers: { host }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

test('the edge private key is never in the proxy configuration, the config output or the logs', async () => {
  const store = await CertificateStore.open(files.stateDir, { readOnly: true });
  const key = await store.readPrivateKey(EDGE_ARN);
  // Pieces of the private scalar only: in a P-256 PKCS#8 key it is bytes
  // 36-67 (base64 characters 48-90), after the ASN.1 header every such key
  // shares and before the public key, which the certificate also carries
  // (and, base64-aligned the same way, would match in output that only
  // shows the certificate).
  const body = key.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  assert.match(key, /BEGIN PRIVATE KEY/, 'the store gives the key as PKCS#8');
  const pieces = [body.slice(50, 70), body.slice(68, 88)];
  const contains = (text: string): boolean => pieces.some((p) => text.replace(/\s+|\\n/g, '').includes(p));

  const report = await buildReport(files.manifests, { configFile: files.config, stateDir: files.stateDir });
  assert.ok(report.balancerConfig.loadBalancers.length > 0, 'the load balancer is built');
  assert.equal(contains(JSON.stringify(report.proxyConfig)), false, 'ProxyConfig carries no edge key');
  assert.equal(contains(JSON.stringify(report.balancerConfig)), false, 'BalancerConfig names keys by ARN only');
  for (const mode of ['proxy', 'balancer']) {
    const { stdout } = await run(process.execPath, [CLI, 'config', files.manifests, '-o', mode, '--config', files.config, '--state-dir', files.stateDir]);
    assert.equal(contains(stdout), false, `isobar config -o ${mode} shows no edge key`);
  }
  const status = await run(process.execPath, [CLI, 'status', files.manifests, '-o', 'json', '--config', files.config, '--state-dir', files.stateDir]).catch((e: { stdout: string }) => e);
  assert.equal(contains(status.stdout), false, 'status shows no edge key');
  assert.equal(contains(serve.output()), false, 'serve logs no edge key');
  assert.ok(contains(key), 'the check itself finds the key where it is');
});

function rogueManifests(port: number): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: rogue-backend
  namespace: demo
  annotations:
    projectcontour.io/upstream-protocol.tls: "8443"
spec:
  ports:
    - name: https
      port: 8443
      targetPort: ${port}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: rogue-backend
  namespace: demo
subsets:
  - addresses:
      - ip: 127.0.0.1
    ports:
      - name: https
        port: ${port}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: rogue
  namespace: demo
spec:
  virtualhost:
    fqdn: rogue.example.test
  routes:
    - services:
        - name: rogue-backend
          port: 8443
          validation:
            caSecret: backend-ca
            subjectName: secure-backend.example.test
`;
}
