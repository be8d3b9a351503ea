// `isobar serve` holds HTTP/1.1 and HTTP/2 requests to one header limit
// (60 KiB, as Envoy): node:http2 applies the process-wide
// --max-http-header-size, which the workers are started with.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appService, freePort, startServe, type ServeProcess } from './support.ts';

const HOST = 'limits.example.test';

function manifests(port: number): string {
  return `${appService(port)}---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: app, namespace: default}
spec:
  virtualhost: {fqdn: ${HOST}}
  routes: [{services: [{name: app, port: 80}]}]
`;
}

/** `n` KiB of header fields in 1 KiB values. */
function fields(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-f${i}`, 'v'.repeat(1000)]));
}

function h1(port: number, extra: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host: HOST, ...extra }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The response status, or the RST_STREAM code as `reset N`. */
function h2(port: number, extra: Record<string, string>): Promise<number | string> {
  // The client's own limit follows what the server announces; a bigger one here lets the proxy decide.
  const client = http2.connect(`http://127.0.0.1:${port}`, { maxSendHeaderBlockLength: 1 << 20, settings: { maxHeaderListSize: 1 << 20 } });
  client.on('error', () => {});
  return new Promise<number | string>((resolve, reject) => {
    client.once('remoteSettings', () => {
      const req = client.request({ ':path': '/', ':authority': HOST, ...extra });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('close', () => (req.rstCode ? resolve(`reset ${req.rstCode}`) : undefined));
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ERR_HTTP2_STREAM_ERROR' ? undefined : reject(err)));
      req.resume();
      req.end();
    });
  }).finally(() => client.destroy());
}

test('serve: HTTP/1.1 and HTTP/2 accept 40 KiB of request headers and refuse 70 KiB', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-limits-'));
  const backend = http.createServer({ maxHeaderSize: 256 * 1024 }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  let serve: ServeProcess | undefined;
  try {
    const dir = join(work, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'app.yaml'), manifests((backend.address() as AddressInfo).port));
    const httpPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state'), '--no-access-log'], await freePort());
    assert.equal(await h1(httpPort, fields(40)), 200, 'HTTP/1.1, 40 KiB');
    assert.equal(await h2(httpPort, fields(40)), 200, 'HTTP/2, 40 KiB');
    assert.equal(await h1(httpPort, fields(70)), 431, 'HTTP/1.1, 70 KiB');
    // node:http2 answers 431 or resets the stream, by where in the block the limit is crossed.
    const over = await h2(httpPort, fields(70));
    assert.ok(over === 431 || over === `reset ${http2.constants.NGHTTP2_ENHANCE_YOUR_CALM}`, `HTTP/2, 70 KiB: ${over}`);
  } finally {
    await serve?.stop();
    backend.closeAllConnections();
    backend.close();
    await rm(work, { recursive: true, force: true });
  }
});
