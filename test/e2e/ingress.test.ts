// Ingress through `isobar serve` with real requests: an HTTPProxy and
// Ingresses for different hosts in one folder, served side by side by the
// proxy and through the balancer in front of it (the projectcontour/envoy
// Service of type LoadBalancer), with Prefix/Exact paths, the default
// backend on any other host, a host an Ingress shares with the HTTPProxy,
// force-ssl-redirect, HTTPS with the Ingress's tls Secret, and
// `isobar status -o json` showing the ingresses array with the balancer's
// address in status.loadBalancer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { createCa } from '../support/pki.ts';
import { prepareQuickstart } from '../../scripts/quickstart-lib.ts';
import type { StatusReport } from '../../src/status/types.ts';
import { CLI, edgeCall, freeOffset, freePort, getJson, httpsGet, startQuickstartServe, startSecureBackend, startServe, waitFor, type ServeProcess } from './support.ts';

const run = promisify(execFile);

function get(port: number, host: string, path = '/'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const backendOf = (body: string): string => (JSON.parse(body) as { backend: string }).backend;

function services(entries: [name: string, port: number][]): string {
  return entries
    .map(
      ([name, port]) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: apps}
spec: {ports: [{name: http, port: 80, targetPort: ${port}}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ${name}, namespace: apps}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: http, port: ${port}}]}]
`,
    )
    .join('---\n');
}

const INGRESSES = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: apps}
spec:
  rules:
  - host: shop.example.test
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}
      - {path: /about, pathType: Exact, backend: {service: {name: c, port: {name: http}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback, namespace: apps}
spec:
  defaultBackend: {service: {name: c, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: secure
  namespace: apps
  annotations: {ingress.kubernetes.io/force-ssl-redirect: "true"}
spec:
  tls: [{hosts: [secure.example.test], secretName: secure-cert}]
  rules:
  - host: secure.example.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shared, namespace: apps}
spec:
  rules:
  - host: app.example.test
    http: {paths: [{path: /legacy, pathType: Prefix, backend: {service: {name: c, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other-controller, namespace: apps}
spec:
  ingressClassName: nginx
  rules:
  - host: nginx.example.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}
`;

const PROXY = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: app, namespace: apps}
spec:
  virtualhost: {fqdn: app.example.test}
  routes:
  - services: [{name: a, port: 80}]
`;

// The load balancer in front of the proxy: port 80 to the proxy's plain listener.
const ENVOY = `apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: projectcontour
  annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
