// ACME challenges answered by the load balancer itself, on real sockets:
// HTTP-01 on port-80 listeners before the flow reaches its target (any
// other bytes reach the target unchanged), TLS-ALPN-01 by ALPN acme-tls/1
// on TLS listeners (normal handshakes undisturbed), and a TLS listener whose
// only certificate is still being issued answering nothing else.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { BalancerRuntime, type BalancerListener } from '../../src/balancer/index.ts';
import { createCa, selfSigned } from '../support/pki.ts';
import { configOf, edgeCertificate, keyProvider, listener, readUntil, startTarget, tcpConnect, tlsOf, type TestCert } from './support.ts';

const ca = await createCa();
const cert = edgeCertificate(await ca.issue({ dnsNames: ['a.test'] }), ['a.test']);
const challengeCert = await selfSigned(['a.test']);

/** A runtime serving one listener to a fresh echo target, closed after the test. */
async function serving(t: TestContext, make: (target: BalancerListener['targets'][number]) => BalancerListener, certs: TestCert[] = []) {
  const target = await startTarget('web');
  const l = make(target.target);
  const rt = new BalancerRuntime({ keys: keyProvider(certs) });
  t.after(async () => {
    await rt.close(0);
    await target.close();
  });
  await rt.apply(configOf(l));
  return { rt, target, port: rt.address(l.id)!.port };
}

function exchange(port: number, bytes: string | Buffer, until: (s: string) => boolean) {
  return (async () => {
    const s = await tcpConnect(port);
    s.write(bytes);
    try {
      return await readUntil(s, until);
    } finally {
      s.destroy();
    }
  })();
}

test('HTTP-01 on a port-80 listener: the token answered before the target; everything else reaches it byte for byte', async (t) => {
  const { rt, port } = await serving(t, (target) => listener({ id: 'default/web:80', servicePort: 80, targets: [target] }));
  rt.setChallenges([{ type: 'http-01', token: 'tok_EN-1', keyAuthorization: 'tok_EN-1.thumbprint' }]);

  const answer = await exchange(port, 'GET /.well-known/acme-challenge/tok_EN-1 HTTP/1.1\r\nHost: a.test\r\n\r\n', (s) => s.includes('thumbprint'));
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(answer.endsWith('\r\n\r\ntok_EN-1.thumbprint'));
  assert.ok(!answer.includes('hello from web'), 'answered by the balancer, not the target');

  for (const req of [
    'GET /.well-known/acme-challenge/other HTTP/1.1\r\nHost: a.test\r\n\r\n', // a token the table does not hold
    'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n',
    'POST /.well-known/acme-challenge/tok_EN-1 HTTP/1.1\r\n\r\n',
    'GET /.well-known/acme-challenge/tok_EN-1/../x HTTP/1.1\r\n\r\n',
    'GET /.well-known/acme-challenge/tok_EN-1 HTTP/2.0\r\n\r\n',
  ]) {
    const echoed = await exchange(port, req, (s) => s.includes(req));
    assert.ok(echoed.startsWith('hello from web\n'), `${JSON.stringify(req)} forwarded`);
  }
  // A client that waits for the server to speak first still reaches the target.
  const silent = await tcpConnect(port);
  assert.equal(await readUntil(silent, (s) => s.includes('hello from web')), 'hello from web\n');
  silent.destroy();

  // Withdrawn: the same request goes to the target.
  rt.setChallenges([]);
  const req = 'GET /.well-known/acme-challenge/tok_EN-1 HTTP/1.1\r\n\r\n';
  assert.ok((await exchange(port, req, (s) => s.includes(req))).startsWith('hello from web'));
});

test('property: with a challenge pending, any first bytes that are not its request reach the target unchanged', async (t) => {
  const { rt, port } = await serving(t, (target) => listener({ id: 'default/web:80', servicePort: 80, targets: [target] }));
  rt.setChallenges([{ type: 'http-01', token: 'tok', keyAuthorization: 'tok.x' }]);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.constantFrom('GET /.well-known/acme-challenge/', 'GET /.well-known/acme-challenge/tok', 'GET /.well-known/acme-challenge/tok HTTP/1.1'), fc.string({ minLength: 1100, maxLength: 1200 }).map((s) => `GET /.well-known/acme-challenge/${s}`)),
      async (prefix) => {
        const bytes = `${prefix}\nEND-MARK`;
        const echoed = await exchange(port, bytes, (s) => s.includes('END-MARK'));
        assert.equal(echoed, `hello from web\n${bytes}`);
      },
    ),
    { numRuns: 40 },
  );
});

test('TLS-ALPN-01 by acme-tls/1: the challenge certificate for the name, no application data; other handshakes as before', async (t) => {
  const { rt, port } = await serving(t, (target) => listener({ protocol: 'TLS', tls: tlsOf([cert], undefined, ['h2', 'http/1.1']), targets: [target] }), [cert]);
  rt.setChallenges([{ type: 'tls-alpn-01', domain: 'a.test', certPem: challengeCert.certPem, keyPem: challengeCert.keyPem }]);

  const v = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false });
  await once(v, 'secureConnect');
  assert.equal(v.alpnProtocol, 'acme-tls/1');
  assert.equal(v.getPeerX509Certificate()!.fingerprint256, new X509Certificate(challengeCert.certPem).fingerprint256);
  await once(v, 'end');
  v.destroy();

  // acme-tls/1 for a name with no challenge: closed, never the edge certificate.
  const other = tlsConnect({ host: '127.0.0.1', port, servername: 'b.test', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false });
  await assert.rejects(once(other, 'secureConnect'));

  // A normal client meanwhile: the edge certificate, its ALPN, the target.
  const c = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ALPNProtocols: ['h2', 'http/1.1'], ca: ca.certPem });
  await once(c, 'secureConnect');
  assert.equal(c.alpnProtocol, 'h2');
  assert.equal(c.getPeerX509Certificate()!.fingerprint256, new X509Certificate(cert.edge.certPem).fingerprint256);
  assert.equal(await readUntil(c, (s) => s.includes('hello')), 'hello from web\n');
  c.destroy();
});

test('a TLS listener whose certificate is still being issued: bound, answers TLS-ALPN-01 only', async (t) => {
  const tls = { ...tlsOf([])!, pending: ['arn:aws:acm:local:000000000000:certificate/00000000-0000-4000-8000-0000000000ff'] };
  const { rt, port } = await serving(t, (target) => listener({ protocol: 'TLS', tls, targets: [target] }));
  const h = rt.health().listeners['default/web:443']!;
  assert.equal(h.bound, true);
  assert.deepEqual(h.problems, []);
  const early = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', rejectUnauthorized: false });
  await assert.rejects(once(early, 'secureConnect'), 'no certificate: the handshake is closed');
  rt.setChallenges([{ type: 'tls-alpn-01', domain: 'a.test', certPem: challengeCert.certPem, keyPem: challengeCert.keyPem }]);
  const v = tlsConnect({ host: '127.0.0.1', port, servername: 'A.test', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false });
  await once(v, 'secureConnect');
  assert.equal(v.alpnProtocol, 'acme-tls/1');
  v.destroy();
  const plain = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', rejectUnauthorized: false });
  await assert.rejects(once(plain, 'secureConnect'), 'still nothing for ordinary clients');
});
