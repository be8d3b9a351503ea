// A new Service never takes down another: while the walkthrough serves
// steady HTTPS load through the chain (balancer TLS -> PROXY v2 -> proxy ->
// TLS backend), a LoadBalancer Service in namespace "aaa" (first by
// namespace/name) asking for the same port 443 is dropped into the watched
// folder. The running listener keeps the port, not one request fails, and
// the newcomer's status names the conflict.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { prepareQuickstart, FQDN } from '../../scripts/quickstart-lib.ts';
import { startDemoBackend } from '../../src/demo/backend.ts';
import type { StatusReport } from '../../src/status/types.ts';
import { waitFor, freeOffset, freePort, getJson, httpsGet, startSecureBackend, startQuickstartServe, type ServeProcess } from './support.ts';

function newcomer(backendPort: number): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: aaa
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb-ip
spec:
  type: LoadBalancer
  ports:
    - name: https
      port: 443
      targetPort: ${backendPort}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
  namespace: aaa
subsets:
  - addresses:
      - ip: 127.0.0.1
    ports:
      - name: https
        port: ${backendPort}
`;
}

test('a colliding Service added under load: zero failed requests, the newcomer gets the problem', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-conflict-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const backend = await startSecureBackend(files, backendPort);
  const plain = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'plain' });
  let plainConnections = 0;
  plain.server.on('connection', () => plainConnections++);
  const offset = await freeOffset([80, 443]);
  const port = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  let serve: ServeProcess | undefined;
  let running = true;
  const agents = [0, 1].map(() => new https.Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    serve = await startQuickstartServe(files, offset);
    const statusUrl = `http://127.0.0.1:${serve.adminPort}/status`;

    // Steady load: two kept-alive clients and one that opens a new
    // connection (a new TLS handshake on the listener) for every request.
    const failures: string[] = [];
    let ok = 0;
    const client = async (agent: https.Agent | undefined) => {
      while (running) {
        try {
          const r = await httpsGet({ host: FQDN, port, ca, agent, path: '/load' });
          if (r.status === 200 && (JSON.parse(r.body) as { backend: string }).backend === 'secure-backend') ok++;
          else failures.push(`status ${r.status}: ${r.body.slice(0, 80)}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const load = Promise.all([client(agents[0]), client(agents[1]), client(undefined)]);
    await waitFor('load flowing', async () => (ok >= 20 ? true : undefined), 10_000);

    await writeFile(join(files.manifests, 'aaa.yaml'), newcomer(plain.port));
    const conflict = await waitFor(
      "the newcomer's status",
      async () => {
        const report = await getJson<StatusReport>(statusUrl);
        return report.services.find((s) => s.namespace === 'aaa' && s.name === 'web' && s.problems.length > 0);
      },
      10_000,
    );
    const before = ok;
    await waitFor('more load after the change', async () => (ok >= before + 30 ? true : undefined), 10_000);
    running = false;
    await load;

    assert.deepEqual(failures, [], 'no request failed');
    assert.deepEqual(
      conflict.problems.map((p) => `${p.severity}: ${p.message}`),
      [`error: Service aaa/web: port 443 would listen on 127.0.0.1:${port}, which projectcontour/envoy:443 holds (it is already listening there); this listener is not created`],
    );
    assert.deepEqual(conflict.listeners, []);
    const report = await getJson<StatusReport>(statusUrl);
    const envoy = report.services.find((s) => s.namespace === 'projectcontour' && s.name === 'envoy')!;
    assert.deepEqual(envoy.problems.filter((p) => p.severity === 'error'), [], 'the running Service is not blamed');
    assert.deepEqual(envoy.listeners.map((l) => l.port), [80, 443]);
    assert.equal(plainConnections, 0, 'nothing reached the newcomer (not even a health check: it has no listener)');
  } finally {
    running = false;
    for (const a of agents) a.destroy();
    const code = await serve?.stop();
    await backend.close();
    await plain.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