`;

test('an HTTPProxy and Ingresses for different hosts in one folder, through the proxy and the balancer, with real requests', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-ingress-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const ca = await createCa('ingress e2e CA');
  const leaf = await ca.issue({ dnsNames: ['secure.example.test'] });
  const a = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'a' });
  const b = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'b' });
  const c = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'c' });
  let serve: ServeProcess | undefined;
  try {
    await writeFile(join(dir, 'services.yaml'), services([['a', a.port], ['b', b.port], ['c', c.port]]));
    await writeFile(join(dir, 'ingresses.yaml'), INGRESSES);
    await writeFile(join(dir, 'proxy.yaml'), PROXY);
    await writeFile(join(dir, 'envoy.yaml'), ENVOY);
    await writeFile(
      join(dir, 'secret.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata: {name: secure-cert, namespace: apps}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n${leaf.certPem.replace(/^/gm, '    ')}\n  tls.key: |\n${leaf.keyPem.replace(/^/gm, '    ')}\n`,
    );

    const httpPort = await freePort();
    const httpsPort = await freePort();
    const offset = await freeOffset([80]);
    const lbPort = 80 + offset;
    serve = await startServe(
      [dir, '--http-port', String(httpPort), '--https-port', String(httpsPort), '--lb-port-offset', String(offset), '--workers', '1', '--state-dir', join(work, 'state')],
      await freePort(),
    );
    await waitFor('the Ingress served through the balancer', async () => ((await get(lbPort, 'shop.example.test', '/api').catch(() => ({ status: 0 }))).status === 200 ? true : undefined));

    for (const port of [httpPort, lbPort]) {
      // The HTTPProxy's host and the Ingresses' hosts, side by side.
      assert.equal(backendOf((await get(port, 'app.example.test')).body), 'a');
      assert.equal(backendOf((await get(port, 'shop.example.test', '/api/items')).body), 'b');
      // Prefix matches whole segments: /apix is the "/" path's.
      assert.equal(backendOf((await get(port, 'shop.example.test', '/apix')).body), 'a');
      assert.equal(backendOf((await get(port, 'shop.example.test', '/about')).body), 'c');
      assert.equal(backendOf((await get(port, 'shop.example.test', '/about/more')).body), 'a');
      // The default backend answers any host nothing else names.
      assert.equal(backendOf((await get(port, 'unknown.example.test', '/x')).body), 'c');
      // A host shared with the HTTPProxy: one virtual host with the routes of both.
      assert.equal(backendOf((await get(port, 'app.example.test', '/legacy/page')).body), 'c');
      // An Ingress of another class is not served (the default backend takes its host).
      assert.equal(backendOf((await get(port, 'nginx.example.test')).body), 'c');
    }

    // force-ssl-redirect: plain HTTP redirects, HTTPS serves with the Ingress's Secret.
    const red = await get(httpPort, 'secure.example.test', '/page');
    assert.equal(red.status, 301);
    assert.equal(red.headers.location, 'https://secure.example.test/page');
    const s = await httpsGet({ host: 'secure.example.test', port: httpsPort, ca: ca.certPem, path: '/x' });
    assert.equal(s.status, 200);
    assert.equal(backendOf(s.body), 'b');

    // The status report: every Ingress, served ones with the balancer's address.
    const { stdout } = await run(process.execPath, [CLI, 'status', dir, '-o', 'json', '--state-dir', join(work, 'state'), '--lb-port-offset', String(offset)]).catch((e: { stdout: string }) => e);
    const report = JSON.parse(stdout) as {
      httpproxies: { name: string; currentStatus: string }[];
      ingresses: { name: string; served: boolean; hosts: string[]; ports: number[]; loadBalancer: { ingress: { hostname?: string }[] }; problems: { severity: string; message: string }[] }[];
    };
    assert.equal(report.httpproxies[0]!.currentStatus, 'valid');
    const byName = Object.fromEntries(report.ingresses.map((i) => [i.name, i]));
    assert.deepEqual(Object.keys(byName).sort(), ['fallback', 'other-controller', 'secure', 'shared', 'shop']);
    assert.equal(byName['other-controller']!.served, false);
    assert.deepEqual(byName['other-controller']!.loadBalancer, { ingress: [] });
    assert.deepEqual(byName.secure!.ports, [80, 443]);
    assert.deepEqual(byName.fallback!.hosts, ['*']);
    assert.deepEqual(byName.shop!.problems, []);
    assert.match(byName.shared!.problems[0]!.message, /also the fqdn of HTTPProxy apps\/app/);
    const address = byName.shop!.loadBalancer.ingress[0]?.hostname ?? '';
    assert.match(address, /elb/, 'the balancer address of projectcontour/envoy');
    for (const n of ['fallback', 'secure', 'shared']) assert.deepEqual(byName[n]!.loadBalancer, byName.shop!.loadBalancer);
    t.diagnostic(`Ingress loadBalancer: ${address}`);
  } finally {
    await serve?.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
    await rm(work, { recursive: true, force: true });
  }
});

test('through the whole chain (balancer TLS with the ACM-style certificate -> PROXY v2 -> proxy): an Ingress path on the quickstart host beside its HTTPProxy', { timeout: 120_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-ingress-chain-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const plain = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'ingress-plain' });
  await writeFile(
    join(files.manifests, 'ingress.yaml'),
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: docs, namespace: demo}
spec:
  rules:
  - host: tls-demo.example.test
    http: {paths: [{path: /docs, pathType: Prefix, backend: {service: {name: plain, port: {number: 80}}}}]}
---
${services([['plain', plain.port]]).replaceAll('namespace: apps', 'namespace: demo')}`,
  );
  const backend = await startSecureBackend(files, backendPort);
  const offset = await freeOffset([80, 443]);
  const ca = await readFile(files.edgeCa, 'utf8');
  let serve: ServeProcess | undefined;
  try {
    serve = await startQuickstartServe(files, offset);
    await waitFor('the Ingress path through the chain', async () => ((await edgeCall({ port: 443 + offset, ca, path: '/docs/a' }).catch(() => ({ status: 0 }))).status === 200 ? true : undefined), 20_000);
    const docs = await edgeCall({ port: 443 + offset, ca, path: '/docs/a' });
    const seen = JSON.parse(docs.body) as { backend: string; headers: Record<string, string> };
    assert.equal(seen.backend, 'ingress-plain');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the client address survives the balancer (PROXY v2)');
    // The rest of the host is still the HTTPProxy's (its TLS backend).
    const rest = await edgeCall({ port: 443 + offset, ca, path: '/docsx' });
    assert.equal(rest.status, 200);
    assert.equal(JSON.parse(rest.body).backend, 'secure-backend');
    const report = await getJson<StatusReport>(`http://127.0.0.1:${serve.adminPort}/status`);
    const docsStatus = report.ingresses!.find((i) => i.name === 'docs')!;
    assert.equal(docsStatus.served, true);
    assert.match(docsStatus.loadBalancer.ingress[0]?.hostname ?? '', /elb/, 'the address of projectcontour/envoy');
    assert.match(docsStatus.problems[0]!.message, /also the fqdn of HTTPProxy demo\/tls-demo/);
  } finally {
    const code = await serve?.stop();
    await Promise.all([backend.close(), plain.close()]);
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
