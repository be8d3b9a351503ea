// TLS renegotiation is refused on every balancer TLS listener, as on the
// NLB: a TLS 1.2 client that asks for it (node's renegotiate(), openssl
// s_client's "R" command) loses that connection, and ordinary connections
// are served as before.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { BalancerRuntime } from '../../src/balancer/index.ts';
import { createCa } from '../support/pki.ts';
import { sClientRenegotiate } from '../support/openssl-client.ts';
import { configOf, edgeCertificate, keyProvider, listener, readUntil, startTarget, tlsOf } from './support.ts';

const ca = await createCa();
const cert = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);

async function start(t: { after(fn: () => Promise<void>): void }) {
  const target = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([cert]) });
  t.after(async () => {
    await rt.close(0);
    await target.close();
  });
  // The default policy allows TLS 1.2, the last version with
  // renegotiation; the clients below stop there.
  await rt.apply(configOf(listener({ protocol: 'TLS', tls: tlsOf([cert]), targets: [target.target] })));
  return rt.address('default/web:443')!.port;
}

async function tls12(port: number): Promise<TLSSocket> {
  const s = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ca: ca.certPem, maxVersion: 'TLSv1.2' });
  await once(s, 'secureConnect');
  assert.equal(s.getProtocol(), 'TLSv1.2');
  return s;
}

test("node's renegotiate() is refused and costs only that connection", async (t) => {
  const port = await start(t);
  const s = await tls12(port);
  s.write('before\n');
  assert.equal(await readUntil(s, (x) => x.includes('before\n')), 'hello from t\nbefore\n');
  const outcome = await new Promise<string>((resolve) => {
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
    const started = s.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err ? `error ${(err as NodeJS.ErrnoException).code}` : 'renegotiated'));
    if (!started) resolve('not started');
  });
  assert.equal(outcome, 'error ERR_SSL_NO_RENEGOTIATION');
  s.destroy();

  const again = await tls12(port);
  again.write('after\n');
  assert.equal(await readUntil(again, (x) => x.includes('after\n')), 'hello from t\nafter\n');
  again.destroy();
});

test('openssl s_client -tls1_2 with the R command is refused', async (t) => {
  const port = await start(t);
  const dir = await mkdtemp(join(tmpdir(), 'isobar-reneg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  const out = await sClientRenegotiate(port, caFile, 'a.test');
  assert.match(out, /hello from t/, 'the handshake and the first line went through');
  assert.match(out, /ping/);
  assert.match(out, /RENEGOTIATING/);
  assert.match(out, /no renegotiation/);
  assert.doesNotMatch(out, /after-renegotiation/, 'nothing passes once renegotiation was asked for');
});
