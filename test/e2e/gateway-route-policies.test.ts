// HTTPRoute retry and CORS through `isobar serve` with real requests: a
// backend that fails a key's first N requests (with a status, a reset
// connection or a late answer, as the conformance suite's retry simulation
// does) and counts the tries it saw; CORS preflights answered at the edge
// and CORS headers on the backend's answers. Conformance scenarios:
// HTTPRouteRetry, HTTPRouteRetryConnectionError, HTTPRouteRetryWithTimeouts,
// HTTPRouteCORS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeCall, freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { edgeGateway, serviceAt } from './gateway-manifests.ts';

/** The retry simulation: ?key=K&fail=N&mode=status|reset|slow&code=C. The
 *  first N requests of a key fail (answer C, reset the connection, or answer
 *  after 1 s), later ones answer 200; every try is timed. */
async function startFlakyBackend(): Promise<{ port: number; tries: Map<string, number[]>; close: () => Promise<void> }> {
  const tries = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const key = u.searchParams.get('key') ?? '';
    const seen = tries.get(key) ?? [];
    seen.push(Date.now());
    tries.set(key, seen);
    const failing = seen.length <= Number(u.searchParams.get('fail') ?? '0');
    const mode = u.searchParams.get('mode') ?? 'status';
    if (failing && mode === 'reset') {
      req.socket.destroy();
      return;
    }
    const answer = (status: number) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-backend': 'flaky' });
      res.end(JSON.stringify({ try: seen.length }));
    };
    if (failing && mode === 'slow') setTimeout(() => answer(200), 1000).unref();
    else answer(failing ? Number(u.searchParams.get('code') ?? '500') : 200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    tries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const GATEWAY = edgeGateway(['{name: http, port: 80, protocol: HTTP}']);

const ROUTES = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: retries, namespace: apps}
spec:
  parentRefs: [{name: edge}]
  hostnames: [retry.example.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /code-500-attempts-3}}]
    retry: {codes: [500], attempts: 3}
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /no-codes-attempts-3}}]
    retry: {attempts: 3}
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /backoff-300ms}}]
    retry: {codes: [503], attempts: 2, backoff: 300ms}
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /backend-request-300ms}}]
    retry: {attempts: 2}
    timeouts: {backendRequest: 300ms}
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /no-retry}}]
    backendRefs: [{name: flaky, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors, namespace: apps}
spec:
  parentRefs: [{name: edge}]
  hostnames: [cors.example.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /cors}}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1, x-header-2]
        exposeHeaders: [x-header-3]
        allowCredentials: true
        maxAge: 3600
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: flaky, port: 80}]
`;

test('HTTPRoute retry (codes, attempts, connection errors, backoff, per-try timeout) and CORS, through the proxy with real requests', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-policies-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const flaky = await startFlakyBackend();
  let serve: ServeProcess | undefined;
  try {
    await writeFile(join(dir, 'services.yaml'), serviceAt('flaky', flaky.port));
    await writeFile(join(dir, 'gateway.yaml'), GATEWAY);
    await writeFile(join(dir, 'routes.yaml'), ROUTES);
    const httpPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const get = (host: string, path: string, headers: Record<string, string> = {}, method = 'GET') => edgeCall({ port: httpPort, ca: '', host, path, headers, method, plain: true });
    await waitFor('the HTTPRoutes served', async () => ((await get('retry.example.test', '/no-retry?key=ready')).status === 200 ? true : undefined), 15_000);

    // [path, query, expected status, tries the backend saw]
    const cases: [string, string, number, number][] = [
      ['/code-500-attempts-3', 'mode=status&code=500&fail=2', 200, 3],
      ['/code-500-attempts-3', 'mode=status&code=500&fail=4', 500, 4],
      ['/code-500-attempts-3', 'mode=status&code=503&fail=2', 503, 1],
      ['/no-codes-attempts-3', 'mode=reset&fail=2', 200, 3],
      ['/no-codes-attempts-3', 'mode=reset&fail=4', 503, 4],
      ['/no-codes-attempts-3', 'mode=status&code=500&fail=1', 500, 1],
      ['/backend-request-300ms', 'mode=slow&fail=1', 200, 2],
      ['/backend-request-300ms', 'mode=slow&fail=3', 504, 3],
      ['/no-retry', 'mode=status&code=500&fail=1', 500, 1],
    ];
    for (const [i, [path, query, status, count]] of cases.entries()) {
      const key = `case-${i}`;
      const r = await get('retry.example.test', `${path}?key=${key}&${query}`);
      assert.equal(r.status, status, `${path}?${query}: status`);
      assert.equal(flaky.tries.get(key)?.length, count, `${path}?${query}: tries the backend saw`);
    }

    // backoff: each retry at least 300 ms after the try before it.
    const b = await get('retry.example.test', '/backoff-300ms?key=backoff&mode=status&code=503&fail=2');
    assert.equal(b.status, 200);
    const times = flaky.tries.get('backoff')!;
    assert.equal(times.length, 3);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 295, `retry ${i} waited ${times[i]! - times[i - 1]!} ms`);

    // CORS: a preflight from an allowed origin is answered at the edge.
    const pre = await get('cors.example.test', '/cors?key=preflight', { origin: 'https://xpto.www.bar.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-header-1' }, 'OPTIONS');
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://xpto.www.bar.com');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET,OPTIONS');
    assert.equal(pre.headers['access-control-allow-headers'], 'x-header-1,x-header-2');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.equal(pre.headers['access-control-max-age'], '3600');
    assert.equal(pre.headers['access-control-expose-headers'], 'x-header-3', 'HTTPRouteCORS wants them on preflights too');
    assert.equal(flaky.tries.get('preflight'), undefined, 'the preflight never reached the backend');
    // A request from an allowed origin gets the headers on the backend's answer.
    const simple = await get('cors.example.test', '/cors?key=simple', { origin: 'https://www.foo.com' });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers['x-backend'], 'flaky');
    assert.equal(simple.headers['access-control-allow-origin'], 'https://www.foo.com');
    assert.equal(simple.headers['access-control-expose-headers'], 'x-header-3');
    // An origin not allowed: the preflight goes to the backend, no CORS headers.
    const other = await get('cors.example.test', '/cors?key=other', { origin: 'https://foobar.com', 'access-control-request-method': 'GET' }, 'OPTIONS');
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(flaky.tries.get('other')?.length, 1);
    // The rule without the filter: none.
    const plain = await get('cors.example.test', '/plain?key=plain', { origin: 'https://www.foo.com' });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
    t.diagnostic('retries and CORS as the routes ask');
  } finally {
    await serve?.stop();
    await flaky.close();
    await rm(work, { recursive: true, force: true });
  }
});
