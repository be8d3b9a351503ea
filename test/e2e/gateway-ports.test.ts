// Gateway listener ports of their own and TCP listeners through `isobar
// serve`: two HTTP listeners on two ports (the first on --http-port, the
// second on its port + 8000, each with its own HTTPRoute), a TCP listener
// forwarding to a real TCP echo backend by its TCPRoute (the weight-0
// backend gets nothing), the same ports through the Gateway's load
// balancer (envoy-<gateway>, --lb-port-offset), and listeners added and
// removed at run time by editing the folder. In the default mode (the
// balancer -> proxy hop over Unix sockets), --co-located (handed over
// in-process), and with listener.connection-balancer: exact (the primary
// opens the port listeners and hands their connections to the workers,
// one each in turn). Conformance scenarios: TCPRouteSimpleSameNamespace-like
// forwarding, TCPRouteWeightedRouting (weight 0), HTTPRouteListenerPortMatching.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { edgeGateway, serviceAt } from './gateway-manifests.ts';
import { freePort, getJson, startServe, waitFor, type ServeProcess } from './support.ts';

/** A Gateway port P whose proxy port P + 8000 and load balancer port P + offset are free. */
async function gatewayPort(offset: number, taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const q = await freePort();
    const p = q - 8000;
    if (p < 1024 || taken.has(p) || q + 0 > 65535) continue;
    if (!(await isFree(p + offset))) continue;
    taken.add(p);
    return p;
  }
  throw new Error('no free Gateway port found');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (port > 65535) return resolve(false);
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `line`, half-closes, resolves with what came back before the close. */
function tcpTalk(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(line));
    let reply = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (reply += d));
    s.on('close', () => resolve(reply));
    s.on('error', reject);
  });
}

function echoServer(name: string, seen: string[]): Server {
  return createServer((sock) => {
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (got += d));
    sock.on('end', () => {
      seen.push(name);
      sock.end(`${name}:${got}`);
    });
  });
}

/** A config file with exact connection balancing, in `work`. */
async function exactConfig(work: string): Promise<string> {
  const file = join(work, 'isobar.yaml');
  await writeFile(file, 'listener:\n  connection-balancer: exact\n');
  return file;
}

/** The Gateway with the load balancer of its own Contour's NLB annotation asks for. */
const gatewayYaml = (listeners: string[]): string => edgeGateway(listeners, { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } });

/** A TCPRoute (of either served version) on the listener `section` of Gateway edge. */
const tcpRoute = (version: string, name: string, section: string, backendRefs: string) => `apiVersion: gateway.networking.k8s.io/${version}
kind: TCPRoute
metadata: {name: ${name}, namespace: apps}
spec:
  parentRefs: [{name: edge, sectionName: ${section}}]
  rules: [{backendRefs: [${backendRefs}]}]
`;

const httpListener = (name: string, port: number) => `{name: ${name}, port: ${port}, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}`;
const tcpListener = (name: string, port: number) => `{name: ${name}, port: ${port}, protocol: TCP, allowedRoutes: {kinds: [{kind: TCPRoute}]}}`;

