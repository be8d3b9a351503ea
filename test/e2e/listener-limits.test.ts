// `isobar serve --config` with Contour's listener, timeout, trusted-hop and
// access log keys: the listener connection limit closes the connection
// over it (and /metrics counts it), the second request of a connection
// closes it, X-Forwarded-For's trusted hop is the client a Remote IP rule
// judges, the stream idle timeout answers 408, and the access log is
// Contour's JSON with the fields asked for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appProxy, appService, freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { RawHttp1 } from '../support/raw-http1.ts';

const HOST = 'limits.example.test';

function manifests(port: number): string {
  const routes = `    - conditions: [{prefix: /partners}]
      ipAllowPolicy: [{cidr: 203.0.113.0/24, source: Remote}]
      services: [{name: app, port: 80}]
    - services: [{name: app, port: 80}]
`;
  return `${appService(port)}---\n${appProxy(HOST, routes)}`;
}

const CONFIG = `listener:
  max-connections-per-listener: 2
  max-requests-per-connection: 2
network:
  num-trusted-hops: 1
timeouts:
  stream-idle-timeout: 1s
accesslog-format: json
json-fields:
  - "@timestamp"
  - method
  - path
  - response_code
  - response_flags
  - downstream_remote_address
  - x_forwarded_for
  - "route=%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.name)%"
`;

test('serve --config: listener limits, trusted hops, stream idle timeout and the JSON access log', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-listener-'));
  const seen: http.IncomingHttpHeaders[] = [];
  const backend = http.createServer((req, res) => {
    seen.push(req.headers);
    // Never answers /silent: the stream idle timeout ends it.
    if (req.url === '/silent') return;
    res.end('ok');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  let serve: ServeProcess | undefined;
  try {
    const dir = join(work, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'app.yaml'), manifests((backend.address() as AddressInfo).port));
    await writeFile(join(work, 'isobar.yaml'), CONFIG);
    const httpPort = await freePort();
    const adminPort = await freePort();
    serve = await startServe(
      [dir, '--config', join(work, 'isobar.yaml'), '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')],
      adminPort,
    );
    const running = serve;
    const open = async (from?: string): Promise<RawHttp1> => {
      const c = await RawHttp1.open(httpPort, from);
      c.host = HOST;
      return c;
    };

    // Two connections are held; the third is closed at accept.
    const a = await open();
    const b = await open();
    for (const c of [a, b]) {
      c.send('/');
      assert.equal((await c.response())?.status, 200);
    }
    const third = await open();
    third.send('/');
    assert.equal(await third.response(), undefined);
    await waitFor('the third connection closed', () => third.closed);
    const scrape = async (series: string): Promise<string | undefined> =>
      (await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()).split('\n').find((l) => l.startsWith(`${series}{envoy_listener_address="0.0.0.0_${httpPort}"}`));
    await waitFor('the overflow counted', async () => (await scrape('envoy_listener_downstream_cx_overflow'))?.endsWith(' 1'));

    // The second request of a connection is its last.
    a.send('/second');
    const last = await a.response();
    assert.equal(last?.status, 200);
    assert.equal(last?.headers['connection'], 'close');
    await waitFor('closed after two requests', () => a.closed);
    b.close();
    await waitFor('places free again', async () => (await scrape('envoy_listener_downstream_cx_active'))?.endsWith(' 0'));

    // One trusted hop: the last X-Forwarded-For entry is the client.
    const ask = async (from: string, path: string, xff: string): Promise<number | undefined> => {
      const c = await open(from);
      c.send(path, { 'x-forwarded-for': xff, connection: 'close' });
      const r = await c.response();
      c.close();
      return r?.status;
    };
    assert.equal(await ask('127.0.0.2', '/partners/x', '198.51.100.1, 203.0.113.9'), 200);
    assert.equal(seen.at(-1)!['x-envoy-external-address'], '203.0.113.9');
    assert.equal(seen.at(-1)!['x-forwarded-for'], '198.51.100.1, 203.0.113.9, 127.0.0.2');
    assert.equal(await ask('127.0.0.3', '/partners/x', '203.0.113.9, 198.51.100.1'), 403);

    // timeouts.stream-idle-timeout: nothing either way for 1 s is 408.
    const started = performance.now();
    const silent = await open();
    silent.send('/silent', { connection: 'close' });
    const idle = await silent.response(15_000);
    assert.equal(idle?.status, 408);
    assert.ok(performance.now() - started >= 900, 'not before the timeout');
    silent.close();

    // Contour's JSON access log with the fields asked for.
    const lines = await waitFor('the access log lines', () => {
      const found = running
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{"@timestamp"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return found.some((l) => l.path === '/silent') ? found : undefined;
    });
    const partner = lines.find((l) => l.path === '/partners/x' && l.response_code === 200)!;
    assert.deepEqual(Object.keys(partner), ['@timestamp', 'downstream_remote_address', 'method', 'path', 'response_code', 'response_flags', 'route', 'x_forwarded_for']);
    assert.equal(partner.downstream_remote_address, '203.0.113.9:0');
    assert.equal(partner.x_forwarded_for, '198.51.100.1, 203.0.113.9, 127.0.0.2');
    assert.equal(partner.route, 'app');
    const timedOut = lines.find((l) => l.path === '/silent')!;
    assert.equal(timedOut.response_code, 408);
    assert.equal(timedOut.response_flags, 'SI');
  } finally {
    await serve?.stop();
    backend.closeAllConnections();
    backend.close();
    await rm(work, { recursive: true, force: true });
  }
});
