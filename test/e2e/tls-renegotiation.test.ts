// TLS renegotiation is refused on every TLS listener `isobar serve` opens:
// the load balancer's (as the NLB) and the proxy's HTTPS listener (as
// Envoy). A TLS 1.2 client that asks for it, with node's renegotiate() or
// openssl s_client's R command, loses that connection; ordinary requests
// on both listeners keep working.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { stringify } from 'yaml';
import { prepareQuickstart, FQDN } from '../../scripts/quickstart-lib.ts';
import { createCa } from '../../src/demo/pki.ts';
import { sClientRenegotiate } from '../support/openssl-client.ts';
import { freeOffset, freePort, httpsGet, startSecureBackend, startServe, type ServeProcess } from './support.ts';

const DIRECT = 'direct.example.test';

/** A TLS 1.2 connection, one request, then renegotiate(): how it ended. */
async function nodeRenegotiate(port: number, servername: string, ca: string): Promise<{ before: string; outcome: string }> {
  const s = tlsConnect({ host: '127.0.0.1', port, servername, ca, maxVersion: 'TLSv1.2' });
  await once(s, 'secureConnect');
  assert.equal(s.getProtocol(), 'TLSv1.2');
  s.write(`GET /before HTTP/1.1\r\nHost: ${servername}\r\n\r\n`);
  const before = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString('latin1').split('\r\n')[0]!)));
  const outcome = await new Promise<string>((resolve) => {
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
    if (!s.renegotiate({}, (err) => resolve(err ? `error ${(err as NodeJS.ErrnoException).code}` : 'renegotiated'))) resolve('not started');
  });
  s.destroy();
  return { before, outcome };
}

test('renegotiation is refused on the load balancer and on the proxy HTTPS listener', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-reneg-'));
  const backendPort = await freePort();
  const files = await prepareQuickstart(work, { backendPort });
  // A virtual host the proxy terminates itself, for its HTTPS listener.
  const proxyCa = await createCa('proxy CA');
  const direct = await proxyCa.issue({ dnsNames: [DIRECT] });
  const proxyCaFile = join(work, 'proxy-ca.pem');
  await writeFile(proxyCaFile, proxyCa.certPem);
  await writeFile(
    join(files.manifests, 'direct.yaml'),
    [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'direct-tls', namespace: 'demo' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': direct.certPem, 'tls.key': direct.keyPem } },
      {
        apiVersion: 'projectcontour.io/v1',
        kind: 'HTTPProxy',
        metadata: { name: 'direct', namespace: 'demo' },
        spec: {
          virtualhost: { fqdn: DIRECT, tls: { secretName: 'direct-tls' } },
          routes: [{ conditions: [{ prefix: '/' }], services: [{ name: 'secure-backend', port: 8443, validation: { caSecret: 'backend-ca', subjectName: 'secure-backend.example.test' } }] }],
        },
      },
    ]
      .map((o) => stringify(o))
      .join('---\n'),
    { mode: 0o600 },
  );
  const backend = await startSecureBackend(files, backendPort);
  const offset = await freeOffset([80, 443]);
  const lbPort = 443 + offset;
  const httpsPort = await freePort();
  const edgeCa = await readFile(files.edgeCa, 'utf8');
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(
      [files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(httpsPort), '--workers', '1'],
      await freePort(),
    );
    const listeners = [
      { what: 'the load balancer', port: lbPort, servername: FQDN, ca: edgeCa, caFile: files.edgeCa },
      { what: 'the proxy HTTPS listener', port: httpsPort, servername: DIRECT, ca: proxyCa.certPem, caFile: proxyCaFile },
    ];
    for (const l of listeners) {
      const ordinary = await httpsGet({ host: l.servername, port: l.port, ca: l.ca, path: '/ordinary' });
      assert.equal(ordinary.status, 200, `${l.what}: an ordinary request`);

      assert.deepEqual(await nodeRenegotiate(l.port, l.servername, l.ca), { before: 'HTTP/1.1 200 OK', outcome: 'error ERR_SSL_NO_RENEGOTIATION' }, `${l.what}: renegotiate()`);

      const out = await sClientRenegotiate(l.port, l.caFile, l.servername, {
        send: `GET /before HTTP/1.1\nHost: ${l.servername}\n\n`,
        answered: /HTTP\/1\.1 200/,
      }, `GET /after-renegotiation HTTP/1.1\nHost: ${l.servername}\n\n`);
      assert.match(out, /RENEGOTIATING/, `${l.what}: s_client asked`);
      assert.match(out, /no renegotiation/, `${l.what}: s_client was refused`);
      assert.doesNotMatch(out, /after-renegotiation/, `${l.what}: nothing passes once renegotiation was asked for`);

      const again = await httpsGet({ host: l.servername, port: l.port, ca: l.ca, path: '/again' });
      assert.equal(again.status, 200, `${l.what}: still serving`);
    }
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
