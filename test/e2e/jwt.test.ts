// JWT verification through the whole chain: the load balancer (TCP, PROXY
// v2) -> the proxy's HTTPS listener (TLS with the HTTPProxy's certificate,
// jwt_authn with a remote JWKS fetched over verified TLS) -> the backend.
// Rejected requests get 401 at the edge and never reach the backend; a
// valid token gets through with the client's own address; the public route
// needs none; the JWKS going away means 401, not a pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import https from 'node:https';
import { stringify } from 'yaml';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { createCa } from '../support/pki.ts';
import { nowS, signingKey, signToken, startJwksServer } from '../support/jwks-server.ts';
import { CLI, freeOffset, freePort, startServe, type ServeProcess } from './support.ts';

const run = promisify(execFile);
const FQDN = 'app.example.test';
const DOWN = 'down.example.test';
const ISSUER = 'https://idp.example.test';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, ca: string, path: string, headers: Record<string, string> = {}, localAddress = '127.0.0.1', fqdn = FQDN): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, localAddress, servername: fqdn, ca, headers: { host: `${fqdn}:${port}`, ...headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('JWT through the chain: 401 at the edge without a valid token, 200 with one, the backend sees only accepted requests', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-jwt-'));
  const manifests = join(work, 'manifests');
  await mkdir(manifests);
  const edgeCa = await createCa('app CA');
  const serving = await edgeCa.issue({ dnsNames: [FQDN, DOWN] });
  // A JWKS address where nothing listens.
  const closedPort = await freePort();
  const jwksCa = await createCa('idp CA');
  const jwksCert = await jwksCa.issue({ dnsNames: ['jwks.idp.example.test'], ipAddresses: ['127.0.0.1'] });
  const jwks = await startJwksServer(jwksCert);
  const key = await signingKey('RS256', 'key-1');
  jwks.serve({ keys: [key.jwk] });
  const backend = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'app' });
  let backendRequests = 0;
  backend.server.on('request', () => backendRequests++);
  let serve: ServeProcess | undefined;
  try {
    const objects = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'envoy',
          namespace: 'projectcontour',
          annotations: {
            'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
            'service.beta.kubernetes.io/aws-load-balancer-proxy-protocol': '*',
          },
        },
        // TCP at the load balancer: TLS ends at the proxy, as JWT verification needs.
        spec: { type: 'LoadBalancer', ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-tls', namespace: 'demo' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'idp-ca', namespace: 'demo' }, type: 'Opaque', stringData: { 'ca.crt': jwksCa.certPem } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app', namespace: 'demo' }, spec: { ports: [{ port: 80, targetPort: backend.port }] } },
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'app', namespace: 'demo' },
        subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: backend.port }] }],
      },
      {
        apiVersion: 'projectcontour.io/v1',
        kind: 'HTTPProxy',
        metadata: { name: 'app', namespace: 'demo' },
        spec: {
          virtualhost: {
            fqdn: FQDN,
            tls: { secretName: 'app-tls' },
            jwtProviders: [
              {
                name: 'idp',
                default: true,
                issuer: ISSUER,
                audiences: ['app'],
                remoteJWKS: { uri: jwks.url(), timeout: '2s', cacheDuration: '5m', validation: { caSecret: 'idp-ca', subjectName: 'jwks.idp.example.test' } },
              },
            ],
          },
          routes: [
            { conditions: [{ prefix: '/public' }], jwtVerificationPolicy: { disabled: true }, services: [{ name: 'app', port: 80 }] },
            { services: [{ name: 'app', port: 80 }] },
          ],
        },
      },
      {
        apiVersion: 'projectcontour.io/v1',
        kind: 'HTTPProxy',
        metadata: { name: 'down', namespace: 'demo' },
        spec: {
          virtualhost: {
            fqdn: DOWN,
            tls: { secretName: 'app-tls' },
            jwtProviders: [{ name: 'idp', default: true, issuer: ISSUER, remoteJWKS: { uri: `http://127.0.0.1:${closedPort}/jwks.json`, timeout: '500ms' } }],
          },
          routes: [{ services: [{ name: 'app', port: 80 }] }],
        },
      },
    ];
    await writeFile(join(manifests, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));

    const caFile = join(work, 'app-ca.pem');
    await writeFile(caFile, edgeCa.certPem);
    const { stdout: checked } = await run(process.execPath, [CLI, 'check', manifests, '--state-dir', join(work, 'state')]);
    assert.match(checked, /^ok: 2 HTTPProxies valid/);

    const offset = await freeOffset([443]);
    const port = 443 + offset;
    serve = await startServe(
      [manifests, '--state-dir', join(work, 'state'), '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '1'],
      await freePort(),
    );
    const claims = { iss: ISSUER, aud: 'app', sub: 'alice', exp: nowS() + 600 };

    // No token: answered by the proxy; curl as a client would see it.
    const curl = await run('curl', ['-sS', '-i', '--resolve', `${FQDN}:${port}:127.0.0.1`, '--cacert', caFile, `https://${FQDN}:${port}/api`]);
    assert.match(curl.stdout, /^HTTP\/2 401 /);
    assert.match(curl.stdout, new RegExp(`www-authenticate: Bearer realm="https://${FQDN.replace(/\./g, '\\.')}:${port}/api"`, 'i'));
    assert.match(curl.stdout, /\r\n\r\nJwt is missing$/);
    assert.equal(backendRequests, 0, 'the backend never saw the rejected request');

    // A valid token: through to the backend, with the client's address from the PROXY header, without the token.
    const token = await signToken(key, claims);
    const ok = await get(port, edgeCa.certPem, '/api', { authorization: `Bearer ${token}` }, '127.0.0.2');
    assert.equal(ok.status, 200);
    const seen = JSON.parse(ok.body) as { path: string; clientAddress: string; headers: Record<string, string> };
    assert.equal(seen.path, '/api');
    assert.equal(seen.clientAddress, '127.0.0.2', 'the client address crossed the load balancer in the PROXY v2 header');
    assert.equal(seen.headers.authorization, undefined, 'forwardJWT is off: the token stays at the edge');
    assert.equal(backendRequests, 1);
    assert.equal(jwks.requests, 1, 'the JWKS was fetched once, over verified TLS');

    // Bad signature, wrong issuer, expired: 401, nothing reaches the backend.
    const impostor = await signingKey('RS256', 'key-1');
    for (const [t, body] of [
      [await signToken(impostor, claims), 'Jwt verification fails'],
      [await signToken(key, { ...claims, iss: 'https://other.example.test' }), 'Jwt issuer is not configured'],
      [await signToken(key, { ...claims, exp: nowS() - 3600 }), 'Jwt is expired'],
    ] as const) {
      const denied = await get(port, edgeCa.certPem, '/api', { authorization: `Bearer ${t}` });
      assert.equal(denied.status, 401);
      assert.equal(denied.body, body);
      assert.equal(denied.headers['www-authenticate'], `Bearer realm="https://${FQDN}:${port}/api", error="invalid_token"`);
    }
    assert.equal(backendRequests, 1);

    // The route that opts out needs no token.
    assert.equal((await get(port, edgeCa.certPem, '/public/x')).status, 200);
    assert.equal(backendRequests, 2);

    // A JWKS that cannot be fetched: 401 for a valid token, never a pass.
    const down = await get(port, edgeCa.certPem, '/api', { authorization: `Bearer ${token}` }, '127.0.0.1', DOWN);
    assert.equal(down.status, 401);
    assert.equal(down.body, 'Jwks remote fetch is failed');
    assert.equal(backendRequests, 2);

    // Key rotation: a token signed with a new key is accepted once the JWKS has it.
    const next = await signingKey('ES256', 'key-2');
    jwks.serve({ keys: [key.jwk, next.jwk] });
    assert.equal((await get(port, edgeCa.certPem, '/api', { authorization: `Bearer ${await signToken(next, claims)}` })).status, 200);
    assert.equal(backendRequests, 3);
    assert.equal(jwks.requests, 2, 'one refetch for the unknown kid');
  } finally {
    const code = await serve?.stop();
    await backend.close();
    await jwks.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
