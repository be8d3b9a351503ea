// `isobar serve --config` with listener.connection-balancer: exact over two
// proxy workers: which worker holds a connection is read from Envoy's
// per-worker listener series on /metrics
// (envoy_listener_worker_<i>_downstream_cx_{total,active}). New connections
// alternate; after one worker's connections close, the next ones all go to
// it until the two are even; a manifest change does not disturb that or
// lose a request; a worker killed with kill -9 counts nothing, and its
// replacement takes the new connections until it is even. In default mode
// the load balancer's flows to the proxy are balanced the same way (over
// the primary's Unix socket).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FQDN, prepareQuickstart, type QuickstartFiles } from '../../scripts/quickstart-lib.ts';
import { appProxy, appService, freeOffset, freePort, httpsGet, startSecureBackend, slowBackend, startServe, waitFor, workerPids, type ServeProcess } from './support.ts';
import { RawHttp1 } from '../support/raw-http1.ts';

const HOST = 'balance.example.test';

function manifests(port: number, prefix: string): string {
  return `${appService(port)}---\n${appProxy(HOST, `    - conditions: [{prefix: ${prefix}}]\n      services: [{name: app, port: 80}]\n`)}`;
}

interface WorkerView {
  total: number[];
  active: number[];
}

test('listener.connection-balancer: exact puts each new connection on the proxy worker holding the fewest', { timeout: 120_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-balance-'));
  const backend = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  let serve: ServeProcess | undefined;
  const clients: RawHttp1[] = [];
  try {
    const dir = join(work, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'app.yaml'), manifests(backendPort, '/'));
    await writeFile(join(work, 'isobar.yaml'), 'listener:\n  connection-balancer: exact\n');
    const httpPort = await freePort();
    const adminPort = await freePort();
    serve = await startServe(
      [dir, '--config', join(work, 'isobar.yaml'), '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '2', '--state-dir', join(work, 'state')],
      adminPort,
    );
    assert.doesNotMatch(serve.output(), /connection-balancer/, 'loaded without a warning');
    const primary = serve.child.pid!;

    const at = `{envoy_listener_address="0.0.0.0_${httpPort}"}`;
    const view = async (): Promise<WorkerView> => {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      const read = (i: number, what: 'total' | 'active'): number => {
        const line = text.split('\n').find((l) => l.startsWith(`envoy_listener_worker_${i}_downstream_cx_${what}${at} `));
        return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      return { total: [read(0, 'total'), read(1, 'total')], active: [read(0, 'active'), read(1, 'active')] };
    };
    /** Opens a connection, has it answered, and says which worker took it. */
    const connect = async (before: WorkerView): Promise<{ client: RawHttp1; worker: number }> => {
      const client = await RawHttp1.open(httpPort);
      client.host = HOST;
      clients.push(client);
      // Routed before the manifest change below (prefix /) and after it (prefix /v2).
      client.send('/v2/x');
      assert.equal((await client.response(10_000))?.status, 200);
      const after = await waitFor('the new connection counted', async () => {
        const v = await view();
        return v.total[0]! + v.total[1]! > before.total[0]! + before.total[1]! ? v : undefined;
      });
      const worker = after.total[0]! > before.total[0]! ? 0 : 1;
      assert.equal(after.total[0]! + after.total[1]!, before.total[0]! + before.total[1]! + 1, 'one connection, one worker');
      return { client, worker };
    };
    const settled = (active: number[]) => async (): Promise<WorkerView | undefined> => {
      const v = await view();
      return v.active[0] === active[0] && v.active[1] === active[1] ? v : undefined;
    };

    // Ten long-lived connections: each new one goes to the worker with fewer.
    const held: { client: RawHttp1; worker: number }[] = [];
    let v = await view();
    for (let i = 0; i < 10; i++) {
      const c = await connect(v);
      v = await view();
      held.push(c);
      assert.ok(Math.abs(v.active[0]! - v.active[1]!) <= 1, `even after ${i + 1}: ${JSON.stringify(v.active)}`);
    }
    assert.deepEqual(v.active, [5, 5]);

    // Worker 0's connections close: the next five all go to worker 0.
    for (const c of held.filter((h) => h.worker === 0)) c.client.close();
    v = await waitFor("worker 0's connections closed", settled([0, 5]), 10_000);
    for (let i = 0; i < 5; i++) {
      const c = await connect(v);
      assert.equal(c.worker, 0, `new connection ${i + 1} after the closes`);
      v = await view();
    }
    assert.deepEqual(v.active, [5, 5]);

    // A manifest change while connections keep coming: every request is
    // answered, on the new route, and the workers stay even.
    const rewrite = writeFile(join(dir, 'app.yaml'), manifests(backendPort, '/v2'));
    for (let i = 0; i < 4; i++) {
      const c = await RawHttp1.open(httpPort);
      c.host = HOST;
      clients.push(c);
      c.send('/v2/x');
      assert.equal((await c.response(10_000))?.status, 200, `connection ${i + 1} during the reload`);
    }
    await rewrite;
    await waitFor('the new routes served (/ no longer is)', async () => {
      const c = await RawHttp1.open(httpPort);
      c.host = HOST;
      c.send('/', { connection: 'close' });
      const notFound = (await c.response(10_000))?.status === 404;
      c.close();
      return notFound;
    }, 20_000);
    v = await waitFor('the probes closed', async () => {
      const now = await view();
      return now.active[0]! + now.active[1]! === 14 ? now : undefined;
    }, 10_000);
    assert.deepEqual(v.active, [7, 7]);

    // kill -9 of a proxy worker: its replacement holds nothing and takes
    // the new connections until even.
    const victim = workerPids(primary, 'proxy-worker')[0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('a replacement proxy worker', () => {
      const now = workerPids(primary, 'proxy-worker');
      return now.length === 2 && !now.includes(victim);
    }, 30_000);
    v = await waitFor('one worker holds nothing', async () => {
      const now = await view();
      return now.active.includes(0) && now.active.includes(7) ? now : undefined;
    }, 30_000);
    const empty = v.active.indexOf(0);
    for (let i = 0; i < 7; i++) {
      const c = await connect(v);
      assert.equal(c.worker, empty, `new connection ${i + 1} after the kill`);
      v = await view();
    }
    assert.deepEqual(v.active, [7, 7]);
  } finally {
    for (const c of clients) c.close();
    await serve?.stop();
    await new Promise((r) => backend.close(r));
    await rm(work, { recursive: true, force: true });
  }
});

/** The walkthrough's files and TLS backend, and its config file with exact balancing added. */
async function walkthrough(prefix: string): Promise<{ work: string; files: QuickstartFiles; backend: Awaited<ReturnType<typeof startSecureBackend>>; config: string }> {
  const work = await mkdtemp(join(tmpdir(), prefix));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const backend = await startSecureBackend(files, backendPort);
  const config = join(work, 'isobar.yaml');
  await writeFile(config, `${await readFile(files.config, 'utf8')}listener:\n  connection-balancer: exact\n`);
  return { work, files, backend, config };
}

test('default mode: the load balancer\'s flows reach the proxy workers evenly with exact balancing', { timeout: 90_000 }, async () => {
  const { work, files, backend, config } = await walkthrough('isobar-balance-lb-');
  const offset = await freeOffset([80, 443]);
  const agents: https.Agent[] = [];
  let serve: ServeProcess | undefined;
  try {
    const adminPort = await freePort();
    serve = await startServe(
      [files.manifests, '--config', config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '2'],
      adminPort,
    );
    const ca = await readFile(files.edgeCa, 'utf8');
    // The proxy's loopback listeners, by worker. The load balancer's TCP
    // health checks reach their ports too, each for a moment: a view
    // counts only once its sum is the number of client connections held.
    const perWorker = async (): Promise<number[]> => {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      const out = [0, 0];
      for (const m of text.matchAll(/^envoy_listener_worker_(\d)_downstream_cx_active\{envoy_listener_address="127\.0\.0\.1_\d+"\} (\d+)$/gm)) out[Number(m[1])]! += Number(m[2]);
      return out;
    };
    const holding = (n: number) => waitFor(`${n} flows held`, async () => {
      const v = await perWorker();
      return v[0]! + v[1]! === n ? v : undefined;
    }, 20_000);
    // Kept-alive client connections through the load balancer's TLS port,
    // each one flow and one connection of the proxy's lb-https listener.
    const held: { agent: https.Agent; worker: number }[] = [];
    const connect = async (): Promise<number> => {
      const before = await holding(held.length);
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      assert.equal((await httpsGet({ host: FQDN, port: 443 + offset, ca, agent, path: '/hello' })).status, 200);
      const after = await holding(held.length + 1);
      const worker = after[0]! > before[0]! ? 0 : 1;
      held.push({ agent, worker });
      return worker;
    };
    for (let i = 0; i < 6; i++) await connect();
    assert.deepEqual(await holding(6), [3, 3]);
    for (const h of held.filter((x) => x.worker === 0)) h.agent.destroy();
    held.splice(0, held.length, ...held.filter((x) => x.worker === 1));
    assert.deepEqual(await holding(3), [0, 3]);
    for (let i = 0; i < 3; i++) assert.equal(await connect(), 0, `flow ${i + 1} after worker 0's closed`);
    assert.deepEqual(await holding(6), [3, 3]);
  } finally {
    for (const a of agents) a.destroy();
    await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('--co-located: the proxy\'s own ports are balanced between the workers too', { timeout: 90_000 }, async () => {
  const { work, files, backend, config } = await walkthrough('isobar-balance-coloc-');
  const clients: RawHttp1[] = [];
  let serve: ServeProcess | undefined;
  try {
    const adminPort = await freePort();
    const httpPort = await freePort();
    serve = await startServe(
      [files.manifests, '--config', config, '--state-dir', files.stateDir, '--lb-port-offset', String(await freeOffset([80, 443])), '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '2', '--co-located'],
      adminPort,
    );
    const totals = async (): Promise<number[]> => {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      return [0, 1].map((i) => {
        const m = new RegExp(`^envoy_listener_worker_${i}_downstream_cx_total\\{envoy_listener_address="0\\.0\\.0\\.0_${httpPort}"\\} (\\d+)$`, 'm').exec(text);
        return m ? Number(m[1]) : 0;
      });
    };
    /** A kept-alive connection to the proxy's plain port, answered; which worker counted it. */
    const connect = async (): Promise<{ client: RawHttp1; worker: number }> => {
      const before = await totals();
      const client = await RawHttp1.open(httpPort);
      client.host = FQDN;
      clients.push(client);
      client.send('/');
      assert.ok((await client.response(10_000))?.status, 'answered');
      const after = await waitFor('counted', async () => {
        const t = await totals();
        return t[0]! + t[1]! > before[0]! + before[1]! ? t : undefined;
      });
      return { client, worker: after[0]! > before[0]! ? 0 : 1 };
    };
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await connect());
    assert.deepEqual(held.map((h) => h.worker).sort(), [0, 0, 1, 1]);
    for (const h of held.filter((x) => x.worker === 0)) h.client.close();
    // Closes are reported; the next two go to worker 0.
    await waitFor("worker 0's closes reported", async () => {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      return new RegExp(`^envoy_listener_worker_0_downstream_cx_active\\{envoy_listener_address="0\\.0\\.0\\.0_${httpPort}"\\} 0$`, 'm').test(text);
    }, 10_000);
    assert.deepEqual([(await connect()).worker, (await connect()).worker], [0, 0]);
  } finally {
    for (const c of clients) c.close();
    await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('SIGTERM with exact balancing: a request in flight on a handed-off connection finishes, an idle one may still ask within --drain-grace, exit 0', { timeout: 60_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-balance-drain-'));
  const slow = await slowBackend();
  let serve: ServeProcess | undefined;
  try {
    const dir = join(work, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'app.yaml'), manifests(slow.port, '/'));
    await writeFile(join(work, 'isobar.yaml'), 'listener:\n  connection-balancer: exact\n');
    const httpPort = await freePort();
    const adminPort = await freePort();
    serve = await startServe(
      [dir, '--config', join(work, 'isobar.yaml'), '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '2', '--state-dir', join(work, 'state'), '--drain-grace', '4s'],
      adminPort,
    );
    const busy = await RawHttp1.open(httpPort);
    busy.host = HOST;
    busy.send('/slow');
    await waitFor('the request reached the backend', () => slow.arrived());
    const idle = await RawHttp1.open(httpPort);
    idle.host = HOST;
    // Both handed over (one on each worker) before the signal.
    await waitFor('both connections on their workers', async () => {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      return [0, 1].every((i) => new RegExp(`^envoy_listener_worker_${i}_downstream_cx_active\\{envoy_listener_address="0\\.0\\.0\\.0_${httpPort}"\\} 1$`, 'm').test(text));
    });
    const exited = serve.stop();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(serve.child.exitCode, null, 'still draining while the request is in flight');
    await waitFor('the port closed to new connections', () => RawHttp1.open(httpPort).then((c) => (c.close(), false), () => true));
    slow.release();
    const res = await busy.response(10_000);
    assert.equal(res?.status, 200);
    assert.equal(res?.body, 'finished\n');
    idle.send('/quick');
    const answer = await idle.response(10_000);
    assert.equal(answer?.status, 200, 'answered within the grace');
    assert.equal(answer?.headers['connection'], 'close');
    assert.equal(await exited, 0);
  } finally {
    await serve?.stop();
    slow.close();
    await rm(work, { recursive: true, force: true });
  }
});
