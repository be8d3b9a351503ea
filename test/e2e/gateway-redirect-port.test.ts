// Where an HTTPRoute RequestRedirect sends a client, through `isobar serve`:
// a redirect that names neither scheme nor port keeps the port of the
// Gateway listener the request came in on (not the port the proxy binds it
// at, nor the Host's); a scheme alone means its well-known port; a port is
// that port, left out when it is the scheme's own. Conformance scenario:
// HTTPRouteRedirectPortAndScheme (its HTTP listeners).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { edgeGateway } from './gateway-manifests.ts';

/** A Gateway port P above 1023 whose proxy port P + 8000 is free. */
async function gatewayPort(): Promise<number> {
  for (;;) {
    const p = (await freePort()) - 8000;
    if (p >= 1024) return p;
  }
}

function location(port: number, path: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 302 ? res.headers.location : `status ${res.statusCode}`);
    });
    req.on('error', reject);
    req.end();
  });
}

const rule = (path: string, redirect: string) => `  - matches: [{path: {type: Exact, value: ${path}}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org${redirect}}}]
`;

test('RequestRedirect without scheme and port keeps the Gateway listener port; a scheme means its own port', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-redirect-port-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const second = await gatewayPort();
  let serve: ServeProcess | undefined;
  try {
    await writeFile(
      join(dir, 'gateway.yaml'),
      `${edgeGateway(['{name: http, port: 80, protocol: HTTP}', `{name: second, port: ${second}, protocol: HTTP}`])}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirects, namespace: apps}
spec:
  parentRefs: [{name: edge}]
  rules:
${rule('/scheme-nil-and-port-nil', '')}${rule('/scheme-nil-and-port-8080', ', port: 8080')}${rule('/scheme-nil-and-port-80', ', port: 80')}${rule('/scheme-https-and-port-nil', ', scheme: https')}`,
    );
    const httpPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const secondAt = second + 8000;
    await waitFor('both listeners served', async () => (await location(secondAt, '/scheme-nil-and-port-nil').catch(() => undefined))?.startsWith('http://') || undefined, 15_000);
    const got: Record<string, (string | undefined)[]> = {};
    for (const path of ['/scheme-nil-and-port-nil', '/scheme-nil-and-port-8080', '/scheme-nil-and-port-80', '/scheme-https-and-port-nil']) {
      got[path] = [await location(httpPort, path), await location(secondAt, path)];
    }
    assert.deepEqual(got, {
      // Gateway port 80 (served on --http-port) and `second` (served on second + 8000).
      '/scheme-nil-and-port-nil': ['http://example.org/scheme-nil-and-port-nil', `http://example.org:${second}/scheme-nil-and-port-nil`],
      '/scheme-nil-and-port-8080': ['http://example.org:8080/scheme-nil-and-port-8080', 'http://example.org:8080/scheme-nil-and-port-8080'],
      '/scheme-nil-and-port-80': ['http://example.org/scheme-nil-and-port-80', 'http://example.org/scheme-nil-and-port-80'],
      '/scheme-https-and-port-nil': ['https://example.org/scheme-https-and-port-nil', 'https://example.org/scheme-https-and-port-nil'],
    });
  } finally {
    await serve?.stop();
    await rm(work, { recursive: true, force: true });
  }
});
