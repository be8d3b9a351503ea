// IP filters and CORS through the whole chain (balancer TLS -> PROXY v2 ->
// proxy -> TLS backend), with clients bound to different loopback
// addresses: Remote is the client address the balancer's PROXY header
// carries, so an allowed client is served and a refused one gets Envoy's
// 403 before the backend sees anything, X-Forwarded-For or not; a route's
// rules replace the virtual host's; a preflight is answered at the edge;
// an HTTPProxy with a bad CIDR is invalid and serves nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareQuickstart } from '../../scripts/quickstart-lib.ts';
import type { StatusReport } from '../../src/status/types.ts';
import { waitFor, freeOffset, freePort, getJson, startSecureBackend, edgeCall, startQuickstartServe, type ServeProcess } from './support.ts';

const call = edgeCall;

const FILTERED = `
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: bad-cidr
  namespace: demo
spec:
  virtualhost:
    fqdn: bad-cidr.example.test
    ipDenyPolicy:
      - cidr: 127.0.0.300
        source: Remote
  routes:
    - services:
        - name: secure-backend
          port: 8443
          validation:
            caSecret: backend-ca
            subjectName: secure-backend.example.test
`;

test('ip filters through the chain: Remote from the PROXY header, spoofed X-Forwarded-For ignored, route rules, CORS, a bad CIDR', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-ipfilter-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const proxiesPath = join(files.manifests, 'httpproxies.yaml');
  const original = await readFile(proxiesPath, 'utf8');
  const filtered = original
    .replace(
      '    fqdn: tls-demo.example.test\n',
      [
        '    fqdn: tls-demo.example.test',
        '    ipAllowPolicy:',
        '      - cidr: 127.0.0.2',
        '        source: Remote',
        '      - cidr: 127.0.0.4/32',
        '        source: Remote',
        '    corsPolicy:',
        '      allowOrigin: ["https://app.example.test"]',
        '      allowMethods: [GET, POST]',
        '      maxAge: 10m',
        '',
      ].join('\n'),
    )
    .replace(
      '  routes:\n    - conditions:\n        - prefix: /\n',
      '  routes:\n    - conditions:\n        - prefix: /admin\n      ipDenyPolicy:\n        - cidr: 127.0.0.4\n          source: Remote\n      services:\n        - name: secure-backend\n          port: 8443\n          validation:\n            caSecret: backend-ca\n            subjectName: secure-backend.example.test\n    - conditions:\n        - prefix: /\n',
    );
  assert.notEqual(filtered, original);
  await writeFile(proxiesPath, filtered + FILTERED);
  const backend = await startSecureBackend(files, backendPort);
  let backendRequests = 0;
  backend.server.on('request', () => backendRequests++);
  const offset = await freeOffset([80, 443]);
  const port = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  let serve: ServeProcess | undefined;
  try {
    serve = await startQuickstartServe(files, offset);
    const statusUrl = `http://127.0.0.1:${serve.adminPort}/status`;
    await waitFor('tls-demo served', async () => ((await call({ from: '127.0.0.2', port, ca })).status === 200) || undefined, 10_000);

    // Allowed, with the client's own address reaching the backend.
    const ok = await call({ from: '127.0.0.2', port, ca });
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { clientAddress: string }).clientAddress, '127.0.0.2');

    // Refused: 403 at the edge, the backend sees nothing, whatever the client claims.
    const seen = backendRequests;
    const spoofs: Record<string, string>[] = [{}, { 'x-forwarded-for': '127.0.0.2' }, { 'x-forwarded-for': '127.0.0.2, 127.0.0.2' }];
    for (const headers of spoofs) {
      const no = await call({ from: '127.0.0.3', port, ca, headers });
      assert.equal(no.status, 403, JSON.stringify(headers));
      assert.equal(no.body, 'RBAC: access denied');
    }
    const plain = await call({ from: '127.0.0.3', port: 80 + offset, ca, plain: true });
    assert.equal(plain.status, 403, 'the plain-HTTP listener of the load balancer too');
    assert.equal(backendRequests, seen, 'no refused request reached the backend');

    // The route's deny list replaces the virtual host's allow list.
    assert.equal((await call({ from: '127.0.0.3', port, ca, path: '/admin' })).status, 200);
    assert.equal((await call({ from: '127.0.0.4', port, ca, path: '/admin' })).status, 403);
    assert.equal((await call({ from: '127.0.0.4', port, ca, path: '/' })).status, 200);

    // CORS: a preflight answered at the edge, before the IP filter.
    const before = backendRequests;
    const pre = await call({ from: '127.0.0.3', port, ca, method: 'OPTIONS', headers: { origin: 'https://app.example.test', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.test');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(pre.headers['access-control-max-age'], '600');
    const actual = await call({ from: '127.0.0.2', port, ca, headers: { origin: 'https://app.example.test' } });
    assert.equal(actual.headers['access-control-allow-origin'], 'https://app.example.test');
    assert.equal(backendRequests, before + 1, 'only the actual request reached the backend');

    // A bad CIDR: invalid, in Contour's words, and nothing of it is served.
    const report = await getJson<StatusReport>(statusUrl);
    const bad = report.httpproxies.find((h) => h.name === 'bad-cidr')!;
    assert.equal(bad.currentStatus, 'invalid');
    assert.deepEqual(
      bad.conditions[0]!.errors!.map((e) => [e.reason, e.message]),
      [
        ['InvalidCIDR', '127.0.0.300 failed to parse: invalid CIDR address: 127.0.0.300/32'],
        ['IPFilterPolicyNotValid', 'Spec.VirtualHost.IPAllowFilterPolicy or Spec.VirtualHost.IPDenyFilterPolicy is invalid: invalid CIDR address: 127.0.0.300/32'],
      ],
    );
    assert.equal((await call({ from: '127.0.0.2', port, ca, host: 'bad-cidr.example.test' })).status, 404);
    assert.equal(report.httpproxies.find((h) => h.name === 'tls-demo')!.currentStatus, 'valid');
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
