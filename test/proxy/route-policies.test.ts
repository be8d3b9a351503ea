// Route policies on real sockets: every retryOn condition Contour accepts,
// as Envoy decides it (statuses, x-envoy-ratelimited, gRPC statuses in the
// headers, resets, connections that never opened); header policy
// variables, TLS ones from a real handshake with a client certificate;
// Set-Cookie rewriting; internal redirects followed, refused and bounded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import { hostname } from 'node:os';
import type { InternalRedirectConfig, RetryPolicyConfig } from '../../src/dag/index.ts';
import { createCa, type Ca, type Issued } from '../support/pki.ts';
import { rfc2253 } from '../../src/proxy/xfcc.ts';
import { cluster, config, ep, get, httpBackend, route, secureVhost, startProxy, vhost, wc, type Backend, type Started } from './fixtures.ts';

let app: Backend; // answers by path; see the handler
let other: Backend; // the target of redirects to other.test
let refusedPort: number;
let p: Started;
let edge: Ca;
let clientCa: Ca;
let clientCert: Issued;
let serverCert: Issued;
const left = new Map<string, number>(); // failures still to give, per path

const retry = (retryOn: string[], count = 1): RetryPolicyConfig => ({ retryOn, count, perTryTimeoutMs: null, retriableStatusCodes: [] });
const irp = (extra: Partial<InternalRedirectConfig> = {}): InternalRedirectConfig => ({
  maxInternalRedirects: 1,
  redirectResponseCodes: [302],
  allowCrossScheme: 'Never',
  denyRepeatedRouteRedirect: false,
  ...extra,
});
const hits = (b: Backend, path: string) => b.seen.filter((s) => s.url === path).length;

