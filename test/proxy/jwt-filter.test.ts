// The jwt_authn filter in the proxy runtime, with a real ProxyConfig, a real
// JWKS server and a real backend: rejected requests are answered at the
// edge and never reach the backend; accepted ones arrive without the token
// unless forwardJWT; both listeners verify.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { JwtProvider, Route } from '../../src/dag/index.ts';
import { createCa, type Ca } from '../support/pki.ts';
import { nowS, signingKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server.ts';
import { cluster, config, ep, get, httpBackend, raw, route, secureVhost, startProxy, vhost, type Backend, type Started } from './fixtures.ts';

const FQDN = 'app.test';
const ISSUER = 'https://issuer.test';

let jwks: JwksServer;
let key: SigningKey;
let backend: Backend;
let ca: Ca;
let serving: { certPem: string; keyPem: string };

function provider(over: Partial<JwtProvider> = {}): JwtProvider {
  return {
    name: 'idp',
    issuer: ISSUER,
    audiences: ['api'],
    forwardJWT: false,
    jwks: { kind: 'remote', uri: jwks.url(), timeoutMs: 1000, cacheDurationMs: null, dnsLookupFamily: 'auto', minTlsVersion: '1.2', maxTlsVersion: '1.3' },
    ...over,
  };
}

const claims = () => ({ iss: ISSUER, aud: 'api', sub: 'alice', exp: nowS() + 600 });

function routes(): Route[] {
  return [
    route({ path: { kind: 'prefix', value: '/open' }, to: 'b' }),
    route({ path: { kind: 'prefix', value: '/ws' }, to: 'b', websocket: true, jwt: { provider: 'idp' } }),
    route({ path: { kind: 'prefix', value: '/fwd' }, to: 'b', jwt: { provider: 'fwd' } }),
    route({ path: { kind: 'prefix', value: '/' }, to: 'b', jwt: { provider: 'idp' } }),
  ];
}

function cfg() {
  const providers = [provider(), provider({ name: 'fwd', forwardJWT: true })];
  return config({
    httpVirtualHosts: [{ ...vhost(FQDN, routes()), jwt: { providers } }],
    httpsVirtualHosts: [{ ...secureVhost(FQDN, routes(), { secretId: 'default/app' }), jwt: { providers } }],
    clusters: [cluster('b', [ep(backend)])],
    secrets: [{ id: 'default/app', ...serving }],
  });
}

let proxy: Started;

before(async () => {
  jwks = await startJwksServer();
  key = await signingKey('ES256', 'k1');
  jwks.serve({ keys: [key.jwk] });
  backend = await httpBackend('b');
  ca = await createCa('edge CA');
  serving = await ca.issue({ dnsNames: [FQDN] });
  proxy = await startProxy(cfg(), [{ name: 'http' }, { name: 'https', tls: true }]);
});

after(async () => {
  await proxy.close();
  await backend.close();
  await jwks.close();
});

const host = { host: FQDN };

function httpsGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: proxy.port('https'), path, servername: FQDN, ca: ca.certPem, headers: { host: FQDN, ...headers }, agent: false },
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

