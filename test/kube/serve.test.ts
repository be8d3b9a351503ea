// `isobar serve --kubernetes` as a real process against the test API server:
// kubectl-created objects become served routes, statuses appear on the
// objects, and losing the API server turns /readyz red while the last good
// configuration keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import { freePort, startServe } from '../e2e/support.ts';
import { kubectl, startApi, waitFor } from './helpers.ts';

function get(port: number, host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
}

test('serve --kubernetes: kubectl objects are served, statuses written, API loss is a readiness failure only', async (t) => {
  const backend = http.createServer((req, res) => res.end(`hello from ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  const { api, kubeconfig } = await startApi();
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  await kubectl(kubeconfig, ['create', '--validate=false', '-f', '-'], `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{port: 80, targetPort: ${backendPort}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
ports: [{port: ${backendPort}, protocol: TCP}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: web, namespace: default}
spec:
  virtualhost: {fqdn: web.example.com}
  routes:
  - conditions: [{prefix: /}]
    services: [{name: web, port: 80}]
`);
  const serve = await startServe(
    ['--kubernetes', '--kubeconfig', kubeconfig, '--roles', 'dag,proxy', '--workers', '1', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--state-dir', mkdtempSync(join(tmpdir(), 'isobar-state-'))],
    adminPort,
  );
  try {
    const first = await waitFor('route served', async () => {
      const r = await get(httpPort, 'web.example.com', '/a');
      return r.status === 200 ? r : undefined;
    }, 10_000);
    assert.equal(first.body, 'hello from /a');
    const status = await waitFor('status on the object', async () => {
      const { stdout } = await kubectl(kubeconfig, ['get', 'httpproxy', 'web', '-o', 'yaml']);
      const s = parse(stdout).status;
      return s?.currentStatus === 'valid' ? s : undefined;
    }, 10_000);
    assert.equal(status.conditions[0].observedGeneration, 1);

    // A new HTTPProxy through kubectl becomes a route.
    await kubectl(kubeconfig, ['create', '--validate=false', '-f', '-'], `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: two, namespace: default}
spec:
  virtualhost: {fqdn: two.example.com}
  routes:
  - services: [{name: web, port: 80}]
`);
    await waitFor('second route', async () => (await get(httpPort, 'two.example.com')).status === 200, 10_000);

    // The API server goes away: not ready, but traffic keeps flowing.
    const port = api.port;
    await api.stop();
    await waitFor('readyz red', async () => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined);
      return res !== undefined && res.status !== 200;
    }, 10_000);
    assert.equal((await get(httpPort, 'web.example.com')).status, 200, 'last good configuration keeps serving');
    assert.match(serve.output(), /cannot reach the Kubernetes API server/);
    await api.start(port);
    await waitFor('readyz green again', async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.status === 200, 15_000);
  } catch (err) {
    t.diagnostic(serve.output().slice(-4000));
    throw err;
  } finally {
    await serve.stop();
    await api.stop().catch(() => undefined);
    backend.close();
  }
});
