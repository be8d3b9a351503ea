// A Gateway's spec.tls.frontend through `isobar serve` with real TLS
// clients: the HTTPS listener's host answers a client whose certificate
// chains to the ConfigMap's CA, and refuses the handshake of a client with
// none or with another CA's; a listener in AllowInsecureFallback answers
// both; a listener whose CA reference does not resolve serves nothing over
// TLS (never without validation) while the HTTP listener keeps serving.
// Conformance scenario: GatewayFrontendInvalidDefaultClientCertificateValidation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { createCa, type Issued } from '../support/pki.ts';
import { edgeCall, freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { GATEWAY_CLASS, serviceAt } from './gateway-manifests.ts';

const indent = (pem: string, n: number) => pem.trim().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

const gatewayWith = (name: string, hostname: string, frontend: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: apps}
spec:
  gatewayClassName: contour
  tls:
    frontend:
${frontend}
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS, hostname: ${hostname}, tls: {certificateRefs: [{name: server-cert}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: apps}
spec:
  parentRefs: [{name: ${name}}]
  hostnames: [${hostname}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`;

test('Gateway spec.tls.frontend: client certificates required, optional, or nothing served over TLS when the CA does not resolve', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-mtls-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const serverCa = await createCa('gateway mtls server CA');
  const clientCa = await createCa('gateway mtls client CA');
  const strangerCa = await createCa('gateway mtls stranger CA');
  const server = await serverCa.issue({ dnsNames: ['*.example.test'] });
  const good = await clientCa.issue({ commonName: 'good', client: true });
  const stranger = await strangerCa.issue({ commonName: 'stranger', client: true });
  const web = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'web' });
  let serve: ServeProcess | undefined;
  try {
    await writeFile(join(dir, 'class.yaml'), GATEWAY_CLASS);
    await writeFile(join(dir, 'services.yaml'), serviceAt('web', web.port));
    await writeFile(
      join(dir, 'secrets.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata: {name: server-cert, namespace: apps}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n${indent(server.certPem, 4)}\n  tls.key: |\n${indent(server.keyPem, 4)}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: client-ca, namespace: apps}\ndata:\n  ca.crt: |\n${indent(clientCa.certPem, 4)}\n`,
    );
    const ref = '[{group: "", kind: ConfigMap, name: client-ca}]';
    await writeFile(join(dir, 'strict.yaml'), gatewayWith('strict', 'strict.example.test', `      default: {validation: {caCertificateRefs: ${ref}}}`));
    await writeFile(join(dir, 'fallback.yaml'), gatewayWith('fallback', 'fallback.example.test', `      default: {validation: {caCertificateRefs: ${ref}, mode: AllowInsecureFallback}}`));
    await writeFile(join(dir, 'broken.yaml'), gatewayWith('broken', 'broken.example.test', '      default: {validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: does-not-exist}]}}'));

    const httpPort = await freePort();
    const httpsPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const call = (host: string, client?: Issued): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', port: httpsPort, servername: host, path: '/', headers: { host }, ca: serverCa.certPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
    await waitFor('the strict host served', async () => ((await call('strict.example.test', good).catch(() => 0)) === 200 ? true : undefined), 15_000);

    // AllowValidOnly: the CA's client is served; no certificate, or another CA's, never gets a response.
    assert.equal(await call('strict.example.test', good), 200);
    await assert.rejects(call('strict.example.test'));
    await assert.rejects(call('strict.example.test', stranger));

    // AllowInsecureFallback: every client is served.
    assert.equal(await call('fallback.example.test', good), 200);
    assert.equal(await call('fallback.example.test'), 200);
    assert.equal(await call('fallback.example.test', stranger), 200);

    // A CA that does not resolve: the host is not served over TLS at all; its HTTP listener is.
    await assert.rejects(call('broken.example.test', good));
    const plain = await edgeCall({ port: httpPort, ca: '', host: 'broken.example.test', plain: true });
    assert.equal(plain.status, 200);
    t.diagnostic('client validation enforced per Gateway');
  } finally {
    await serve?.stop();
    await web.close();
    await rm(work, { recursive: true, force: true });
  }
});
