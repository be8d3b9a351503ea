// Response compression through the whole chain (balancer TLS -> PROXY v2 ->
// proxy -> TLS backend) with serve's defaults: Contour's default gzip. The
// client asks for gzip and decodes what it gets; without Accept-Encoding
// the body arrives as the backend sent it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import zlib from 'node:zlib';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FQDN, prepareQuickstart } from '../../scripts/quickstart-lib.ts';
import { waitFor, freeOffset, freePort, edgeCall, startSecureBackend, startQuickstartServe, type ServeProcess } from './support.ts';

function gzipCall(port: number, ca: string): Promise<{ status: number; headers: Record<string, unknown>; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/compressed', headers: { host: FQDN, 'accept-encoding': 'gzip' }, servername: FQDN, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('compression through the chain: gzip by default, decoded it is what the backend sent', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-compression-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const backend = await startSecureBackend(files, backendPort);
  const offset = await freeOffset([80, 443]);
  const port = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  let serve: ServeProcess | undefined;
  try {
    serve = await startQuickstartServe(files, offset);
    await waitFor('tls-demo served', async () => (await edgeCall({ port, ca })).status === 200 || undefined, 20_000);
    const r = await gzipCall(port, ca);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['vary'], 'Accept-Encoding');
    const body = JSON.parse(zlib.gunzipSync(r.raw).toString()) as { backend: string; path: string };
    assert.equal(body.backend, 'secure-backend');
    assert.equal(body.path, '/compressed');
    const plain = await edgeCall({ port, ca, path: '/compressed' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal((JSON.parse(plain.body) as { path: string }).path, '/compressed');
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
