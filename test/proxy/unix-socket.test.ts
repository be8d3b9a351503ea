// A listener's Unix domain socket (the load balancer's hop in serve's
// default mode): served exactly as its TCP port, PROXY header first; the
// peer reads as 127.0.0.1, as over the loopback hop; a stale socket file is
// replaced, the file goes when the listener closes, and a path that cannot
// be bound fails the listen with the listener's name.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { ProxyRuntime } from '../../src/proxy/index.ts';
import { cluster, config, ep, httpBackend, raw, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

let app: Backend;
let p: Started;
let dir: string;
let sock: string;

const REQ = 'GET /u HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n';
const SRC = { address: '198.51.100.7', port: 40000 };
const DST = { address: '10.0.0.1', port: 80 };
const cfg = () => config({ clusters: [cluster('app', [ep(app)])], httpVirtualHosts: [vhost('app.example.test', [route({ to: 'app' })])] });

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'isobar-uds-'));
  sock = path.join(dir, 'lb-http.sock');
  // Left by a worker that died: the listener takes the path over.
  writeFileSync(sock, '');
  app = await httpBackend('app');
  p = await startProxy(cfg(), [{ name: 'lb-http', proxyProtocol: true, unixPath: sock }]);
});

after(async () => {
  await p.close();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

function rawUnix(file: string, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: file });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => s.destroy(new Error('no answer in 10 s')), 10_000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.on('error', reject);
    s.on('connect', () => s.write(data));
  });
}

/** The headers the backend saw for the request that answered `text`. */
function seen(text: string): http.IncomingHttpHeaders {
  assert.match(text, /^HTTP\/1\.1 200/);
  return app.seen.at(-1)!.headers;
}

test('a request over the Unix socket is served with the PROXY header\'s client address', async () => {
  const text = await rawUnix(sock, Buffer.concat([encodeV2({ command: 'PROXY', source: SRC, destination: DST }), Buffer.from(REQ)]));
  const h = seen(text);
  assert.equal(h['x-forwarded-for'], SRC.address);
  assert.equal(h['x-envoy-external-address'], SRC.address);
  const log = p.logs.at(-1)!;
  assert.equal(log.listener, 'lb-http');
  assert.equal(log.downstreamRemoteAddress, '198.51.100.7:40000');
});

test('a PROXY LOCAL header over the Unix socket leaves the loopback peer as the client', async () => {
  const h = seen(await rawUnix(sock, Buffer.concat([encodeV2({ command: 'LOCAL' }), Buffer.from(REQ)])));
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
});

test('the Unix socket still wants the PROXY header; the TCP port serves as before', async () => {
  const text = await rawUnix(sock, Buffer.from(REQ));
  assert.doesNotMatch(text, /^HTTP\/1\.1 200/);
  const r = await raw(p.port('lb-http'), [encodeV2({ command: 'PROXY', source: SRC, destination: DST }), REQ]);
  assert.equal(seen(r.text)['x-forwarded-for'], SRC.address);
});

test('closing the listener removes its socket file; a path that cannot be bound fails listen() naming the listener', async () => {
  const file = path.join(dir, 'other.sock');
  const q = new ProxyRuntime({ listeners: [{ name: 'lb-x', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: true, unixPath: file }] });
  q.apply(cfg());
  await q.listen();
  assert.ok(existsSync(file));
  await q.close(0);
  assert.equal(existsSync(file), false);
  const bad = new ProxyRuntime({ listeners: [{ name: 'lb-y', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: true, unixPath: path.join(dir, 'no-such-dir', 'y.sock') }] });
  await assert.rejects(bad.listen(), /^Error: listener lb-y: cannot listen on .*no-such-dir\/y\.sock: /);
  await bad.close(0);
});
