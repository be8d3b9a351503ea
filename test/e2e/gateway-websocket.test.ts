// A WebSocket through an HTTPRoute, via `isobar serve`: Contour's Gateway
// listeners enable upgrades for every route, so a backend whose Service
// port says appProtocol kubernetes.io/ws (or nothing) gets the upgrade, and
// text and binary frames go both ways. Conformance scenario:
// HTTPRouteBackendProtocolWebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { edgeGateway } from './gateway-manifests.ts';

/** Sends a text and a binary message and resolves with what comes back. */
function exchange(port: number): Promise<[string, number[]]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: 'ws.example.test' } });
    const replies: (string | number[])[] = [];
    ws.on('open', () => {
      ws.send('Websocket Support!');
      ws.send(Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    });
    ws.on('message', (m: Buffer, binary: boolean) => {
      replies.push(binary ? [...m] : m.toString());
      if (replies.length === 2) {
        ws.close();
        resolve(replies as [string, number[]]);
      }
    });
    ws.on('error', reject);
  });
}

test('HTTPRoute to a kubernetes.io/ws backend: the upgrade reaches it, text and binary frames echo back', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-websocket-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const server = http.createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m: Buffer, binary: boolean) => ws.send(m, { binary })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let serve: ServeProcess | undefined;
  try {
    await writeFile(
      join(dir, 'gateway.yaml'),
      `${edgeGateway(['{name: http, port: 80, protocol: HTTP}'])}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend-protocol-ws, namespace: apps}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: ws-backend, port: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: ws-backend, namespace: apps}
spec: {ports: [{name: ws, port: 8080, targetPort: 3000, appProtocol: kubernetes.io/ws}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ws-backend, namespace: apps}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{name: ws, port: ${(server.address() as AddressInfo).port}}]}]
`,
    );
    const httpPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const replies = await waitFor('the WebSocket answered', () => exchange(httpPort).catch(() => undefined), 15_000);
    assert.deepEqual(replies, ['Websocket Support!', [1, 2, 3, 4, 5, 6, 7]]);
  } finally {
    await serve?.stop();
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(work, { recursive: true, force: true });
  }
});
