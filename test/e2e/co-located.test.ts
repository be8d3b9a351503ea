// serve --co-located: the load balancer hands its decrypted client stream to
// the proxy in the same worker process. The walkthrough must behave exactly
// as with separate processes: client address from the PROXY header, scheme,
// validated upstream TLS with the client certificate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import https from 'node:https';
import { prepareQuickstart, FQDN } from '../../scripts/quickstart-lib.ts';
import { CLI, waitFor, startSecureBackend, freeOffset, freePort, httpsGet, startServe, type ServeProcess } from './support.ts';

const run = promisify(execFile);

/** Direct children of `pid` (from /proc). */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('--co-located: the walkthrough through one process per worker', { timeout: 60_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-coloc-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  let backendRequests = 0;
  const backend = await startSecureBackend(files, backendPort);
  backend.server.on('request', () => backendRequests++);
  const offset = await freeOffset([80, 443]);
  let serve: ServeProcess | undefined;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    serve = await startServe(
      [files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '2', '--co-located'],
      await freePort(),
    );
    assert.equal(children(serve.child.pid!).length, 2, 'two workers, each running balancer and proxy');

    const port = 443 + offset;
    const { stdout } = await run('curl', ['-sS', '--fail', '--resolve', `${FQDN}:${port}:127.0.0.1`, '--cacert', files.edgeCa, `https://${FQDN}:${port}/hello`]);
    const seen = JSON.parse(stdout) as Record<string, unknown> & { clientCertificate: { subject: string } | null };
    assert.equal(seen.backend, 'secure-backend');
    assert.equal(seen.clientAddress, '127.0.0.1', 'client address from the PROXY header handed over in-process');
    assert.equal(seen.scheme, 'https');
    assert.equal(seen.sni, 'secure-backend.example.test');
    assert.match(seen.clientCertificate?.subject ?? '', /CN=envoy/);

    // Many requests on one kept-alive connection, all answered.
    const ca = await readFile(files.edgeCa, 'utf8');
    const before = backendRequests;
    for (let i = 0; i < 50; i++) {
      const r = await httpsGet({ host: FQDN, port, ca, agent, path: `/n/${i}` });
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as { path: string }).path, `/n/${i}`);
    }
    assert.equal(backendRequests - before, 50);

    // The invalid HTTPProxy serves nothing here either.
    assert.equal((await httpsGet({ host: 'missing-ca.example.test', port, ca })).status, 404);

    // A reload reaches the proxy in every worker (as a config delta).
    const manifest = join(files.manifests, 'httpproxies.yaml');
    const original = await readFile(manifest, 'utf8');
    const edited = original.replace(
      '        - name: secure-backend\n          port: 8443\n',
      '        - name: secure-backend\n          port: 8443\n          requestHeadersPolicy:\n            set:\n              - name: X-Reloaded\n                value: "yes"\n',
    );
    assert.notEqual(edited, original);
    await writeFile(manifest, edited);
    const reloaded = async (): Promise<boolean> => {
      const r = await httpsGet({ host: FQDN, port, ca });
      return (JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-reloaded'] === 'yes';
    };
    await waitFor('the edited route served', async () => ((await reloaded()) ? true : undefined), 10_000);
    await waitFor('every worker up to date', async () => ((await fetch(`http://127.0.0.1:${serve!.adminPort}/readyz`)).status === 200 ? true : undefined));
    for (let i = 0; i < 10; i++) assert.ok(await reloaded(), `request ${i} on a new connection sees the edit`);
  } finally {
    agent.destroy();
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0, 'SIGTERM drains and exits 0');
  }
});

test('--co-located without both proxy and balancer roles is a usage error', async () => {
  const err = await run(process.execPath, [CLI, 'serve', tmpdir(), '--roles', 'dag,proxy', '--co-located']).then(
    () => assert.fail('should exit 2'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.match(err.stderr, /--co-located needs both the proxy and balancer roles/);
});
