// Upstream policies through `isobar serve` (dag and proxy, one worker):
// an HTTPProxy route whose health check probes each endpoint's health port
// (the endpoint whose health port fails gets no requests while its traffic
// port would answer), with slow start and the config file's
// cluster.max-requests-per-connection; a TCPProxy whose connect health check
// takes a dead backend out; and Contour's SlowStartInvalid on /status for a
// route with the Random strategy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createCa } from '../support/pki.ts';
import { edgeCall, freePort, getJson, startServe, waitFor, type ServeProcess } from './support.ts';

interface Listening {
  port: number;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<Listening> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    // Connect checks close at once: a backend's write may meet a reset.
    s.on('error', () => {});
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

test('serve: health ports, slow start, requests per connection, TCP health checks and SlowStartInvalid', { timeout: 120_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-upstream-'));
  const ca = await createCa('upstream e2e CA');
  const edge = await ca.issue({ dnsNames: ['tcp.example.test'] });
  const upstreamSockets = new Map<string, number>();
  const traffic = (name: string) =>
    http.createServer((req, res) => {
      const k = `${name}:${req.socket.remotePort}`;
      upstreamSockets.set(k, (upstreamSockets.get(k) ?? 0) + 1);
      // The traffic port would pass a health check: it must not be the one probed.
      res.end(name);
    });
  let sickHealthy = false;
  const servers = {
    good: await listen(traffic('good')),
    sick: await listen(traffic('sick')),
    goodHealth: await listen(http.createServer((_req, res) => res.writeHead(200).end())),
    sickHealth: await listen(http.createServer((_req, res) => res.writeHead(sickHealthy ? 200 : 503).end())),
    tcpAlive: await listen(net.createServer((s) => s.end('alive'))),
    tcpDead: await listen(net.createServer((s) => s.end('dead'))),
  };
  const app = (name: string, subsets: { traffic: number; health: number }[]) => [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'health', port: 81 }] } },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: 'default' },
      subsets: subsets.map((s) => ({ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port: s.traffic }, { name: 'health', port: s.health }] })),
    },
  ];
  const objects = [
    ...app('web', [
      { traffic: servers.good.port, health: servers.goodHealth.port },
      { traffic: servers.sick.port, health: servers.sickHealth.port },
    ]),
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        virtualhost: { fqdn: 'web.example.test' },
        routes: [
          {
            healthCheckPolicy: { path: '/healthz', intervalSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1 },
            services: [{ name: 'web', port: 80, healthPort: 81, slowStartPolicy: { window: '1s' } }],
          },
        ],
      },
    },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'random', namespace: 'default' },
      spec: {
        virtualhost: { fqdn: 'random.example.test' },
        routes: [{ loadBalancerPolicy: { strategy: 'Random' }, services: [{ name: 'web', port: 80, slowStartPolicy: { window: '10s' } }] }],
      },
    },
    ...app('tcp', [
      { traffic: servers.tcpAlive.port, health: servers.tcpAlive.port },
      { traffic: servers.tcpDead.port, health: servers.tcpDead.port },
    ]),
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'edge', namespace: 'default' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': edge.certPem, 'tls.key': edge.keyPem } },
    {
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name: 'tcp', namespace: 'default' },
      spec: {
        virtualhost: { fqdn: 'tcp.example.test', tls: { secretName: 'edge' } },
        tcpproxy: { healthCheckPolicy: { intervalSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1 }, services: [{ name: 'tcp', port: 80 }] },
      },
    },
  ];
  const dir = join(work, 'manifests');
  await mkdir(dir);
  await writeFile(join(dir, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  const configPath = join(work, 'isobar.yaml');
  await writeFile(configPath, 'cluster:\n  max-requests-per-connection: 2\n');

  const httpPort = await freePort();
  const httpsPort = await freePort();
  const tcpThrough = () =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'tcp.example.test', ca: ca.certPem });
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('close', () => resolve(out || 'closed'));
      s.on('error', () => {});
    });
  const spread = async (n: number, one: () => Promise<string>) => {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const k = await one();
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };
  const web = async () => {
    const r = await edgeCall({ port: httpPort, ca: '', host: 'web.example.test', plain: true });
    return r.status === 200 ? r.body : String(r.status);
  };
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [dir, '--config', configPath, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--workers', '1', '--state-dir', join(work, 'state'), '--no-access-log'],
      await freePort(),
    );

    // The random-strategy route is Contour's SlowStartInvalid; the others are valid.
    const report = await getJson<{ httpproxies: { name: string; currentStatus: string; conditions: { errors?: { reason: string; message: string }[] }[] }[] }>(`http://127.0.0.1:${serve.adminPort}/status`);
    const byName = new Map(report.httpproxies.map((p) => [p.name, p]));
    assert.equal(byName.get('web')!.currentStatus, 'valid');
    assert.equal(byName.get('tcp')!.currentStatus, 'valid');
    assert.equal(byName.get('random')!.currentStatus, 'invalid');
    assert.deepEqual(
      byName.get('random')!.conditions[0]!.errors!.map((e) => [e.reason, e.message]),
      [['SlowStartInvalid', 'slow start is only supported with RoundRobin or WeightedLeastRequest load balancer strategy']],
    );

    // The sick endpoint's health port answers 503: it gets nothing, though its traffic port would answer.
    await waitFor('the healthy endpoint serving', async () => (await web()) === 'good', 20_000, 200);
    assert.deepEqual(await spread(10, web), { good: 10 });
    sickHealthy = true;
    await waitFor('the endpoint back once its health port passes', async () => (await spread(10, web)).sick !== undefined, 20_000, 200);
    await waitFor('both endpoints at half the requests after the slow start window', async () => {
      const s = await spread(10, web);
      return s.good === 5 && s.sick === 5;
    }, 20_000, 200);

    // cluster.max-requests-per-connection: 2: no upstream connection carried more than two requests.
    assert.ok(upstreamSockets.size >= 10, `connections: ${upstreamSockets.size}`);
    assert.ok([...upstreamSockets.values()].every((n) => n <= 2), JSON.stringify([...upstreamSockets.values()]));

    // TCPProxy: a dead backend stops getting connections once its connect check fails.
    await waitFor('both TCP backends reached', async () => Object.keys(await spread(6, tcpThrough)).length === 2, 20_000, 200);
    await servers.tcpDead.close();
    await waitFor('the dead TCP backend out', async () => (await spread(6, tcpThrough)).alive === 6, 20_000, 200);
    assert.deepEqual(await spread(10, tcpThrough), { alive: 10 });
  } finally {
    const code = await serve?.stop();
    for (const s of Object.values(servers)) await s.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
