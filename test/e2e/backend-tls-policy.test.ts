// BackendTLSPolicy through `isobar serve` against real TLS backends: the
// proxy validates the backend against the policy's ConfigMap CA and
// hostname and shows the Gateway's client certificate; a backend whose
// certificate does not match gets no request (the connection fails
// before one is sent), and one whose policy is invalid is never reached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { createCa } from '../support/pki.ts';
import { edgeCall, freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { GATEWAY_CLASS, serviceAt, tlsSecretYaml } from './gateway-manifests.ts';

const get = (port: number, host: string) => edgeCall({ port, ca: '', host, plain: true });

const indent = (pem: string) => pem.replace(/^/gm, '    ');

test('BackendTLSPolicy: validated TLS to the backend with the Gateway client certificate; a mismatching or invalid policy reaches no backend', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-btls-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const serverCa = await createCa('backend server CA');
  const clientCa = await createCa('backend client CA');
  const good = await serverCa.issue({ dnsNames: ['good.backend.test'] });
  const client = await clientCa.issue({ commonName: 'isobar.client.test', dnsNames: ['isobar.client.test'], client: true });
  const requests = { good: 0, wrong: 0, invalid: 0 };
  const backends = await Promise.all(
    (['good', 'wrong', 'invalid'] as const).map((name) =>
      startDemoBackend({ host: '127.0.0.1', port: 0, name, tls: { certPem: good.certPem, keyPem: good.keyPem, caPem: clientCa.certPem, requireClientCert: true } }),
    ),
  );
  // Count requests that reach each backend (the demo answers every one).
  for (const [i, name] of (['good', 'wrong', 'invalid'] as const).entries()) backends[i]!.server.on('request', () => requests[name]++);
  let serve: ServeProcess | undefined;
  try {
    const svc = (name: string, port: number) => serviceAt(name, port, { portName: 'https', servicePort: 443 });
    const route = (name: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: apps}
spec:
  parentRefs: [{name: edge, namespace: apps}]
  hostnames: [${name}.example.test]
  rules: [{backendRefs: [{name: ${name}, port: 443}]}]
`;
    const policy = (name: string, hostname: string, ca = 'server-ca') => `apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: ${name}, namespace: apps}
spec:
  targetRefs: [{group: "", kind: Service, name: ${name}, sectionName: https}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ${ca}}]
    hostname: ${hostname}
`;
    await writeFile(
      join(dir, 'all.yaml'),
      [
        GATEWAY_CLASS,
        `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: apps}
spec:
  gatewayClassName: contour
  backendTLS: {clientCertificateRef: {name: client-cert}}
  listeners: [{name: http, port: 80, protocol: HTTP}]
`,
        tlsSecretYaml('client-cert', client),
        `apiVersion: v1
kind: ConfigMap
metadata: {name: server-ca, namespace: apps}
data:
  ca.crt: |
${indent(serverCa.certPem)}
`,
        svc('good', backends[0]!.port),
        svc('wrong', backends[1]!.port),
        svc('invalid', backends[2]!.port),
        route('good'),
        route('wrong'),
        route('invalid'),
        policy('good', 'good.backend.test'),
        policy('wrong', 'other.backend.test'),
        policy('invalid', 'good.backend.test', 'missing-ca'),
      ].join('---\n'),
    );
    const httpPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    await waitFor('the validated backend answers', async () => ((await get(httpPort, 'good.example.test')).status === 200 ? true : undefined));
    const answer = JSON.parse((await get(httpPort, 'good.example.test')).body) as { tls: boolean; clientCertificate: { subject: string; authorized: boolean } | null };
    assert.equal(answer.tls, true);
    assert.equal(answer.clientCertificate?.authorized, true, 'the Gateway client certificate was presented and accepted');
    assert.match(answer.clientCertificate!.subject, /isobar\.client\.test/);

    const wrong = await get(httpPort, 'wrong.example.test');
    assert.ok(wrong.status >= 500, `a backend whose certificate does not match the policy: ${wrong.status}`);
    const invalid = await get(httpPort, 'invalid.example.test');
    assert.equal(invalid.status, 500, 'a backend whose policy is invalid answers 500');
    assert.equal(requests.wrong, 0, 'no request reached the backend that failed validation');
    assert.equal(requests.invalid, 0, 'no request reached the backend whose policy is invalid');
    assert.ok(requests.good >= 2);
  } finally {
    await serve?.stop();
    await Promise.all(backends.map((b) => b.close()));
    await rm(work, { recursive: true, force: true });
  }
});
