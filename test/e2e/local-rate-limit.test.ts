// Local rate limits through the whole chain (balancer TLS -> PROXY v2 ->
// proxy -> TLS backend), one proxy worker so the count is exact: requests +
// burst pass, the next gets 429 "local_rate_limited" with the policy's
// headers before the backend sees it; a route's own policy replaces the
// virtual host's; a global rate limit without a rate limit service in the
// config file makes its HTTPProxy invalid and nothing of it is served.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareQuickstart } from '../../scripts/quickstart-lib.ts';
import type { StatusReport } from '../../src/status/types.ts';
import { waitFor, freeOffset, freePort, getJson, startSecureBackend, edgeCall, startQuickstartServe, type ServeProcess } from './support.ts';

const call = edgeCall;

const GLOBAL = `
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: global-limited
  namespace: demo
spec:
  virtualhost:
    fqdn: global-limited.example.test
    rateLimitPolicy:
      global:
        descriptors:
          - entries:
              - genericKey: {value: demo}
  routes:
    - services:
        - name: secure-backend
          port: 8443
`;

const BACKEND = '      services:\n        - name: secure-backend\n          port: 8443\n          validation:\n            caSecret: backend-ca\n            subjectName: secure-backend.example.test\n';

test('local rate limit through the chain: requests + burst, 429 before the backend, a route policy, global without a service invalid', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-ratelimit-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const proxiesPath = join(files.manifests, 'httpproxies.yaml');
  const original = await readFile(proxiesPath, 'utf8');
  const limited = original
    .replace(
      '    fqdn: tls-demo.example.test\n',
      [
        '    fqdn: tls-demo.example.test',
        '    rateLimitPolicy:',
        '      local:',
        '        requests: 2',
        '        burst: 2',
        '        unit: hour',
        '        responseHeadersToAdd:',
        '          - {name: retry-after, value: "3600"}',
        '',
      ].join('\n'),
    )
    .replace(
      '  routes:\n    - conditions:\n        - prefix: /\n',
      `  routes:\n    - conditions:\n        - prefix: /own\n      rateLimitPolicy:\n        local: {requests: 1, unit: hour, responseStatusCode: 503}\n${BACKEND}    - conditions:\n        - prefix: /\n`,
    );
  assert.notEqual(limited, original);
  await writeFile(proxiesPath, limited + GLOBAL);
  const backend = await startSecureBackend(files, backendPort);
  let backendRequests = 0;
  backend.server.on('request', () => backendRequests++);
  const offset = await freeOffset([80, 443]);
  const port = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  const get = (path = '/') => call({ port, ca, path });
  let serve: ServeProcess | undefined;
  try {
    serve = await startQuickstartServe(files, offset);
    // Every answer from the virtual host spends one of its 4 tokens
    // (requests 2 + burst 2); before it is served there is none (404, or no
    // certificate for its name).
    let spent = 0;
    await waitFor('tls-demo served', async () => {
      const r = await get();
      if (r.status !== 404) spent++;
      return r.status === 200 || undefined;
    }, 10_000);
    assert.ok(spent >= 1 && spent <= 4, `answers while starting: ${spent}`);
    for (let i = spent + 1; i <= 4; i++) assert.equal((await get(`/${i}`)).status, 200, `request ${i} of 4`);
    const seen = backendRequests;
    const over = await get('/over');
    assert.equal(over.status, 429);
    assert.equal(over.body, 'local_rate_limited');
    assert.equal(over.headers['retry-after'], '3600');
    assert.equal(over.headers['x-ratelimit-limit'], undefined);
    assert.equal(backendRequests, seen, 'the limited request never reached the backend');

    // The route's own policy replaces the virtual host's (whose bucket is empty).
    assert.equal((await get('/own')).status, 200);
    const own = await get('/own');
    assert.equal(own.status, 503);
    assert.equal(own.body, 'local_rate_limited');
    assert.equal(own.headers['retry-after'], undefined, "the virtual host's headers are its own");

    const report = await getJson<StatusReport>(`http://127.0.0.1:${serve.adminPort}/status`);
    assert.equal(report.httpproxies.find((h) => h.name === 'tls-demo')!.currentStatus, 'valid');
    const global = report.httpproxies.find((h) => h.name === 'global-limited')!;
    assert.equal(global.currentStatus, 'invalid');
    assert.deepEqual(
      global.conditions[0]!.errors!.map((e) => [e.reason, e.message]),
      [['RateLimitPolicyNotValid', "Spec.VirtualHost.RateLimitPolicy is invalid: global rate limit descriptors need the config file's rateLimitService.extensionService (isobar does not serve a limit it cannot enforce)"]],
    );
    assert.equal((await call({ port: 80 + offset, ca, host: 'global-limited.example.test', plain: true })).status, 404);
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
