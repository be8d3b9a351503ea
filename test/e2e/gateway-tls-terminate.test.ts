// A TLSRoute on a terminating TLS listener through `isobar serve`: a TLS
// client (SNI tls.example.test, trusting the listener's CA) talks to a
// plain TCP backend through the proxy, which ends TLS with the listener's
// certificate and forwards the decrypted bytes both ways. Conformance
// scenario: TLSRouteTerminateSimpleSameNamespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa } from '../support/pki.ts';
import { freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { edgeGateway, serviceAt, tlsSecretYaml } from './gateway-manifests.ts';

/** Writes `line` over a verified TLS session and resolves with what comes back before the server closes. */
function talk(port: number, servername: string, ca: string, line: string): Promise<{ reply: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca }, () => s.end(line));
    let reply = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (reply += d));
    // An end before any TLS session (the proxy closed the connection) is a refusal.
    s.on('end', () => (s.authorized ? resolve({ reply, authorized: true }) : reject(new Error(`no TLS session for ${servername}`))));
    s.on('error', reject);
  });
}

test('TLSRoute on a TLS listener with tls.mode Terminate: TLS ends at the proxy, the plain TCP backend gets the bytes', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-gateway-tls-terminate-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const ca = await createCa('tls terminate e2e CA');
  const leaf = await ca.issue({ dnsNames: ['tls.example.test'] });
  const seen: string[] = [];
  const echo = createServer((sock: Socket) => {
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (got += d));
    sock.on('end', () => {
      seen.push(got);
      sock.end(`echo:${got}`);
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  let serve: ServeProcess | undefined;
  try {
    await writeFile(join(dir, 'services.yaml'), serviceAt('tcp-backend', (echo.address() as AddressInfo).port, { servicePort: 3000 }));
    await writeFile(
      join(dir, 'gateway.yaml'),
      `${tlsSecretYaml('terminate-cert', leaf)}---
${edgeGateway(['{name: tlsterminate, port: 8443, protocol: TLS, hostname: tls.example.test, allowedRoutes: {kinds: [{kind: TLSRoute}]}, tls: {mode: Terminate, certificateRefs: [{name: terminate-cert}]}}'])}---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: terminated, namespace: apps}
spec:
  parentRefs: [{name: edge}]
  hostnames: [tls.example.test]
  rules: [{backendRefs: [{name: tcp-backend, port: 3000}]}]
`,
    );
    const httpsPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(await freePort()), '--https-port', String(httpsPort), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const first = await waitFor('the TLSRoute served', () => talk(httpsPort, 'tls.example.test', ca.certPem, 'hello').catch(() => undefined), 15_000);
    assert.deepEqual(first, { reply: 'echo:hello', authorized: true }, 'the listener\'s certificate, verified by the client');
    assert.deepEqual(seen, ['hello'], 'the backend got the decrypted bytes, not a TLS ClientHello');
    const again = await talk(httpsPort, 'tls.example.test', ca.certPem, 'x'.repeat(100_000));
    assert.equal(again.reply, `echo:${'x'.repeat(100_000)}`);
    // Another name gets no TLS session: nothing else is served on the port.
    await assert.rejects(talk(httpsPort, 'other.example.test', ca.certPem, 'hello'));
    t.diagnostic('terminated TLS forwarded as plain TCP');
  } finally {
    await serve?.stop();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
    await rm(work, { recursive: true, force: true });
  }
});
