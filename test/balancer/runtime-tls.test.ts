import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import * as pp from 'proxy-protocol-js';
import { BalancerRuntime } from '../../src/balancer/index.ts';
import { createCa } from '../support/pki.ts';
import { configOf, edgeCertificate, keyProvider, listener, readUntil, startTarget, tlsOf } from './support.ts';

const ca = await createCa();
const certA = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);
const certWild = edgeCertificate(await ca.issue({ dnsNames: ['*.wild.test'] }), ['*.wild.test']);
const certB = edgeCertificate(await ca.issue({ dnsNames: ['b.test'] }), ['b.test']);

async function tlsClient(port: number, servername: string | undefined, extra: Record<string, unknown> = {}): Promise<TLSSocket> {
  const s = tlsConnect({ host: '127.0.0.1', port, servername, ca: ca.certPem, rejectUnauthorized: false, ...extra });
  await once(s, 'secureConnect');
  return s;
}

function subjectAltNames(s: TLSSocket): string {
  const pem = s.getPeerX509Certificate();
  assert.ok(pem instanceof X509Certificate);
  return pem.subjectAltName ?? '';
}

test('TLS termination: certificate by SNI, wildcard, default fallback; PROXY v2 carries the client address', async (t) => {
  const target = await startTarget('t1', { proxy: true });
  const rt = new BalancerRuntime({ keys: keyProvider([certA, certWild, certB]) });
  t.after(async () => {
    await rt.close(0);
    await target.close();
  });
  await rt.apply(
    configOf(listener({ protocol: 'TLS', tls: tlsOf([certA, certWild, certB]), targets: [target.target], proxyProtocol: true })),
  );
  const addr = rt.address('default/web:443');
  assert.ok(addr && addr.port > 0, 'listener bound on an ephemeral port');
  assert.equal(rt.health().listeners['default/web:443'].bound, true);

  const cases: [string | undefined, string][] = [
    ['b.test', 'DNS:b.test'],
    ['x.wild.test', 'DNS:*.wild.test'],
    ['deep.x.wild.test', 'DNS:a.test'], // wildcards cover one label
    ['unknown.test', 'DNS:a.test'],
    [undefined, 'DNS:a.test'],
  ];
  for (const [sni, want] of cases) {
    const c = await tlsClient(addr.port, sni);
    assert.equal(subjectAltNames(c), want, `SNI ${sni}`);
    assert.equal(c.getProtocol(), 'TLSv1.3');
    c.write('ping\n');
    const text = await readUntil(c, (x) => x.includes('ping\n'));
    assert.equal(text, 'hello from t1\nping\n');
    const rec = target.received.at(-1);
    assert.ok(rec?.headerBytes, 'target got a PROXY header');
    // Independent decoder.
    const decoded = pp.V2ProxyProtocol.parse(new Uint8Array(rec.headerBytes));
    assert.equal(decoded.command, pp.Command.PROXY);
    const a = decoded.proxyAddress as pp.IPv4ProxyAddress;
    assert.deepEqual(a.sourceAddress.address, [127, 0, 0, 1]);
    assert.equal(a.sourcePort, c.localPort);
    assert.deepEqual(a.destinationAddress.address, [127, 0, 0, 1]);
    assert.equal(a.destinationPort, addr.port);
    c.destroy();
  }
});

test('several certificates for one name: the one whose key type the client can verify', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'isobar-rsa-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=dual.test', '-addext', 'subjectAltName=DNS:dual.test', '-days', '2'], { stdio: 'ignore' });
  const rsa = edgeCertificate({ certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8'), issuerPem: '' }, ['dual.test']);
  rmSync(dir, { recursive: true, force: true });
  const ec = edgeCertificate(await ca.issue({ dnsNames: ['dual.test'] }), ['dual.test']);
  const target = await startTarget('t');
  const rt = new BalancerRuntime({ keys: keyProvider([certA, rsa, ec]) });
  t.after(async () => {
    await rt.close(0);
    await target.close();
  });
  await rt.apply(configOf(listener({ protocol: 'TLS', tls: tlsOf([certA, rsa, ec]), targets: [target.target] })));
  const port = rt.address('default/web:443')!.port;
  const keyType = async (sigalgs: string) => {
    const c = await tlsClient(port, 'dual.test', { sigalgs });
    const k = c.getPeerX509Certificate()?.publicKey.asymmetricKeyType;
    c.destroy();
    return k;
  };
  assert.equal(await keyType('ecdsa_secp256r1_sha256'), 'ec');
  assert.equal(await keyType('rsa_pss_rsae_sha256:rsa_pkcs1_sha256'), 'rsa');
  assert.equal(await keyType('rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256'), 'rsa', 'both supported: list order');
});
