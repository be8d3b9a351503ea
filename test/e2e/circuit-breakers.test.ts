// Circuit breakers through the whole chain (balancer TLS -> PROXY v2 ->
// proxy -> TLS backend), one proxy worker so the budgets are exact: the
// Service's projectcontour.io/max-connections "1" and the config file's
// cluster.circuit-breakers max-pending-requests 1. Against a backend that
// holds /hold requests: one is in flight, one waits, the third gets Envoy's
// 503 overflow with x-envoy-overloaded; the waiting one is sent when the
// first ends, and the backend never has two at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareQuickstart } from '../../scripts/quickstart-lib.ts';
import { waitFor, freeOffset, freePort, edgeCall, startQuickstartServe, type ServeProcess } from './support.ts';

test('circuit breakers through the chain: one in flight, one pending, the next 503 UO with x-envoy-overloaded', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-breakers-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const servicePath = join(files.manifests, 'secure-backend.yaml');
  const svc = await readFile(servicePath, 'utf8');
  const limited = svc.replace('    projectcontour.io/upstream-protocol.tls: "8443"\n', '    projectcontour.io/upstream-protocol.tls: "8443"\n    projectcontour.io/max-connections: "1"\n');
  assert.notEqual(limited, svc);
  await writeFile(servicePath, limited);
  const configPath = join(work, 'isobar.yaml');
  await writeFile(configPath, `${await readFile(files.config, 'utf8')}cluster:\n  circuit-breakers:\n    max-pending-requests: 1\n`);
  files.config = configPath;

  // The slow backend: the quickstart backend's TLS (its certificate, the
  // proxy's client certificate required), holding /hold until released.
  const held: ServerResponse[] = [];
  let concurrent = 0;
  let peak = 0;
  const seen: string[] = [];
  const backend = https.createServer(
    { cert: await readFile(files.backendCert), key: await readFile(files.backendKey), ca: await readFile(files.clientCa), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      concurrent++;
      peak = Math.max(peak, concurrent);
      res.once('close', () => concurrent--);
      if (!req.url?.startsWith('/hold')) return res.end('ok');
      seen.push(req.url);
      held.push(res);
    },
  );
  await new Promise<void>((r) => backend.listen(backendPort, '127.0.0.1', () => r()));
  assert.equal((backend.address() as AddressInfo).port, backendPort);
  const release = (): void => void held.shift()!.end('released');

  const offset = await freeOffset([80, 443]);
  const port = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  const get = (path: string) => edgeCall({ port, ca, path });
  let serve: ServeProcess | undefined;
  try {
    serve = await startQuickstartServe(files, offset);
    await waitFor('tls-demo served', async () => (await get('/')).status === 200 || undefined, 20_000);
    peak = 0;

    const first = get('/hold/1');
    await waitFor('the first request held', () => held.length === 1, 10_000);
    const second = get('/hold/2');
    // The second waits in the proxy (not sent): a third finds the queue full.
    const pending = /envoy_cluster_upstream_rq_pending_active\{envoy_cluster_name="demo_secure-backend_8443"\} 1\b/;
    await waitFor('the second request pending', async () => pending.test(await (await fetch(`http://127.0.0.1:${serve!.adminPort}/metrics`)).text()), 10_000);
    const third = await get('/hold/3');
    assert.equal(third.status, 503);
    assert.equal(third.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
    assert.equal(third.headers['x-envoy-overloaded'], 'true');
    assert.deepEqual(seen, ['/hold/1']);

    release();
    assert.equal((await first).status, 200);
    await waitFor('the waiting request sent', () => held.length === 1, 10_000);
    assert.deepEqual(seen, ['/hold/1', '/hold/2']);
    release();
    const answered = await second;
    assert.equal(answered.status, 200);
    assert.equal(answered.body, 'released');
    assert.equal(peak, 1, 'never two requests at the backend at once');

    const metrics = await (await fetch(`http://127.0.0.1:${serve.adminPort}/metrics`)).text();
    assert.match(metrics, /envoy_cluster_upstream_rq_pending_overflow\{envoy_cluster_name="demo_secure-backend_8443"\} [1-9]/);
  } finally {
    const code = await serve?.stop();
    while (held.length) release();
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
