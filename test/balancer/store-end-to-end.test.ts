// From a Service manifest and the real certificate store to a TLS handshake:
// the model names the certificate by ARN, the runtime reads its key from the
// store, the client verifies it against the store's CA. The key never shows
// up in logs; a tampered key file leaves the listener off with a clear reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { CertificateStore, toEdgeCertificate } from '../../src/certs/index.ts';
import { BalancerRuntime, buildBalancerModel } from '../../src/balancer/index.ts';
import { defaultConfig } from '../../src/config/types.ts';
import { SBK, endpoints, snapshot, service } from './model-fixtures.ts';
import { readUntil, startTarget } from './support.ts';

const ARN = 'arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e';

test('Service + certificate store -> TLS listener with the store certificate, PROXY v2 to the endpoint', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-balancer-'));
  const store = await CertificateStore.open(dir);
  const rec = await store.request({ domain: '*.example.test', sans: ['example.test'], arn: ARN });
  const target = await startTarget('pod', { proxy: true });
  const logs: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write(chunk, _e, cb) { logs.push(String(chunk)); cb(); } }));
  const rt = new BalancerRuntime({ keys: store, logger });
  t.after(async () => {
    await rt.close(0);
    await target.close();
    await rm(dir, { recursive: true, force: true });
  });

  const svc = service({
    annotations: {
      [`${SBK}aws-load-balancer-type`]: 'external',
      [`${SBK}aws-load-balancer-nlb-target-type`]: 'ip',
      [`${SBK}aws-load-balancer-ssl-cert`]: ARN,
      [`${SBK}aws-load-balancer-ssl-ports`]: 'https',
      [`${SBK}aws-load-balancer-proxy-protocol`]: '*',
    },
    ports: [{ name: 'https', port: 443, targetPort: 'https' }],
  });
  const snap = snapshot({ services: [svc], endpoints: [endpoints('default', 'web', ['127.0.0.1'], [{ name: 'https', port: target.port }])] });
  const certificates = (await store.list()).map(toEdgeCertificate);
  const r = buildBalancerModel(snap, { config: defaultConfig(), certificates, lbAddress: '127.0.0.1', portOffset: 0, ephemeralPorts: true });
  assert.deepEqual(r.statuses[0].problems, []);
  await rt.apply(r.balancerConfig);
  const addr = rt.address('default/web:443');
  assert.ok(addr);

  const c = tlsConnect({ host: '127.0.0.1', port: addr.port, servername: 'shop.example.test', ca: await store.caCertificatePem() });
  await once(c, 'secureConnect');
  assert.equal(c.authorized, true);
  assert.equal(c.getPeerX509Certificate()?.fingerprint256, new X509Certificate(rec.certPem).fingerprint256);
  c.write('hi\n');
  await readUntil(c, (x) => x.includes('hi\n'));
  assert.equal(target.received.at(-1)?.header?.source?.port, c.localPort);
  c.destroy();

  const key = await store.readPrivateKey(ARN);
  const body = key.split('\n')[1];
  assert.ok(logs.length > 0, 'the runtime logged something');
  assert.ok(!logs.join('').includes(body), 'the key is never logged');
});

test('a tampered key file: the TLS listener is not started and says why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-balancer-'));
  const store = await CertificateStore.open(dir);
  await store.request({ domain: 'a.example.test', arn: ARN });
  const certificates = (await store.list()).map(toEdgeCertificate);
  const files = await readdir(join(dir, 'certs'));
  const file = join(dir, 'certs', files.find((f) => f.endsWith('.json'))!);
  const doc = JSON.parse(await readFile(file, 'utf8'));
  // Flip one character of the sealed key.
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  for (const k of Object.keys(doc.key)) if (typeof doc.key[k] === 'string' && doc.key[k].length > 8) doc.key[k] = flip(doc.key[k]);
  await writeFile(file, JSON.stringify(doc));
  const rt = new BalancerRuntime({ keys: store });
  t.after(async () => {
    await rt.close(0);
    await rm(dir, { recursive: true, force: true });
  });
  const svc = service({ annotations: { [`${SBK}aws-load-balancer-type`]: 'nlb-ip', [`${SBK}aws-load-balancer-ssl-cert`]: ARN }, ports: [{ port: 443 }] });
  const r = buildBalancerModel(snapshot({ services: [svc] }), { config: defaultConfig(), certificates, portOffset: 0, ephemeralPorts: true });
  await rt.apply(r.balancerConfig);
  const h = rt.health().listeners['default/web:443'];
  assert.equal(h.bound, false);
  assert.match(h.problems[0], new RegExp(`^listener default/web:443: cannot read the private key of ${ARN.replace(/[/.]/g, '\\$&')}: .+; it is not started$`));
});
