// External authorization through the whole chain: the load balancer (TCP,
// PROXY v2) -> the proxy's HTTPS listener (TLS with the HTTPProxy's
// certificate, ext_authz against a real grpc-js authorization server
// reached over TLS validated by the ExtensionService's CA and subject name)
// -> the backend. A denied request never reaches the backend; an allowed
// one arrives with the header the server injected and without the
// credential it consumed; the Check names the client the load balancer saw;
// the server going away means 403, not a pass.

import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import https from 'node:https';
import { stringify } from 'yaml';
import { startDemoBackend } from '../../src/demo/index.ts';
import { createCa } from '../support/pki.ts';
import type { CheckRequestMsg, CheckResponseMsg } from '../../src/proxy/ext-authz/index.ts';
import { startAuthzServer } from '../proxy/ext-authz-server.ts';
import { CLI, freeOffset, freePort, startServe, type ServeProcess } from './support.ts';

const run = promisify(execFile);
const FQDN = 'app.example.test';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, ca: string, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, servername: FQDN, ca, headers: { host: `${FQDN}:${port}`, ...headers }, agent: false, ...(localAddress ? { localAddress } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The policy: a bearer token "good" is alice; anything else is refused. */
function policy(req: CheckRequestMsg): CheckResponseMsg {
  const h = req.attributes.request.http.headers;
  if (h.authorization === 'Bearer good') {
    return {
      status: { code: 0 },
      ok_response: { headers: [{ header: { key: 'x-user', value: 'alice' }, append: { value: false } }], headers_to_remove: ['authorization'] },
    };
  }
  return {
    status: { code: 16 },
    denied_response: { status: { code: 401 }, headers: [{ header: { key: 'www-authenticate', value: 'Bearer realm="app"' } }], body: 'who are you?' },
  };
}

test('ext_authz through the chain: denied requests stop at the edge, allowed ones arrive with the injected header', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-authz-'));
  const manifests = join(work, 'manifests');
  await mkdir(manifests);
  const edgeCa = await createCa('app CA');
  const serving = await edgeCa.issue({ dnsNames: [FQDN] });
  const authzCa = await createCa('authz CA');
  const authzCert = await authzCa.issue({ dnsNames: ['authz.auth.svc'] });
  const authz = await startAuthzServer(policy, { tls: authzCert });
  const backend = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'app' });
  let backendRequests = 0;
  backend.server.on('request', () => backendRequests++);

  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'envoy',
        namespace: 'projectcontour',
        annotations: {
          'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
          'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol': '*',
        },
      },
      // TCP at the load balancer: TLS ends at the proxy, which authorizes.
      spec: { type: 'LoadBalancer', ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-tls', namespace: 'demo' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app', namespace: 'demo' }, spec: { ports: [{ port: 80, targetPort: backend.port }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'app', namespace: 'demo' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: backend.port }] }] },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'authz-ca', namespace: 'auth' }, type: 'Opaque', stringData: { 'ca.crt': authzCa.certPem } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'authz', namespace: 'auth' }, spec: { ports: [{ port: 9443, targetPort: authz.port }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'authz', namespace: 'auth' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: authz.port }] }] },
    {
      apiVersion: 'projectcontour.io/v1alpha1',
      kind: 'ExtensionService',
      metadata: { name: 'authz', namespace: 'auth' },
      spec: { services: [{ name: 'authz', port: 9443 }], validation: { caSecret: 'authz-ca', subjectName: 'authz.auth.svc' }, timeoutPolicy: { response: '2s' } },
    },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        virtualhost: {
          fqdn: FQDN,
          tls: { secretName: 'app-tls' },
          authorization: { extensionRef: { name: 'authz', namespace: 'auth' }, authPolicy: { context: { app: 'demo' } } },
        },
        routes: [
          { conditions: [{ prefix: '/public' }], authPolicy: { disabled: true }, services: [{ name: 'app', port: 80 }] },
          { services: [{ name: 'app', port: 80 }] },
        ],
      },
    },
  ];
  await writeFile(join(manifests, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));

  const state = join(work, 'state');
  await run(process.execPath, [CLI, 'check', manifests, '--state-dir', state]);
  const { stdout: statusJson } = await run(process.execPath, [CLI, 'status', manifests, '--state-dir', state, '-o', 'json']);
  const status = JSON.parse(statusJson) as { extensionservices: { namespace: string; name: string; conditions: { status: string; message: string }[] }[] };
  assert.deepEqual(
    status.extensionservices.map((e) => [e.namespace, e.name, e.conditions[0]!.status, e.conditions[0]!.message]),
    [['auth', 'authz', 'True', 'Valid ExtensionService']],
  );

  const offset = await freeOffset([443]);
  const port = 443 + offset;
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [manifests, '--state-dir', state, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '1'],
      await freePort(),
    );

    // No credential: the server's answer, from the edge; the backend never sees it.
    const denied = await get(port, edgeCa.certPem, '/api', {}, '127.0.0.3');
    assert.equal(denied.status, 401);
    assert.equal(denied.body, 'who are you?');
    assert.equal(denied.headers['www-authenticate'], 'Bearer realm="app"');
    assert.equal(backendRequests, 0, 'the backend never saw the denied request');
    const check = authz.requests[0]!.attributes;
    assert.equal(check.source.address.socket_address.address, '127.0.0.3', 'the client the load balancer saw');
    assert.equal(check.request.http.host, `${FQDN}:${port}`);
    assert.equal(check.request.http.scheme, 'https');
    assert.equal(check.request.http.path, '/api');
    assert.deepEqual({ ...check.context_extensions }, { app: 'demo' });
    assert.equal(authz.authorities[0], 'authz.auth.svc', 'TLS to the server named by the subject name');

    // Allowed: through, with the injected header and without the consumed credential.
    const ok = await get(port, edgeCa.certPem, '/api', { authorization: 'Bearer good', 'x-user': 'mallory' });
    assert.equal(ok.status, 200);
    const seen = JSON.parse(ok.body) as { path: string; headers: Record<string, string> };
    assert.equal(seen.path, '/api');
    assert.equal(seen.headers['x-user'], 'alice');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(backendRequests, 1);

    // The route that disables authorization sends no Check.
    const checks = authz.requests.length;
    assert.equal((await get(port, edgeCa.certPem, '/public/x')).status, 200);
    assert.equal(authz.requests.length, checks);
    assert.equal(backendRequests, 2);

    // The server gone: refused (no failOpen), never passed.
    await authz.close();
    const down = await get(port, edgeCa.certPem, '/api', { authorization: 'Bearer good' });
    assert.equal(down.status, 403);
    assert.equal(backendRequests, 2);

    // /metrics counts each Check in the route target cluster's scope, with Envoy's names.
    const metrics = await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text();
    const value = (name: string): string | undefined => metrics.match(new RegExp(`^${name}\\{envoy_cluster_name="demo_app_80"\\} (\\S+)$`, 'm'))?.[1];
    assert.deepEqual(
      ['ok', 'denied', 'error', 'failure_mode_allowed'].map((s) => [s, value(`envoy_cluster_ext_authz_${s}`)]),
      [['ok', '1'], ['denied', '1'], ['error', '1'], ['failure_mode_allowed', '0']],
    );
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await authz.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