before(async () => {
  app = await httpBackend('app', (req, res, seen) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const failing = (left.get(path) ?? 0) > 0;
    if (failing) left.set(path, left.get(path)! - 1);
    if (failing && path.startsWith('/rl/')) {
      res.writeHead(path.endsWith('5xx') ? 503 : 429, { 'x-envoy-ratelimited': 'true' });
      return res.end('limited');
    }
    if (failing && path.startsWith('/overloaded')) {
      res.writeHead(503, { 'x-envoy-overloaded': 'true' });
      return res.end('overloaded');
    }
    if (failing && path.startsWith('/grpc/')) {
      // A trailers-only gRPC answer: grpc-status in the headers.
      res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': path.slice(6).split('/')[1]!, 'grpc-message': 'try again' });
      return res.end();
    }
    if (failing && path.startsWith('/grpc-trailers/')) {
      res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status' });
      res.write('\0\0\0\0\0');
      res.addTrailers({ 'grpc-status': '14' });
      return res.end();
    }
    if (failing && path.startsWith('/reset')) return req.socket.destroy();
    if (failing) {
      res.writeHead(503);
      return res.end('nope');
    }
    if (path === '/cookies' || path === '/svc-cookies') {
      res.setHeader('set-cookie', [
        'session=abc; Path=/old; Domain=old.test; HttpOnly; Secure',
        'lang=en; path=/; SameSite=Strict',
        'other=1; Path=/keep',
        'novalue',
      ]);
      return res.end('cookies');
    }
    if (path.startsWith('/redirect/')) {
      // /redirect/<status>/<location, URI-encoded>
      const [, , status, location] = path.split('/');
      res.writeHead(Number(status), { location: decodeURIComponent(location!) });
      return res.end('redirected');
    }
    if (path.startsWith('/loop/') || path.startsWith('/deny/')) {
      const next = path.endsWith('/a') ? path.replace(/a$/, 'b') : path.replace(/b$/, 'a');
      res.writeHead(302, { location: `http://r.test${next}` });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'app' });
    res.end(JSON.stringify({ backend: 'app', ...seen }));
  });
  other = await httpBackend('other');
  const tmp = net.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
  refusedPort = (tmp.address() as net.AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));

  edge = await createCa('routes edge CA');
  clientCa = await createCa('routes client CA');
  clientCert = await clientCa.issue({ commonName: 'client one', client: true });
  serverCert = await edge.issue({ commonName: 'tls.test', dnsNames: ['tls.test'] });
  const tlsSecret = { id: 'd/tls.test', ...serverCert };
  const vars = [
    'DOWNSTREAM_REMOTE_ADDRESS',
    'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
    'DOWNSTREAM_LOCAL_ADDRESS',
    'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
    'DOWNSTREAM_LOCAL_PORT',
    'DOWNSTREAM_LOCAL_URI_SAN',
    'DOWNSTREAM_PEER_URI_SAN',
    'DOWNSTREAM_LOCAL_SUBJECT',
    'DOWNSTREAM_PEER_SUBJECT',
    'DOWNSTREAM_PEER_ISSUER',
    'DOWNSTREAM_TLS_SESSION_ID',
    'DOWNSTREAM_TLS_CIPHER',
    'DOWNSTREAM_TLS_VERSION',
    'DOWNSTREAM_PEER_FINGERPRINT_256',
    'DOWNSTREAM_PEER_FINGERPRINT_1',
    'DOWNSTREAM_PEER_SERIAL',
    'DOWNSTREAM_PEER_CERT',
    'DOWNSTREAM_PEER_CERT_V_START',
    'DOWNSTREAM_PEER_CERT_V_END',
    'HOSTNAME',
    'PROTOCOL',
    'RESPONSE_FLAGS',
    'RESPONSE_CODE_DETAILS',
    'UPSTREAM_REMOTE_ADDRESS',
    'TLS_JA3_FINGERPRINT',
  ];
  const varOps = { set: vars.map((v) => ({ name: `X-${v.replace(/_/g, '-')}`, value: `%${v}%` })), remove: [] };
  const varRoute = route({
    path: { kind: 'prefix', value: '/vars' },
    to: 'app',
    requestHeaders: { set: [...varOps.set, { name: 'X-Req', value: '%REQ(x-user)%/%REQ(x-missing?x-user):3%/%REQ(:method)% 100% %NOT_A_VAR%' }], remove: [] },
    responseHeaders: { set: [{ name: 'X-Upstream', value: '%UPSTREAM_REMOTE_ADDRESS%' }, { name: 'X-Flags', value: '%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%' }, { name: 'X-Proto', value: '%PROTOCOL%' }], remove: [] },
  });
  const cookieRules = [
    { name: 'session', path: '/new', domain: 'new.test', secure: false, sameSite: 'Lax' as const },
    { name: 'lang', path: '/l', secure: true },
  ];
  p = await startProxy(
    config({
      clusters: [
        cluster('app', [ep(app)]),
        cluster('other', [ep(other)]),
        cluster('half', [{ address: '127.0.0.1', port: refusedPort }, ep(app)]),
      ],
      secrets: [tlsSecret],
      caBundles: [{ id: 'd/clients', caPem: clientCa.certPem }],
      httpVirtualHosts: [
        vhost('r.test', [
          route({ path: { kind: 'prefix', value: '/rl/' }, to: 'app', retry: retry(['envoy-ratelimited']) }),
          route({ path: { kind: 'prefix', value: '/rl5xx/' }, to: 'app', prefixRewrite: '/rl/', retry: retry(['5xx']) }),
          route({ path: { kind: 'prefix', value: '/overloaded' }, to: 'app', retry: retry(['5xx']) }),
          route({ path: { kind: 'prefix', value: '/grpc/' }, to: 'app', retry: retry(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'].filter((n) => n !== 'internal')) }),
          route({ path: { kind: 'prefix', value: '/grpc-internal/' }, to: 'app', prefixRewrite: '/grpc/', retry: retry(['internal']) }),
          route({ path: { kind: 'prefix', value: '/grpc-trailers/' }, to: 'app', retry: retry(['unavailable']) }),
          route({ path: { kind: 'prefix', value: '/reset/gateway' }, to: 'app', retry: retry(['gateway-error']) }),
          route({ path: { kind: 'prefix', value: '/reset/before' }, to: 'app', retry: retry(['reset-before-request']) }),
          route({ path: { kind: 'prefix', value: '/half/before' }, to: 'half', retry: retry(['reset-before-request']) }),
          route({ path: { kind: 'prefix', value: '/quiet/' }, to: 'app', retry: retry(['retriable-headers', 'http3-post-connect-failure'], 2) }),
          varRoute,
          route({ path: { kind: 'prefix', value: '/cookies' }, to: [wc('app', 1, { cookieRewrites: cookieRules })] }),
          route({ path: { kind: 'exact', value: '/redirect/302/http%3A%2F%2Fother.test%2Ftarget' }, to: 'app', internalRedirect: irp() }),
          route({ path: { kind: 'prefix', value: '/redirect/' }, to: 'app', internalRedirect: irp({ redirectResponseCodes: [301, 302, 303, 307, 308] }) }),
          route({ path: { kind: 'prefix', value: '/loop/' }, to: 'app', internalRedirect: irp({ maxInternalRedirects: 4 }) }),
          route({ path: { kind: 'prefix', value: '/deny/' }, to: 'app', internalRedirect: irp({ maxInternalRedirects: 4, denyRepeatedRouteRedirect: true }) }),
          route({ path: { kind: 'prefix', value: '/' }, to: 'app' }),
        ]),
        vhost('other.test', [route({ path: { kind: 'prefix', value: '/target' }, to: 'other' })]),
        vhost('safe.test', [
          route({ path: { kind: 'prefix', value: '/redirect/' }, to: 'app', internalRedirect: irp({ allowCrossScheme: 'SafeOnly' }) }),
          route({ path: { kind: 'prefix', value: '/' }, to: 'other' }),
        ]),
        vhost('always.test', [
          route({ path: { kind: 'prefix', value: '/redirect/' }, to: 'app', internalRedirect: irp({ allowCrossScheme: 'Always' }) }),
          route({ path: { kind: 'prefix', value: '/' }, to: 'other' }),
        ]),
      ],
      httpsVirtualHosts: [
        secureVhost('tls.test', [varRoute, route({ to: 'app' })], { secretId: 'd/tls.test', clientValidation: { caBundleId: 'd/clients', skipVerification: false, optional: true } }),
      ],
    }),
    [{ name: 'http' }, { name: 'https', tls: true }],
  );
});

after(async () => {
  await p.close();
  await Promise.all([app.close(), other.close()]);
});

const H = { host: 'r.test' };

test('retryOn envoy-ratelimited: an upstream Envoy\'s 429 is retried; under 5xx its 503 is not', async () => {
  left.set('/rl/a', 1);
  const r = await get(p.port(), '/rl/a', H);
  assert.equal(r.status, 200);
  assert.equal(hits(app, '/rl/a'), 2);
  left.set('/rl/5xx', 1);
  const s = await get(p.port(), '/rl5xx/5xx', H);
  assert.equal(s.status, 503);
  assert.equal(s.headers['x-envoy-ratelimited'], 'true');
  assert.equal(hits(app, '/rl/5xx'), 1);
});

test('retryOn 5xx: an upstream that says x-envoy-overloaded is not retried', async () => {
  left.set('/overloaded', 1);
  const r = await get(p.port(), '/overloaded', H);
  assert.equal(r.status, 503);
  assert.equal(r.body, 'overloaded');
  assert.equal(hits(app, '/overloaded'), 1);
});

test('retryOn gRPC conditions: a grpc-status in the headers is retried when it is listed, else passed on', async () => {
  for (const [code, retried] of [['1', true], ['4', true], ['8', true], ['14', true], ['13', false], ['2', false]] as const) {
    const path = `/grpc/x/${code}`;
    left.set(path, 1);
    const r = await get(p.port(), path, H);
    assert.equal(hits(app, path), retried ? 2 : 1, `grpc-status ${code}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['grpc-status'], retried ? undefined : code, `grpc-status ${code}`);
  }
  left.set('/grpc/y/13', 1);
  const r = await get(p.port(), '/grpc-internal/y/13', H);
  assert.equal(r.headers['grpc-status'], undefined);
  assert.equal(hits(app, '/grpc/y/13'), 2);
});

test('retryOn unavailable: a grpc-status in trailers is not retried (Envoy decides on the headers)', async () => {
  left.set('/grpc-trailers/z', 1);
  const r = await get(p.port(), '/grpc-trailers/z', H);
  assert.equal(r.status, 200);
  assert.equal(hits(app, '/grpc-trailers/z'), 1);
});

test('retryOn gateway-error retries a reset; reset-before-request does not (the request had left)', async () => {
  left.set('/reset/gateway', 1);
  const g = await get(p.port(), '/reset/gateway', H);
  assert.equal(g.status, 200);
  assert.equal(hits(app, '/reset/gateway'), 2);
  left.set('/reset/before', 1);
  const b = await get(p.port(), '/reset/before', H);
  assert.equal(b.status, 503);
  assert.match(b.body, /^upstream connect error or disconnect\/reset before headers/);
  assert.equal(hits(app, '/reset/before'), 1);
});

test('retryOn reset-before-request retries a connection that never opened', async () => {
  // Round robin over a refused port and the app: every request reaches the app.
  for (let i = 0; i < 4; i++) assert.equal((await get(p.port(), '/half/before', H)).status, 200);
});

test('retryOn retriable-headers and http3-post-connect-failure: accepted, and nothing matches them', async () => {
  left.set('/quiet/a', 1);
  const r = await get(p.port(), '/quiet/a', H);
  assert.equal(r.status, 503);
  assert.equal(hits(app, '/quiet/a'), 1);
});

test('header variables on plain HTTP: addresses, protocol, host name; TLS ones absent; literals kept', async () => {
  const r = await get(p.port(), '/vars', { ...H, 'x-user': 'alice' });
  assert.equal(r.status, 200);
  const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
  assert.match(h['x-downstream-remote-address']!, /^127\.0\.0\.1:\d+$/);
  assert.equal(h['x-downstream-remote-address-without-port'], '127.0.0.1');
  assert.equal(h['x-downstream-local-address'], `127.0.0.1:${p.port()}`);
  assert.equal(h['x-downstream-local-address-without-port'], '127.0.0.1');
  assert.equal(h['x-downstream-local-port'], String(p.port()));
  assert.equal(h['x-hostname'], hostname());
  assert.equal(h['x-protocol'], 'HTTP/1.1');
  assert.equal(h['x-response-flags'], '-');
  // Unknown while the request is built: Envoy leaves the name.
  assert.equal(h['x-upstream-remote-address'], '%UPSTREAM_REMOTE_ADDRESS%');
  assert.equal(h['x-req'], 'alice/ali/GET 100% %NOT_A_VAR%');
  for (const v of ['x-downstream-peer-subject', 'x-downstream-tls-version', 'x-downstream-tls-cipher', 'x-downstream-peer-cert', 'x-response-code-details', 'x-tls-ja3-fingerprint']) {
    assert.equal(h[v], undefined, v);
  }
  assert.equal(r.headers['x-upstream'], `127.0.0.1:${app.port}`);
  assert.equal(r.headers['x-flags'], '- via_upstream');
  assert.equal(r.headers['x-proto'], 'HTTP/1.1');
});

test('header variables over TLS with a client certificate: the handshake\'s facts, as Envoy prints them', async () => {
  const seen = await new Promise<Record<string, string>>((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: p.port('https'), path: '/vars', servername: 'tls.test', ca: edge.certPem, cert: clientCert.certPem, key: clientCert.keyPem, agent: false, headers: { host: 'tls.test' } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve((JSON.parse(body) as { headers: Record<string, string> }).headers));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const peer = new X509Certificate(clientCert.certPem);
  assert.equal(seen['x-downstream-peer-subject'], rfc2253(peer.subject));
  assert.equal(seen['x-downstream-peer-subject'], 'CN=client one');
  assert.equal(seen['x-downstream-peer-issuer'], rfc2253(peer.issuer));
  assert.equal(seen['x-downstream-local-subject'], rfc2253(new X509Certificate(serverCert.certPem).subject));
  assert.match(seen['x-downstream-local-subject']!, /CN=tls\.test/);
  assert.equal(seen['x-downstream-peer-fingerprint-256'], createHash('sha256').update(peer.raw).digest('hex'));
  assert.equal(seen['x-downstream-peer-fingerprint-1'], createHash('sha1').update(peer.raw).digest('hex'));
  assert.equal(seen['x-downstream-peer-serial'], peer.serialNumber.toLowerCase());
  assert.equal(seen['x-downstream-peer-cert'], encodeURIComponent(peer.toString()));
  assert.equal(seen['x-downstream-peer-cert-v-start'], new Date(peer.validFrom).toISOString());
  assert.equal(seen['x-downstream-peer-cert-v-end'], new Date(peer.validTo).toISOString());
  assert.equal(seen['x-downstream-tls-version'], 'TLSv1.3');
  assert.match(seen['x-downstream-tls-cipher']!, /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
  assert.match(seen['x-downstream-tls-session-id']!, /^[0-9a-f]{64}$/);
  // Neither certificate has a URI SAN: nothing to set.
  assert.equal(seen['x-downstream-peer-uri-san'], undefined);
  assert.equal(seen['x-downstream-local-uri-san'], undefined);
});

test('cookie rewriting: the named cookies\' attributes replaced, added or removed; others as they came', async () => {
  const r = await get(p.port(), '/cookies', H);
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers['set-cookie'], [
    'session=abc; Path=/new; Domain=new.test; HttpOnly; SameSite=Lax',
    'lang=en; Path=/l; SameSite=Strict; Secure',
    'other=1; Path=/keep',
    'novalue',
  ]);
});

test('internal redirect: a 302 is followed to the target host\'s route, with x-envoy-original-url; the client sees the target\'s answer', async () => {
  const before = other.seen.length;
  const r = await get(p.port(), '/redirect/302/http%3A%2F%2Fother.test%2Ftarget', { ...H, 'x-user': 'bob' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-backend'], 'other');
  const s = other.seen.at(-1)!;
  assert.equal(other.seen.length, before + 1);
  assert.equal(s.url, '/target');
  assert.equal(s.headers.host, 'other.test');
  assert.equal(s.headers['x-user'], 'bob');
  assert.equal(s.headers['x-envoy-original-url'], 'http://r.test/redirect/302/http%3A%2F%2Fother.test%2Ftarget');
  const log = p.logs.at(-1)!;
  assert.equal(log.status, 200);
});

test('internal redirect: each listed status is followed; a 303 is fetched with GET', async () => {
  for (const status of [301, 303, 307, 308]) {
    const before = other.seen.length;
    const r = await get(p.port(), `/redirect/${status}/${encodeURIComponent('http://other.test/target/' + status)}`, H, status === 303 ? 'DELETE' : 'GET');
    assert.equal(r.status, 200, String(status));
    assert.equal(other.seen.length, before + 1);
    assert.equal(other.seen.at(-1)!.method, 'GET');
  }
  const r = await get(p.port(), `/redirect/307/${encodeURIComponent('http://other.test/target/keep')}`, H, 'DELETE');
  assert.equal(r.status, 200);
  assert.equal(other.seen.at(-1)!.method, 'DELETE');
});

test('internal redirect: passed on when a check fails', async () => {
  const cases: [string, string, Record<string, string>?, string?, string?][] = [
    // Not fully qualified.
    ['r.test', `/redirect/302/${encodeURIComponent('/target')}`],
    // Another scheme under Never.
    ['r.test', `/redirect/302/${encodeURIComponent('https://other.test/target')}`],
    // No route takes the target.
    ['r.test', `/redirect/302/${encodeURIComponent('http://nowhere.test/x')}`],
    // A request with a body.
    ['r.test', `/redirect/302/${encodeURIComponent('http://other.test/target')}`, { 'content-type': 'text/plain' }, 'POST', 'body'],
    // SafeOnly from http: no https target.
    ['safe.test', `/redirect/302/${encodeURIComponent('https://other.test/target')}`],
  ];
  for (const [host, path, headers, method, body] of cases) {
    const r = await get(p.port(), path, { host, ...headers }, method, body);
    assert.equal(r.status, 302, `${host}${path}`);
    assert.equal(r.body, 'redirected', path);
  }
  const wrongCode = await get(p.port(), `/redirect/301/${encodeURIComponent('http://other.test/target')}`, { host: 'safe.test' });
  assert.equal(wrongCode.status, 301);
  assert.equal(wrongCode.headers.location, 'http://other.test/target');
});

test('internal redirect: Always follows another scheme; SafeOnly follows from http to http', async () => {
  const a = await get(p.port(), `/redirect/302/${encodeURIComponent('https://other.test/target/x')}`, { host: 'always.test' });
  assert.equal(a.status, 200);
  assert.equal(a.headers['x-backend'], 'other');
  const s = await get(p.port(), `/redirect/302/${encodeURIComponent('http://other.test/target/y')}`, { host: 'safe.test' });
  assert.equal(s.status, 200);
  assert.equal(other.seen.at(-1)!.url, '/target/y');
});

test('internal redirect: at most maxInternalRedirects per downstream request; denyRepeatedRouteRedirect stops a loop at once', async () => {
  const a0 = hits(app, '/loop/a');
  const b0 = hits(app, '/loop/b');
  const r = await get(p.port(), '/loop/a', H);
  // a -> b -> a -> b -> a: four redirects followed, the fifth 302 passed on.
  assert.equal(r.status, 302);
  assert.equal(hits(app, '/loop/a') - a0, 3);
  assert.equal(hits(app, '/loop/b') - b0, 2);
  // /deny/a -> /deny/b is the route reaching itself once; the redirect
  // back is the same route again: passed on.
  const d = await get(p.port(), '/deny/a', H);
  assert.equal(d.status, 302);
  assert.equal(d.headers.location, 'http://r.test/deny/a');
  assert.equal(hits(app, '/deny/a'), 1);
  assert.equal(hits(app, '/deny/b'), 1);
});
