// --proxy-address: the proxy's public listeners bind only where it says (an
// edge behind a load balancer with source ranges is not reachable around it
// on another interface). Bound to 127.0.0.2, the HTTP listener answers there
// and 127.0.0.1 refuses the connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, startServe } from './support.ts';

function status(host: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    s.write('GET / HTTP/1.1\r\nhost: nothing.example.com\r\nconnection: close\r\n\r\n');
  });
}

test('serve --proxy-address 127.0.0.2: the HTTP listener answers on 127.0.0.2 only', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isobar-proxy-address-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n');
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const serve = await startServe(
    [dir, '--state-dir', path.join(dir, 'state'), '--roles', 'dag,proxy', '--workers', '1', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--proxy-address', '127.0.0.2'],
    adminPort,
  );
  t.after(() => serve.stop());
  assert.equal(await status('127.0.0.2', httpPort), 404, 'no virtual host: 404 from the proxy');
  assert.equal(await status('127.0.0.1', httpPort), 'ECONNREFUSED');
});

test('serve --proxy-address that is not an IP address is a usage error', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isobar-proxy-address-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(startServe([dir, '--state-dir', path.join(dir, 'state'), '--proxy-address', 'localhost'], await freePort(), undefined, 5000), /"localhost" is not an IP address/);
});