for (const mode of ['default', 'co-located', 'exact'] as const) {
  test(`${mode}: two HTTP ports, a TCP listener with its TCPRoute, through the proxy and the Gateway's load balancer; listeners added and removed at run time`, async (t) => {
    const work = await mkdtemp(join(tmpdir(), `isobar-gateway-ports-${mode}-`));
    const dir = join(work, 'manifests');
    await mkdir(dir);
    const seen: string[] = [];
    const echoA = echoServer('a', seen);
    const echoB = echoServer('b', seen);
    const app = (name: string) => http.createServer((_req, res) => res.end(name));
    const app1 = app('first');
    const app2 = app('second');
    for (const s of [echoA, echoB, app1, app2]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const portOf = (s: Server) => (s.address() as AddressInfo).port;
    let serve: ServeProcess | undefined;
    try {
      const offset = 20000 + Math.floor(Math.random() * 20000);
      const taken = new Set<number>();
      const first = await gatewayPort(offset, taken);
      const second = await gatewayPort(offset, taken);
      const tcp = await gatewayPort(offset, taken);
      const added = await gatewayPort(offset, taken);
      await writeFile(
        join(dir, 'services.yaml'),
        [serviceAt('first', portOf(app1)), serviceAt('second', portOf(app2)), serviceAt('echo-a', portOf(echoA), { servicePort: 3000 }), serviceAt('echo-b', portOf(echoB), { servicePort: 3000 })].join('---\n'),
      );
      await writeFile(
        join(dir, 'routes.yaml'),
        `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: first, namespace: apps}
spec:
  parentRefs: [{name: edge, sectionName: first}]
  rules: [{backendRefs: [{name: first, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: second, namespace: apps}
spec:
  parentRefs: [{name: edge, port: ${second}}]
  rules: [{backendRefs: [{name: second, port: 80}]}]
---
${tcpRoute('v1alpha2', 'echo', 'tcp', '{name: echo-a, port: 3000, weight: 1}, {name: echo-b, port: 3000, weight: 0}')}`,
      );
      const gatewayFile = join(dir, 'gateway.yaml');
      await writeFile(gatewayFile, gatewayYaml([httpListener('first', first), httpListener('second', second), tcpListener('tcp', tcp)]));
      const httpPort = await freePort();
      const adminPort = await freePort();
      serve = await startServe(
        [
          dir, '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '2', '--lb-port-offset', String(offset), '--state-dir', join(work, 'state'),
          ...(mode === 'co-located' ? ['--co-located'] : []),
          ...(mode === 'exact' ? ['--config', await exactConfig(work)] : []),
        ],
        adminPort,
      );
      await waitFor('the port listeners served', async () => (await get(second + 8000, 'any.example.test').catch(() => undefined))?.body === 'second', 20_000);

      // The first HTTP port is the proxy's own HTTP listener; the second its own, at port + 8000.
      assert.deepEqual(await get(httpPort, 'any.example.test'), { status: 200, body: 'first' });
      assert.deepEqual(await get(second + 8000, 'any.example.test'), { status: 200, body: 'second' });
      assert.equal((await get(first + 8000, 'any.example.test').catch(() => ({ status: 0 }))).status, 0, 'the first port is not bound at port + 8000');
      // The TCP listener: every connection to echo-a (echo-b has weight 0).
      for (let i = 0; i < 6; i++) assert.equal(await tcpTalk(tcp + 8000, `hello ${i}`), `a:hello ${i}`);
      assert.deepEqual([...new Set(seen)], ['a']);

      // Through the Gateway's load balancer: each Service port to its proxy listener.
      await waitFor('the load balancer listens on the TCP port', async () => (await tcpTalk(tcp + offset, 'via lb').catch(() => '')) === 'a:via lb', 20_000);
      assert.deepEqual(await get(first + offset, 'any.example.test'), { status: 200, body: 'first' });
      assert.deepEqual(await get(second + offset, 'any.example.test'), { status: 200, body: 'second' });

      const status = await getJson<{ gateways: { listeners: { name: string; attachedRoutes: number; conditions: { type: string; status: string }[] }[] }[]; tcproutes: { name: string; parents: { conditions: { type: string; status: string; reason: string }[] }[] }[]; services: { name: string; listeners: unknown[] }[] }>(`http://127.0.0.1:${adminPort}/status`);
      assert.deepEqual(
        status.gateways[0]!.listeners.map((l) => [l.name, l.attachedRoutes, l.conditions.find((c) => c.type === 'Programmed')?.status]),
        [
          ['first', 1, 'True'],
          ['second', 1, 'True'],
          ['tcp', 1, 'True'],
        ],
      );
      assert.deepEqual(status.tcproutes.map((r) => [r.name, r.parents[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)]), [['echo', ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']]]);

      // Hold a TCP connection open across the edits: a listener that stays keeps it.
      const held = connect(tcp + 8000, '127.0.0.1');
      await new Promise<void>((r, j) => held.once('connect', () => r()).once('error', j));
      if (mode === 'exact') {
        // A second one goes to the other worker.
        const other = connect(tcp + 8000, '127.0.0.1');
        await new Promise<void>((r, j) => other.once('connect', () => r()).once('error', j));
        await waitFor('one connection on each worker', async () => {
          const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
          return [0, 1].every((i) => new RegExp(`^envoy_listener_worker_${i}_downstream_cx_active\\{envoy_listener_address="0\\.0\\.0\\.0_${tcp + 8000}"\\} 1$`, 'm').test(text));
        }, 10_000);
        other.destroy();
      }

      // Edit the folder: the second HTTP listener goes, a second TCP listener comes.
      await writeFile(gatewayFile, gatewayYaml([httpListener('first', first), tcpListener('tcp', tcp), tcpListener('more', added)]));
      await writeFile(
        join(dir, 'more.yaml'),
        tcpRoute('v1', 'more', 'more', '{name: echo-b, port: 3000}'),
      );
      await waitFor('the added TCP listener forwards', async () => (await tcpTalk(added + 8000, 'new').catch(() => '')) === 'b:new', 20_000);
      await waitFor('the removed HTTP listener stops accepting', async () => !(await get(second + 8000, 'any.example.test').then(() => true, () => false)), 20_000);
      await waitFor('the load balancer serves the added port', async () => (await tcpTalk(added + offset, 'lb new').catch(() => '')) === 'b:lb new', 20_000);
      const reply = await new Promise<string>((resolve, reject) => {
        let got = '';
        held.setEncoding('latin1');
        held.on('data', (d: string) => (got += d));
        held.on('close', () => resolve(got));
        held.on('error', reject);
        held.end('still here');
      });
      assert.equal(reply, 'a:still here', 'the connection opened before the edits was kept');
      t.diagnostic(`ports ${first}, ${second}, ${tcp}, ${added} (+8000 on the proxy, +${offset} on the load balancer)`);
    } finally {
      await serve?.stop();
      for (const s of [echoA, echoB, app1, app2]) await new Promise<void>((r) => s.close(() => r()));
      await rm(work, { recursive: true, force: true });
    }
  });
}

for (const exact of [false, true]) {
  test(`a port listener whose port is taken: its Gateway listener says Programmed False, PortUnavailable; the rest serves; freed and edited, it is opened${exact ? ' (exact balancing: the primary binds it)' : ''}`, async () => {
    const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-ports-taken-'));
    const dir = join(work, 'manifests');
    await mkdir(dir);
    const seen: string[] = [];
    const echo = echoServer('e', seen);
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const taken = new Set<number>();
    const ok = await gatewayPort(0, taken);
    const busy = await gatewayPort(0, taken);
    // Something else holds the busy listener's proxy port (all addresses, as the proxy binds).
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(busy + 8000, '0.0.0.0', () => r()));
    let serve: ServeProcess | undefined;
    try {
      await writeFile(join(dir, 'services.yaml'), serviceAt('echo', (echo.address() as AddressInfo).port, { servicePort: 3000 }));
      await writeFile(join(dir, 'routes.yaml'), [tcpRoute('v1', 'ok', 'ok', '{name: echo, port: 3000}'), tcpRoute('v1', 'busy', 'busy', '{name: echo, port: 3000}')].join('---\n'));
      const gatewayFile = join(dir, 'gateway.yaml');
      await writeFile(gatewayFile, edgeGateway([tcpListener('ok', ok), tcpListener('busy', busy)]));
      const adminPort = await freePort();
      const balance = exact ? ['--workers', '2', '--config', await exactConfig(work)] : ['--workers', '1'];
      serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(await freePort()), '--https-port', String(await freePort()), ...balance, '--state-dir', join(work, 'state')], adminPort);
      type Status = { gateways: { listeners: { name: string; conditions: { type: string; status: string; reason: string; message: string }[] }[] }[] };
      const programmed = async () => {
        const s = await getJson<Status>(`http://127.0.0.1:${adminPort}/status`);
        return Object.fromEntries(s.gateways[0]!.listeners.map((l) => [l.name, l.conditions.find((c) => c.type === 'Programmed')!]));
      };
      const notBound = await waitFor('the busy listener reported', async () => ((await programmed()).busy?.status === 'False' ? await programmed() : undefined), 20_000);
      assert.equal(notBound.busy!.reason, 'PortUnavailable');
      assert.match(notBound.busy!.message, new RegExp(`tcp-${busy}: port ${busy} \\(bound at ${busy + 8000}\\): .*address already in use`));
      assert.equal(notBound.ok!.status, 'True');
      assert.equal(await tcpTalk(ok + 8000, 'fine'), 'e:fine', 'the other listener serves');
      assert.match(serve.output(), new RegExp(`port listener not opened: port ${busy}`));

      await new Promise<void>((r) => squatter.close(() => r()));
      // Any saved change makes the workers try again.
      await writeFile(join(dir, 'touch.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: touched}\n');
      await waitFor('the freed port is opened and programmed', async () => (await programmed()).busy?.status === 'True', 20_000);
      assert.equal(await tcpTalk(busy + 8000, 'now'), 'e:now');
    } finally {
      await serve?.stop();
      if (squatter.listening) await new Promise<void>((r) => squatter.close(() => r()));
      await new Promise<void>((r) => echo.close(() => r()));
      await rm(work, { recursive: true, force: true });
    }
  });
}
