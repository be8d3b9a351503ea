// Source ranges through the whole chain (balancer TLS -> PROXY v2 -> proxy
// -> TLS backend), with clients bound to different loopback addresses: an
// allowed client is served and the backend sees its address; a refused one
// is closed with zero bytes and nothing reaches the backend. /status and
// `isobar status` show the ranges and the refusals; a malformed range keeps
// the last good listeners (and ranges) serving; the annotation works when
// the field is not set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import https from 'node:https';
import { prepareQuickstart, FQDN } from '../../scripts/quickstart-lib.ts';
import type { ServiceStatus, StatusReport } from '../../src/status/types.ts';
import { CLI, waitFor, freeOffset, freePort, getJson, startSecureBackend, startQuickstartServe, type ServeProcess } from './support.ts';

const run = promisify(execFile);

/** GET https://FQDN:port/ from `localAddress`; the answer or the error. */
function getFrom(localAddress: string, port: number, ca: string): Promise<{ status: number; clientAddress?: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = https.request(
      { host: '127.0.0.1', port, localAddress, servername: FQDN, headers: { host: `${FQDN}:${port}` }, ca, agent: false, path: '/who' },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, clientAddress: (JSON.parse(body) as { clientAddress?: string }).clientAddress }));
      },
    );
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

/** Opens a TCP connection from `localAddress`, sends a few bytes and
 *  counts what comes back before the balancer closes it. */
function bytesBack(localAddress: string, port: number): Promise<{ bytes: number; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    let bytes = 0;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ bytes, closed: false });
    }, 3000);
    s.on('error', () => {});
    s.on('connect', () => s.write('GET / HTTP/1.1\r\n\r\n'));
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes, closed: true });
    });
  });
}

const envoyOf = (r: StatusReport): ServiceStatus => r.services.find((s) => s.namespace === 'projectcontour' && s.name === 'envoy')!;

test('source ranges: allowed clients served, others closed with zero bytes; status, bad edits, the annotation', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-ranges-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  const servicePath = join(files.manifests, 'envoy-service.yaml');
  const original = await readFile(servicePath, 'utf8');
  const withSpec = (ranges: string[]) => original.replace('spec:\n  type: LoadBalancer\n', `spec:\n  type: LoadBalancer\n  loadBalancerSourceRanges: ${JSON.stringify(ranges)}\n`);
  await writeFile(servicePath, withSpec(['127.0.0.2/32', '::1/128']));
  const backend = await startSecureBackend(files, backendPort);
  let backendRequests = 0;
  backend.server.on('request', () => backendRequests++);
  const offset = await freeOffset([80, 443]);
  const port = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  let serve: ServeProcess | undefined;
  try {
    serve = await startQuickstartServe(files, offset);
    const statusUrl = `http://127.0.0.1:${serve.adminPort}/status`;

    // Allowed: TLS, the proxy, the backend, with the client's own address.
    assert.deepEqual(await getFrom('127.0.0.2', port, ca), { status: 200, clientAddress: '127.0.0.2' });
    const served = backendRequests;

    // Refused: closed before a byte, no handshake, nothing reaches the backend.
    assert.deepEqual(await bytesBack('127.0.0.3', port), { bytes: 0, closed: true });
    assert.deepEqual(await bytesBack('127.0.0.3', 80 + offset), { bytes: 0, closed: true }, 'every listener of the load balancer');
    const refused = await getFrom('127.0.0.3', port, ca);
    assert.ok('error' in refused, JSON.stringify(refused));
    assert.equal(backendRequests, served);

    // /status: the ranges on each listener, and what was refused.
    const live = envoyOf(await getJson<StatusReport>(statusUrl));
    assert.deepEqual(live.listeners.map((l) => [l.port, l.sourceRanges]), [
      [80, ['127.0.0.2/32', '::1/128']],
      [443, ['127.0.0.2/32', '::1/128']],
    ]);
    assert.deepEqual(live.listeners.map((l) => l.refusedConnections), [1, 2]);

    // isobar status, json and table.
    const args = [CLI, 'status', files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset)];
    const json = JSON.parse((await run(process.execPath, [...args, '-o', 'json']).catch((e: { stdout: string }) => e)).stdout) as StatusReport;
    assert.deepEqual(envoyOf(json).listeners.map((l) => l.sourceRanges), [['127.0.0.2/32', '::1/128'], ['127.0.0.2/32', '::1/128']]);
    const table = (await run(process.execPath, args).catch((e: { stdout: string }) => e)).stdout;
    assert.match(table, /SOURCE RANGES/);
    assert.match(table, new RegExp(`projectcontour\\s+envoy\\s+443\\s+127\\.0\\.0\\.1:${port}\\s+TLS->TCP\\+PROXYv2\\s+\\S+\\s+127\\.0\\.0\\.2/32,::1/128\\s`));

    // A malformed range: an error naming the field and the item; the last
    // good listeners, with their ranges, keep serving.
    await writeFile(servicePath, withSpec(['127.0.0.2/32', '127.0.0.3/33']));
    const held = await waitFor(
      'the bad range reported',
      async () => envoyOf(await getJson<StatusReport>(statusUrl)).problems.find((p) => p.severity === 'error'),
      10_000,
    );
    assert.equal(
      held.message,
      'Service projectcontour/envoy: spec.loadBalancerSourceRanges[1]: "127.0.0.3/33" is not an IP range in CIDR notation: the prefix length must be 0-32 (e.g. 203.0.113.0/24 or 2001:db8::/32)',
    );
    assert.deepEqual(await getFrom('127.0.0.2', port, ca), { status: 200, clientAddress: '127.0.0.2' });
    assert.deepEqual(await bytesBack('127.0.0.3', port), { bytes: 0, closed: true });

    // The annotation, when the field is not set: now only 127.0.0.3.
    await writeFile(
      servicePath,
      original.replace('  annotations:\n', '  annotations:\n    service.beta.kubernetes.io/load-balancer-source-ranges: "127.0.0.3/32"\n'),
    );
    await waitFor(
      'the annotation applied',
      async () => ((await getFrom('127.0.0.3', port, ca)) as { status?: number }).status === 200 || undefined,
      10_000,
    );
    assert.deepEqual(await getFrom('127.0.0.3', port, ca), { status: 200, clientAddress: '127.0.0.3' });
    assert.deepEqual(await bytesBack('127.0.0.2', port), { bytes: 0, closed: true });
    assert.deepEqual(envoyOf(await getJson<StatusReport>(statusUrl)).problems.filter((p) => p.severity === 'error'), []);
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
