// The quickstart's walkthrough written in Gateway API objects
// (examples/gateway-api), end to end on real sockets: curl → the load
// balancer the Gateway asks for (TLS terminated with the certificate from
// the store, its annotations copied from spec.infrastructure) → PROXY v2 →
// proxy → TLS validated by a BackendTLSPolicy with the Gateway's client
// certificate → the demo backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GATEWAY_API_EXAMPLE_DIR, prepareQuickstart, EDGE_ARN, FQDN, type QuickstartFiles } from '../../scripts/quickstart-lib.ts';
import type { StatusReport } from '../../src/status/types.ts';
import { CLI, edgeCall, freeOffset, freePort, getJson, startQuickstartServe, startSecureBackend, type ServeProcess } from './support.ts';

const run = promisify(execFile);

let work: string;
let files: QuickstartFiles;
let serve: ServeProcess;
let offset: number;
let edgeCa: string;
let backend: { close(): Promise<void> };
let backendRequests = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'isobar-gwqs-'));
  const backendPort = await freePort();
  files = await prepareQuickstart(work, { backendPort, exampleDir: GATEWAY_API_EXAMPLE_DIR });
  edgeCa = await readFile(files.edgeCa, 'utf8');
  const b = await startSecureBackend(files, backendPort);
  b.server.on('request', () => backendRequests++);
  backend = b;
  offset = await freeOffset([80, 443]);
  serve = await startQuickstartServe(files, offset);
});

after(async () => {
  const code = await serve?.stop();
  await backend?.close();
  await rm(work, { recursive: true, force: true });
  assert.equal(code, 0, 'SIGTERM drains and exits 0');
});

test('curl through the Gateway\'s load balancer reaches the validated backend with the client address and the Gateway\'s client certificate', async () => {
  const port = 443 + offset;
  const { stdout } = await run('curl', ['-sS', '--fail', '--resolve', `${FQDN}:${port}:127.0.0.1`, '--cacert', files.edgeCa, `https://${FQDN}:${port}/hello`]);
  const seen = JSON.parse(stdout) as Record<string, unknown> & { clientCertificate: { subject: string; authorized: boolean } | null };
  assert.equal(seen.backend, 'secure-backend');
  assert.equal(seen.path, '/hello');
  assert.equal(seen.clientAddress, '127.0.0.1', 'client address survives the load balancer (PROXY v2 → X-Forwarded-For)');
  assert.equal(seen.scheme, 'https', 'the TLS the load balancer ended reaches the backend as X-Forwarded-Proto (ssl TLV)');
  assert.equal(seen.tls, true, 'the proxy spoke TLS to the backend');
  assert.match(seen.clientCertificate?.subject ?? '', /envoy/, 'the Gateway client certificate was presented');
  // Plain HTTP on the load balancer's port 80 reaches the same listener.
  const plain = await edgeCall({ port: 80 + offset, ca: edgeCa, host: FQDN, plain: true });
  assert.equal(plain.status, 200);
});

test('the route whose BackendTLSPolicy names a missing CA answers 500 and sends nothing to the backend', async () => {
  const before = backendRequests;
  const r = await edgeCall({ port: 443 + offset, ca: edgeCa, host: 'missing-ca.example.test' });
  assert.equal(r.status, 500);
  assert.equal(backendRequests, before, 'the backend saw no request');
});

test('status: the generated load balancer Service with the Gateway\'s annotations, the Gateway\'s address, the policies and routes', async () => {
  const report = await getJson<StatusReport>(`http://127.0.0.1:${serve.adminPort}/status`);
  const lb = report.services.find((s) => s.namespace === 'projectcontour' && s.name === 'envoy-contour');
  assert.ok(lb, 'the Gateway\'s load balancer Service is served');
  assert.deepEqual(
    lb.listeners.map((l) => [l.port, l.protocol, l.certificates]),
    [
      [80, 'TCP', []],
      [443, 'TLS', [EDGE_ARN]],
    ],
  );
  assert.deepEqual(lb.problems, []);
  // Exit 1: the walkthrough's missing-ca policy is not accepted, on purpose.
  const failed = await run(process.execPath, [CLI, 'status', files.manifests, '--config', files.config, '--state-dir', files.stateDir, '-o', 'json']).then(
    () => assert.fail('status exits 1 while a policy is not accepted'),
    (e: { code: number; stdout: string }) => e,
  );
  assert.equal(failed.code, 1);
  const stdout = failed.stdout;
  const r = JSON.parse(stdout) as Required<StatusReport>;
  const gw = r.gateways.find((g) => g.name === 'contour')!;
  assert.deepEqual(gw.conditions.map((c) => `${c.type}=${c.status}`), ['Accepted=True', 'Programmed=True', 'ResolvedRefs=True']);
  assert.equal(gw.addresses[0]?.type, 'IPAddress');
  assert.equal(gw.addresses[1]?.type, 'Hostname');
  assert.match(gw.addresses[1]!.value, /elb/);
  assert.equal(gw.listeners[0]!.attachedRoutes, 2);
  const policies = Object.fromEntries(r.backendtlspolicies.map((p) => [p.name, p.ancestors.map((a) => a.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(' '))]));
  assert.deepEqual(policies, {
    'missing-ca': ['Accepted=False/NoValidCACertificate ResolvedRefs=False/InvalidCACertificateRef'],
    'secure-backend': ['Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs'],
  });
});