describe('on the plain listener', () => {
  test('no token: 401 with Envoy\'s body and challenge; the backend never sees the request', async () => {
    const before = backend.seen.length;
    const r = await get(proxy.port('http'), '/api?x=1', host);
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwt is missing');
    assert.equal(r.headers['www-authenticate'], `Bearer realm="http://${FQDN}/api?x=1"`);
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.equal(backend.seen.length, before);
  });

  test('a valid token: forwarded without the Authorization header', async () => {
    const r = await get(proxy.port('http'), '/api', { ...host, authorization: `Bearer ${await signToken(key, claims())}` });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as { headers: Record<string, string>; url: string };
    assert.equal(seen.url, '/api');
    assert.equal(seen.headers.authorization, undefined);
  });

  test('forwardJWT keeps the token on the upstream request', async () => {
    const token = await signToken(key, claims());
    const r = await get(proxy.port('http'), '/fwd', { ...host, authorization: `Bearer ${token}` });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { headers: Record<string, string> }).headers.authorization, `Bearer ${token}`);
  });

  test('a token in access_token is verified and removed from the upstream query', async () => {
    const r = await get(proxy.port('http'), `/api?a=1&access_token=${await signToken(key, claims())}&b=2`, host);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { url: string }).url, '/api?a=1&b=2');
  });

  test('a wrong audience: 403; an expired token: 401; neither reaches the backend', async () => {
    const before = backend.seen.length;
    const aud = await get(proxy.port('http'), '/api', { ...host, authorization: `Bearer ${await signToken(key, { ...claims(), aud: 'other' })}` });
    assert.equal(aud.status, 403);
    assert.equal(aud.body, 'Audiences in Jwt are not allowed');
    const old = await get(proxy.port('http'), '/api', { ...host, authorization: `Bearer ${await signToken(key, { ...claims(), exp: nowS() - 3600 })}` });
    assert.equal(old.status, 401);
    assert.equal(old.body, 'Jwt is expired');
    assert.equal(old.headers['www-authenticate'], `Bearer realm="http://${FQDN}/api", error="invalid_token"`);
    assert.equal(backend.seen.length, before);
  });

  test('a route without a requirement needs no token', async () => {
    assert.equal((await get(proxy.port('http'), '/open', host)).status, 200);
  });

  test('a WebSocket upgrade without a token is refused before the upstream is asked', async () => {
    const before = backend.seen.length;
    const r = await raw(
      proxy.port('http'),
      `GET /ws HTTP/1.1\r\nHost: ${FQDN}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    assert.match(r.text, /^HTTP\/1\.1 401 /);
    assert.match(r.text, /Jwt is missing/);
    assert.equal(backend.seen.length, before);
  });

  test('gRPC clients get the denial as a trailers-only gRPC response (UNAUTHENTICATED)', async () => {
    const r = await get(proxy.port('http'), '/svc/Method', { ...host, 'content-type': 'application/grpc' }, 'POST', '');
    assert.equal(r.status, 200);
    assert.equal(r.headers['grpc-status'], '16');
    assert.equal(r.headers['grpc-message'], 'Jwt%20is%20missing');
  });
});

describe('on the HTTPS listener', () => {
  test('401 names the https URI; a valid token passes', async () => {
    const denied = await httpsGet('/api');
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['www-authenticate'], `Bearer realm="https://${FQDN}/api"`);
    const ok = await httpsGet('/api', { authorization: `Bearer ${await signToken(key, claims())}` });
    assert.equal(ok.status, 200);
  });
});

describe('JWKS state across requests and applies', () => {
  test('the JWKS is fetched once for every request and listener, and a re-apply of the same providers keeps it', async () => {
    const fetched = jwks.requests;
    assert.ok(fetched >= 1);
    proxy.proxy.apply(cfg());
    const r = await get(proxy.port('http'), '/api', { ...host, authorization: `Bearer ${await signToken(key, claims())}` });
    assert.equal(r.status, 200);
    assert.equal(jwks.requests, fetched);
  });

  test('a JWKS that cannot be fetched: 401, and the backend sees nothing', async () => {
    const before = backend.seen.length;
    const down = await startJwksServer();
    const url = down.url();
    await down.close();
    const broken = cfg();
    for (const v of [...broken.httpVirtualHosts, ...broken.httpsVirtualHosts]) {
      v.jwt = { providers: [{ ...provider(), jwks: { ...provider().jwks, uri: url } as JwtProvider['jwks'] }, provider({ name: 'fwd' })] };
    }
    proxy.proxy.apply(broken);
    try {
      const r = await get(proxy.port('http'), '/api', { ...host, authorization: `Bearer ${await signToken(key, claims())}` });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'Jwks remote fetch is failed');
      assert.equal(backend.seen.length, before);
    } finally {
      proxy.proxy.apply(cfg());
    }
  });
});
