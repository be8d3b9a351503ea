// `isobar serve --config` with Contour's timeouts.connection-shutdown-grace-period,
// delayed-close-timeout and request-timeout: the config file loads them
// without a warning, a connection drained at max-connection-duration gets
// the HTTP/2 shutdown notice, serves a stream opened after it and then the
// final GOAWAY; an HTTP/2 request whose body stalls is answered 408; an
// HTTP/1 connection the proxy closes stays half-open for the delay.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appProxy, appService, freePort, startServe, type ServeProcess } from './support.ts';
import { RawHttp1 } from '../support/raw-http1.ts';
import { ERR, FRAME, H2Wire, headers, request } from '../proxy/h2-wire.ts';

const HOST = 'drain.example.test';

const MANIFESTS = (port: number): string => `${appService(port)}---\n${appProxy(HOST)}`;

const CONFIG = `timeouts:
  max-connection-duration: 600ms
  connection-shutdown-grace-period: 1500ms
  delayed-close-timeout: 1s
  request-timeout: 1s
`;

test('serve --config: the HTTP/2 shutdown notice and grace period, the HTTP/2 request timeout, the delayed close', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-drain-'));
  // Answers once the whole request body has arrived.
  const backend = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  let serve: ServeProcess | undefined;
  const wires: H2Wire[] = [];
  let client: http2.ClientHttp2Session | undefined;
  try {
    const dir = join(work, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'app.yaml'), MANIFESTS((backend.address() as AddressInfo).port));
    await writeFile(join(work, 'isobar.yaml'), CONFIG);
    const httpPort = await freePort();
    serve = await startServe(
      [dir, '--config', join(work, 'isobar.yaml'), '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')],
      await freePort(),
    );
    assert.doesNotMatch(serve.output(), /delayed-close-timeout|connection-shutdown-grace-period|request-timeout/, 'loaded without a warning');

    // The notice at the connection's age, a stream after it is served, the
    // final GOAWAY at the end of the grace period.
    const w = await H2Wire.connect({ port: httpPort });
    wires.push(w);
    const t0 = performance.now();
    await w.waitFor((f) => f.type === FRAME.GOAWAY, 10_000);
    assert.deepEqual(w.goaway(), { code: ERR.NO_ERROR, lastStream: 0x7fffffff });
    await w.send(headers(1, request(HOST, '/after-notice')));
    assert.equal((await w.outcome(1, 10_000))?.status, 200);
    await w.waitFor((f) => f.type === FRAME.GOAWAY && (f.payload.readUInt32BE(0) & 0x7fffffff) === 1, 10_000);
    assert.deepEqual(w.goaway(), { code: ERR.NO_ERROR, lastStream: 1 });
    const finalAt = performance.now() - t0;
    assert.ok(finalAt >= 600 + 1500 - 200, `final GOAWAY ${Math.round(finalAt)} ms after connecting`);

    // HTTP/2: headers and part of the body, then nothing: 408.
    const h2 = http2.connect(`http://127.0.0.1:${httpPort}`);
    client = h2;
    h2.on('error', () => {});
    const status = await new Promise<number>((resolve, reject) => {
      const r = h2.request({ ':method': 'POST', ':path': '/upload', ':authority': HOST, 'content-length': '100' });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', reject);
      r.write('part');
    });
    assert.equal(status, 408);

    // HTTP/1: after the proxy's FIN the socket stays open for the delay.
    const c = await RawHttp1.open(httpPort, undefined, true);
    c.host = HOST;
    c.send('/', { connection: 'close' });
    assert.equal((await c.response())?.status, 200);
    await new Promise<void>((resolve) => (c.sock.readableEnded ? resolve() : c.sock.once('end', () => resolve())));
    c.sock.write('x');
    await new Promise((r) => setTimeout(r, 300));
    c.sock.write('y');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.closed, false, 'bytes in the delay are dropped, not reset');
    c.close();
  } finally {
    for (const x of wires) x.destroy();
    client?.destroy();
    const code = await serve?.stop();
    assert.equal(code ?? 0, 0, 'serve drains and exits 0');
    backend.closeAllConnections();
    backend.close();
    await rm(work, { recursive: true, force: true });
  }
});
