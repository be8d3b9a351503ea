// Route policies through the whole chain (load balancer TCP with PROXY v2
// -> the proxy's HTTP listener -> a backend on loopback): retries on an
// upstream Envoy's rate limit and on a trailers-only gRPC UNAVAILABLE,
// header policy variables (the client the load balancer saw, the dag's
// %CONTOUR_*% on a service, literal on a route), Set-Cookie rewriting from
// the route and the service, and an internal redirect followed to another
// route. None of these fields is a warning any more; a duplicate cookie
// rule makes its HTTPProxy invalid with Contour's words and check exit 1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import type { StatusReport } from '../../src/status/types.ts';
import { CLI, edgeCall, freeOffset, freePort, getJson, startServe, waitFor, type ServeProcess } from './support.ts';

const run = promisify(execFile);
const FQDN = 'app.example.test';

test('route policies through the chain: retries, header variables, cookie rewrites, an internal redirect', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-route-policies-'));
  const manifests = join(work, 'manifests');
  await mkdir(manifests);
  const failures = new Map<string, number>([['/retry/limited', 1], ['/retry/grpc', 1]]);
  const seen: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  const backend = http.createServer((req, res) => {
    req.resume();
    const url = req.url ?? '/';
    seen.push({ url, headers: req.headers });
    const left = failures.get(url) ?? 0;
    if (left > 0) failures.set(url, left - 1);
    if (left > 0 && url === '/retry/limited') {
      res.writeHead(429, { 'x-envoy-ratelimited': 'true' });
      return res.end('limited');
    }
    if (left > 0 && url === '/retry/grpc') {
      res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '14' });
      return res.end();
    }
    if (url === '/cookies') {
      res.setHeader('set-cookie', ['session=s1; Path=/; Secure', 'theme=dark; Path=/']);
      return res.end('cookies');
    }
    if (url === '/old') {
      res.writeHead(301, { location: `http://${FQDN}/landing?from=old` });
      return res.end('moved');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url, headers: req.headers }));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const backendPort = (backend.address() as AddressInfo).port;

  const svc = { name: 'app', port: 80 };
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'envoy',
        namespace: 'projectcontour',
        annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', 'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol': '*' },
      },
      spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app', namespace: 'demo' }, spec: { ports: [{ port: 80, targetPort: backendPort }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'app', namespace: 'demo' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: backendPort }] }] },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        virtualhost: { fqdn: FQDN },
        routes: [
          { conditions: [{ prefix: '/retry' }], retryPolicy: { count: 2, retryOn: ['envoy-ratelimited', 'unavailable'] }, services: [svc] },
          {
            conditions: [{ prefix: '/cookies' }],
            cookieRewritePolicies: [{ name: 'session', pathRewrite: { value: '/app' }, sameSite: 'Lax' }],
            services: [{ ...svc, cookieRewritePolicies: [{ name: 'session', secure: false }, { name: 'theme', domainRewrite: { value: 'example.test' } }] }],
          },
          { conditions: [{ prefix: '/old' }], internalRedirectPolicy: { redirectResponseCodes: [301] }, services: [svc] },
          {
            requestHeadersPolicy: { set: [{ name: 'X-Route-Svc', value: '%CONTOUR_SERVICE_NAME%' }, { name: 'X-Proto', value: '%PROTOCOL%' }] },
            responseHeadersPolicy: { set: [{ name: 'X-Upstream', value: '%UPSTREAM_REMOTE_ADDRESS%' }] },
            services: [
              {
                ...svc,
                requestHeadersPolicy: {
                  set: [
                    { name: 'X-Client', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' },
                    { name: 'X-Svc', value: '%CONTOUR_SERVICE_NAME%.%CONTOUR_NAMESPACE%:%CONTOUR_SERVICE_PORT%' },
                  ],
                },
              },
            ],
          },
        ],
      },
    },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'dup', namespace: 'demo' },
      spec: { virtualhost: { fqdn: 'dup.example.test' }, routes: [{ cookieRewritePolicies: [{ name: 'a', secure: true }, { name: 'a', sameSite: 'Strict' }], services: [svc] }] },
    },
  ];
  await writeFile(join(manifests, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));

  const state = join(work, 'state');
  const checked = await run(process.execPath, [CLI, 'check', manifests, '--state-dir', state]).then(
    () => 0,
    (e: { code?: number }) => e.code,
  );
  assert.equal(checked, 1, 'check fails on the invalid HTTPProxy');

  const offset = await freeOffset([80]);
  const port = 80 + offset;
  const call = (path: string, method = 'GET') => edgeCall({ port, ca: '', host: FQDN, path, method, plain: true, from: '127.0.0.3' });
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [manifests, '--state-dir', state, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '1'],
      await freePort(),
    );
    await waitFor('app served', async () => ((await call('/')).status === 200 ? true : undefined), 10_000);

    const report = await getJson<StatusReport>(`http://127.0.0.1:${serve.adminPort}/status`);
    const app = report.httpproxies.find((h) => h.name === 'app')!;
    assert.equal(app.currentStatus, 'valid');
    assert.deepEqual(app.conditions[0]!.warnings ?? [], [], 'no field is ignored');
    const dup = report.httpproxies.find((h) => h.name === 'dup')!;
    assert.equal(dup.currentStatus, 'invalid');
    assert.deepEqual(
      dup.conditions[0]!.errors!.map((e) => [e.type, e.reason, e.message]),
      [['RouteError', 'CookieRewritePoliciesInvalid', 'duplicate cookie rewrite rule for cookie "a" on route cookie rewrite rules']],
    );

    // Header variables: the client the load balancer saw, the service's own names.
    const plain = await call('/vars');
    assert.equal(plain.status, 200);
    const h = (JSON.parse(plain.body) as { headers: Record<string, string> }).headers;
    assert.equal(h['x-client'], '127.0.0.3');
    assert.equal(h['x-svc'], 'app.demo:80');
    assert.equal(h['x-route-svc'], '%CONTOUR_SERVICE_NAME%', 'on a route only %CONTOUR_NAMESPACE% is set');
    assert.equal(h['x-proto'], 'HTTP/1.1');
    assert.equal(plain.headers['x-upstream'], `127.0.0.1:${backendPort}`);

    // Retries: an upstream Envoy's 429 and a trailers-only UNAVAILABLE, each retried once.
    const limited = await call('/retry/limited');
    assert.equal(limited.status, 200);
    assert.equal(seen.filter((s) => s.url === '/retry/limited').length, 2);
    const grpc = await call('/retry/grpc');
    assert.equal(grpc.status, 200);
    assert.equal(grpc.headers['grpc-status'], undefined);
    assert.equal(seen.filter((s) => s.url === '/retry/grpc').length, 2);

    // Cookies: the route's rule and the service's, merged.
    const cookies = await call('/cookies');
    assert.deepEqual(cookies.headers['set-cookie'], ['session=s1; Path=/app; SameSite=Lax', 'theme=dark; Path=/; Domain=example.test']);

    // The 301 is followed inside the proxy to the catch-all route.
    const moved = await call('/old');
    assert.equal(moved.status, 200);
    const landed = JSON.parse(moved.body) as { url: string; headers: Record<string, string> };
    assert.equal(landed.url, '/landing?from=old');
    assert.equal(landed.headers['x-envoy-original-url'], `http://${FQDN}/old`);
    assert.equal(landed.headers['x-svc'], 'app.demo:80', "the target route's policies apply");
  } finally {
    const code = await serve?.stop();
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
