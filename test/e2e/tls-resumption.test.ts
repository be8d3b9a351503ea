// TLS session resumption at the load balancer works whichever balancer
// worker a client reaches: the primary makes the ticket keys and sends them
// to every worker, so a TLS 1.2 session ticket or a TLS 1.3 PSK issued by one
// worker is accepted by the other. With a key set per worker only about half
// of the reconnections resumed (the kernel spreads connections over the
// workers by SO_REUSEPORT).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { prepareQuickstart, FQDN } from '../../scripts/quickstart-lib.ts';
import { freeOffset, freePort, startServe, type ServeProcess } from './support.ts';

type Version = 'TLSv1.2' | 'TLSv1.3';

/** One handshake; resolves with whether it resumed and, on a first
 *  connection, the session (ticket) the server issued. */
async function handshake(port: number, ca: string, version: Version, session?: Buffer): Promise<{ resumed: boolean; session?: Buffer }> {
  const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: FQDN, ca, minVersion: version, maxVersion: version, ...(session ? { session } : {}) });
  try {
    // TLS 1.3 tickets come after the handshake; TLS 1.2 ones during it.
    const ticket = once(s, 'session') as Promise<[Buffer]>;
    await once(s, 'secureConnect');
    assert.equal(s.getProtocol(), version);
    const resumed = s.isSessionReused();
    if (session) return { resumed };
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no session ticket within 10 s')), 10_000).unref());
    const [next] = await Promise.race([ticket, timeout]);
    return { resumed, session: next };
  } finally {
    s.destroy();
  }
}

test('TLS 1.2 tickets and TLS 1.3 PSKs resume on either of two balancer workers', { timeout: 120_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-resume-'));
  const files = await prepareQuickstart(work, { backendPort: await freePort() });
  const offset = await freeOffset([80, 443]);
  const lbPort = 443 + offset;
  const ca = await readFile(files.edgeCa, 'utf8');
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '2'],
      await freePort(),
    );
    for (const version of ['TLSv1.2', 'TLSv1.3'] as Version[]) {
      const first = await handshake(lbPort, ca, version);
      assert.equal(first.resumed, false, `${version}: the first connection is a full handshake`);
      assert.ok(first.session);
      let resumed = 0;
      for (let i = 0; i < 20; i++) {
        // The session of the first connection each time: one ticket, many workers.
        if ((await handshake(lbPort, ca, version, first.session)).resumed) resumed++;
      }
      assert.ok(resumed >= 19, `${version}: ${resumed} of 20 reconnections resumed`);
    }
  } finally {
    await serve?.stop();
    await rm(work, { recursive: true, force: true });
  }
});
