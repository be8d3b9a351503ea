// JWT verification against real JWKS servers on 127.0.0.1 (plain and TLS,
// certificates made by the test), tokens signed with jose: every verdict
// Envoy's jwt_authn gives, and the JWKS fetch, cache, rotation and TLS rules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JwtVerifier, LocalKeys, RemoteKeys, type FetchEvent, type JwtProviderSpec, type JwtRequest, type RemoteJwksSpec } from '../../src/proxy/jwt/index.ts';
import { createCa, type Ca, type Issued } from '../support/pki.ts';
import { nowS, signingKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server.ts';

const ISSUER = 'https://issuer.test';

function remote(uri: string, over: Partial<RemoteJwksSpec> = {}): RemoteJwksSpec {
  return { kind: 'remote', uri, timeoutMs: 1000, cacheDurationMs: null, dnsLookupFamily: 'auto', minTlsVersion: '1.2', maxTlsVersion: '1.3', ...over };
}

function provider(jwks: JwtProviderSpec['jwks'], over: Partial<JwtProviderSpec> = {}): JwtProviderSpec {
  return { name: 'p', issuer: ISSUER, audiences: ['api.test'], forwardJWT: false, jwks, ...over };
}

function request(token?: string, path = '/api?x=1'): JwtRequest {
  return { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, path, scheme: 'https', authority: 'app.test' };
}

const good = () => ({ iss: ISSUER, aud: 'api.test', sub: 'alice', exp: nowS() + 600 });

/** A clock tests move by hand. */
function clock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

let ca: Ca;
let leaf: Issued;
let plain: JwksServer;
let secure: JwksServer;
let rsa: SigningKey;
let es: SigningKey;

before(async () => {
  ca = await createCa('jwks test CA');
  leaf = await ca.issue({ dnsNames: ['jwks.test'], ipAddresses: ['127.0.0.1'] });
  plain = await startJwksServer();
  secure = await startJwksServer({ certPem: leaf.certPem, keyPem: leaf.keyPem });
  rsa = await signingKey('RS256', 'rsa-1');
  es = await signingKey('ES256', 'ec-1');
  plain.serve({ keys: [rsa.jwk, es.jwk] });
  secure.serve({ keys: [rsa.jwk] });
});

after(async () => {
  await plain.close();
  await secure.close();
});

describe('verdicts', () => {
  const verifier = (over: Partial<JwtProviderSpec> = {}, keys = new RemoteKeys(remote(plain.url()))) =>
    new JwtVerifier(provider(remote(plain.url()), over), keys);

  test('a valid token passes; the token is removed before forwarding unless forwardJWT', async () => {
    const token = await signToken(rsa, good());
    assert.deepEqual(await verifier().verify(request(token)), { ok: true, forward: false, removeHeaders: ['authorization'] });
    assert.deepEqual(await verifier({ forwardJWT: true }).verify(request(token)), { ok: true, forward: true, removeHeaders: [] });
  });

  test('no token: 401 "Jwt is missing" with a bare Bearer challenge naming the request URI', async () => {
    assert.deepEqual(await verifier().verify(request()), {
      ok: false,
      status: 401,
      code: 'JwtMissed',
      body: 'Jwt is missing',
      wwwAuthenticate: 'Bearer realm="https://app.test/api?x=1"',
    });
    // An Authorization header of another scheme is no token either.
    const basic: JwtRequest = { ...request(), headers: { authorization: 'Basic YWxpY2U6cHc=' } };
    assert.equal((await verifier().verify(basic)).ok, false);
  });

  test('the realm path is cut at 256 characters, as Envoy does', async () => {
    const long = `/${'a'.repeat(300)}`;
    const v = await verifier().verify(request(undefined, long));
    assert.ok(!v.ok);
    assert.equal(v.wwwAuthenticate, `Bearer realm="https://app.test${long.slice(0, 256)}"`);
  });

  test('a bad signature: 401 "Jwt verification fails", error="invalid_token"', async () => {
    const impostor = await signingKey('RS256', 'rsa-1'); // same kid, other key
    const v = await verifier().verify(request(await signToken(impostor, good())));
    assert.deepEqual(v, {
      ok: false,
      status: 401,
      code: 'JwtVerificationFail',
      body: 'Jwt verification fails',
      wwwAuthenticate: 'Bearer realm="https://app.test/api?x=1", error="invalid_token"',
    });
  });

  test('a token altered after signing fails', async () => {
    const token = await signToken(rsa, good());
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...good(), sub: 'mallory' })).toString('base64url')}.${s}`;
    const v = await verifier().verify(request(forged));
    assert.equal(v.ok ? 'ok' : v.body, 'Jwt verification fails');
  });

  test('wrong issuer: 401 "Jwt issuer is not configured"; no issuer configured accepts any', async () => {
    const token = await signToken(rsa, { ...good(), iss: 'https://elsewhere.test' });
    const v = await verifier().verify(request(token));
    assert.ok(!v.ok);
    assert.equal(v.status, 401);
    assert.equal(v.body, 'Jwt issuer is not configured');
    assert.equal((await verifier({ issuer: '' }).verify(request(token))).ok, true);
  });

  test('wrong audience: 403 "Audiences in Jwt are not allowed" (Envoy answers 403 for this one)', async () => {
    const v = await verifier().verify(request(await signToken(rsa, { ...good(), aud: ['other.test'] })));
    assert.ok(!v.ok);
    assert.equal(v.status, 403);
    assert.equal(v.body, 'Audiences in Jwt are not allowed');
    assert.equal(v.wwwAuthenticate, 'Bearer realm="https://app.test/api?x=1", error="invalid_token"');
    // A token without aud fails when audiences are configured.
    const { aud: _, ...noAud } = good();
    assert.equal((await verifier().verify(request(await signToken(rsa, noAud)))).ok, false);
  });

  test('audiences compare without scheme prefix and trailing slash; any one of them suffices', async () => {
    const token = await signToken(rsa, { ...good(), aud: ['x.test', 'https://api.test/'] });
    assert.equal((await verifier().verify(request(token))).ok, true);
    assert.equal((await verifier({ audiences: [] }).verify(request(await signToken(rsa, { ...good(), aud: 'anything' })))).ok, true);
  });

  test('expiry and not-before with Envoy\'s 60 s of clock skew', async () => {
    const at = async (claims: Record<string, unknown>) => {
      const v = await verifier().verify(request(await signToken(rsa, { ...good(), ...claims })));
      return v.ok ? 'ok' : `${v.status} ${v.body}`;
    };
    assert.equal(await at({ exp: nowS() - 120 }), '401 Jwt is expired');
    assert.equal(await at({ exp: nowS() - 30 }), 'ok');
    assert.equal(await at({ nbf: nowS() + 120 }), '401 Jwt not yet valid');
    assert.equal(await at({ nbf: nowS() + 30 }), 'ok');
    assert.equal(await at({ exp: 'tomorrow' }), '401 Jwt payload [exp] field is not an integer');
    assert.equal(await at({ exp: -5 }), '401 Jwt payload [exp] field is not a positive 64 bit integer');
  });

  test('malformed tokens get Envoy\'s parse statuses', async () => {
    const body = async (token: string) => {
      const v = await verifier().verify(request(token));
      return v.ok ? 'ok' : v.body;
    };
    assert.equal(await body('abc'), 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    assert.equal(await body('a..b'), 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    // Envoy takes the token from the first base64url character after "Bearer ".
    assert.equal(await body('a*b.e30.c2ln'), 'Jwt header is an invalid Base64url encoded');
    const seg = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    assert.equal(await body(`${seg([1])}.${seg({})}.c2ln`), 'Jwt header is an invalid JSON');
    assert.equal(await body(`${seg({ typ: 'JWT' })}.${seg({})}.c2ln`), 'Jwt header [alg] field is required and must be a string');
    assert.equal(await body(`${seg({ alg: 'none' })}.${seg(good())}.c2ln`), 'Jwt header [alg] is not supported');
    assert.equal(await body(`${seg({ alg: 'RS256', kid: 7 })}.${seg(good())}.c2ln`), 'Jwt header [kid] field is not a string');
    assert.equal(await body(`${seg({ alg: 'RS256' })}.${seg({ ...good(), aud: [1] })}.c2ln`), 'Jwt payload [aud] field is not a string or string list');
  });

  test('an unsigned token ("alg": "none") never passes', async () => {
    const seg = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const v = await verifier().verify(request(`${seg({ alg: 'none' })}.${seg(good())}.`));
    assert.equal(v.ok, false);
  });

  test('a token from the access_token query parameter; removed from the path when not forwarded', async () => {
    const token = await signToken(rsa, good());
    const v = await verifier().verify(request(undefined, `/api?a=1&access_token=${token}&b=2`));
    assert.deepEqual(v, { ok: true, forward: false, removeHeaders: [], path: '/api?a=1&b=2' });
    const only = await verifier().verify(request(undefined, `/api?access_token=${token}`));
    assert.deepEqual(only, { ok: true, forward: false, removeHeaders: [], path: '/api' });
  });

  test('every token present must pass: a good header token with a bad query token fails', async () => {
    const token = await signToken(rsa, good());
    const v = await verifier().verify(request(token, '/api?access_token=abc'));
    assert.equal(v.ok ? 'ok' : v.body, 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
  });

  test('claims are checked before any JWKS fetch: a wrong issuer costs no request to the JWKS server', async () => {
    const server = await startJwksServer();
    try {
      const v = new JwtVerifier(provider(remote(server.url())), new RemoteKeys(remote(server.url())));
      await v.verify(request(await signToken(rsa, { ...good(), iss: 'nope' })));
      await v.verify(request());
      assert.equal(server.requests, 0);
    } finally {
      await server.close();
    }
  });
});

describe('algorithms', () => {
  const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

  test('every asymmetric alg Envoy implements verifies, with and without alg on the JWK', async () => {
    const keys = await Promise.all(ALGS.map((alg, i) => signingKey(alg, `k${i}`, { withAlg: i % 2 === 0 })));
    const spec = provider({ kind: 'local', json: JSON.stringify({ keys: keys.map((k) => k.jwk) }) });
    const v = new JwtVerifier(spec, new LocalKeys({ kind: 'local', json: JSON.stringify({ keys: keys.map((k) => k.jwk) }) }));
    for (const k of keys) {
      const verdict = await v.verify(request(await signToken(k, good())));
      assert.equal(verdict.ok ? 'ok' : verdict.body, 'ok', k.alg);
    }
  });

  test('HS256/384/512 verify against an oct key in the JWKS (Envoy accepts symmetric keys from any JWKS)', async () => {
    const secret = Buffer.from('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
    const jwks = JSON.stringify({ keys: [{ kty: 'oct', kid: 'h', k: secret.toString('base64url') }] });
    const v = new JwtVerifier(provider({ kind: 'local', json: jwks }), new LocalKeys({ kind: 'local', json: jwks }));
    const { SignJWT } = await import('jose');
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = await new SignJWT(good()).setProtectedHeader({ alg, kid: 'h' }).sign(secret);
      const verdict = await v.verify(request(token));
      assert.equal(verdict.ok ? 'ok' : verdict.body, 'ok', alg);
    }
  });

  test('an HS256 token cannot pass on an RSA key (no alg confusion)', async () => {
    const { SignJWT, exportSPKI, importJWK } = await import('jose');
    const pem = await exportSPKI((await importJWK(rsa.jwk, 'RS256')) as CryptoKey);
    const noAlg = { ...rsa.jwk };
    delete noAlg.alg;
    for (const jwk of [rsa.jwk, noAlg]) {
      const json = JSON.stringify({ keys: [jwk] });
      const v = new JwtVerifier(provider({ kind: 'local', json }), new LocalKeys({ kind: 'local', json }));
      const token = await new SignJWT(good()).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(Buffer.from(pem));
      const verdict = await v.verify(request(token));
      assert.equal(verdict.ok, false);
      assert.equal(verdict.ok ? '' : verdict.body, jwk.alg ? "Jwks doesn't have key to match kid or alg from Jwt" : 'Jwt verification fails');
    }
  });

  test('a local JWKS without a usable key fails every token', async () => {
    const json = JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB' }] });
    const v = new JwtVerifier(provider({ kind: 'local', json }), new LocalKeys({ kind: 'local', json }));
    const verdict = await v.verify(request(await signToken(rsa, good())));
    assert.equal(verdict.ok ? 'ok' : verdict.body, "Jwks doesn't have any valid public key");
  });
});

describe('remote JWKS', () => {
  test('fetched once and cached for cacheDuration; then fetched again', async () => {
    const server = await startJwksServer();
    server.serve({ keys: [rsa.jwk] });
    const c = clock();
    try {
      const keys = new RemoteKeys(remote(server.url(), { cacheDurationMs: 60_000 }), { now: c.now });
      const v = new JwtVerifier(provider(remote(server.url())), keys, { now: c.now });
      const token = await signToken(rsa, good());
      assert.equal((await v.verify(request(token))).ok, true);
      assert.equal((await v.verify(request(token))).ok, true);
      assert.equal(server.requests, 1);
      c.advance(61_000);
      assert.equal((await v.verify(request(token))).ok, true);
      assert.equal(server.requests, 2);
    } finally {
      await server.close();
    }
  });

  test("without cacheDuration, Envoy's 10 minutes", async () => {
    const server = await startJwksServer();
    server.serve({ keys: [rsa.jwk] });
    const c = clock();
    try {
      const v = new JwtVerifier(provider(remote(server.url())), new RemoteKeys(remote(server.url()), { now: c.now }), { now: c.now });
      const token = await signToken(rsa, good());
      await v.verify(request(token));
      c.advance(599_000);
      await v.verify(request(token));
      assert.equal(server.requests, 1);
      c.advance(2_000);
      await v.verify(request(token));
      assert.equal(server.requests, 2);
    } finally {
      await server.close();
    }
  });

  test('concurrent requests share one fetch', async () => {
    const server = await startJwksServer();
    server.serve({ keys: [rsa.jwk] });
    server.delayMs = 100;
    try {
      const v = new JwtVerifier(provider(remote(server.url())), new RemoteKeys(remote(server.url())));
      const token = await signToken(rsa, good());
      const verdicts = await Promise.all(Array.from({ length: 10 }, () => v.verify(request(token))));
      assert.ok(verdicts.every((x) => x.ok));
      assert.equal(server.requests, 1);
    } finally {
      await server.close();
    }
  });

  test('an unknown kid refetches the JWKS (key rotation), at most once per interval', async () => {
    const server = await startJwksServer();
    server.serve({ keys: [rsa.jwk] });
    const c = clock();
    const events: FetchEvent[] = [];
    try {
      const keys = new RemoteKeys(remote(server.url()), { now: c.now, kidRefetchIntervalMs: 30_000, onFetch: (e) => events.push(e) });
      const v = new JwtVerifier(provider(remote(server.url())), keys, { now: c.now });
      assert.equal((await v.verify(request(await signToken(rsa, good())))).ok, true);
      // The issuer rotates to a new key.
      const next = await signingKey('RS256', 'rsa-2');
      server.serve({ keys: [rsa.jwk, next.jwk] });
      assert.equal((await v.verify(request(await signToken(next, good())))).ok, true);
      assert.equal(server.requests, 2);
      assert.deepEqual(events.map((e) => `${e.trigger}:${e.ok}`), ['missing:true', 'kid:true']);
      // Another unknown kid right after: no new fetch, the token fails.
      const stranger = await signingKey('RS256', 'rsa-3');
      const denied = await v.verify(request(await signToken(stranger, good())));
      assert.equal(denied.ok ? 'ok' : denied.body, "Jwks doesn't have key to match kid or alg from Jwt");
      assert.equal(server.requests, 2);
      // Once the interval has passed, an unknown kid may refetch again.
      server.serve({ keys: [rsa.jwk, next.jwk, stranger.jwk] });
      c.advance(31_000);
      assert.equal((await v.verify(request(await signToken(stranger, good())))).ok, true);
      assert.equal(server.requests, 3);
      // A known kid with a bad signature never triggers a fetch.
      const impostor = await signingKey('RS256', 'rsa-2');
      c.advance(31_000);
      await v.verify(request(await signToken(impostor, good())));
      assert.equal(server.requests, 3);
    } finally {
      await server.close();
    }
  });

  test('a JWKS that cannot be fetched means 401, never a pass: down, 500, not JSON, no usable key', async () => {
    const token = await signToken(rsa, good());
    const server = await startJwksServer();
    try {
      const body = async (uri: string) => {
        const v = await new JwtVerifier(provider(remote(uri)), new RemoteKeys(remote(uri))).verify(request(token));
        return v.ok ? 'ok' : `${v.status} ${v.body}`;
      };
      server.status = 500;
      assert.equal(await body(server.url()), '401 Jwks remote fetch is failed');
      server.status = 200;
      server.serve('not json');
      assert.equal(await body(server.url()), '401 Jwks remote fetch is failed');
      server.serve({ keys: [{ kty: 'RSA' }] });
      assert.equal(await body(server.url()), '401 Jwks remote fetch is failed');
      server.serve('');
      assert.equal(await body(server.url()), '401 Jwks remote fetch is failed');
      const url = server.url();
      await server.close();
      assert.equal(await body(url), '401 Jwks remote fetch is failed');
    } finally {
      await server.close().catch(() => {});
    }
  });

  test('expired keys are not used when the refetch fails', async () => {
    const server = await startJwksServer();
    server.serve({ keys: [rsa.jwk] });
    const c = clock();
    try {
      const keys = new RemoteKeys(remote(server.url(), { cacheDurationMs: 1_000 }), { now: c.now });
      const v = new JwtVerifier(provider(remote(server.url())), keys, { now: c.now });
      const token = await signToken(rsa, good());
      assert.equal((await v.verify(request(token))).ok, true);
      server.status = 503;
      c.advance(2_000);
      const denied = await v.verify(request(token));
      assert.equal(denied.ok ? 'ok' : denied.body, 'Jwks remote fetch is failed');
      // The server recovers: the next request fetches and passes.
      server.status = 200;
      assert.equal((await v.verify(request(token))).ok, true);
    } finally {
      await server.close();
    }
  });

  test('a fetch that takes longer than the timeout fails in time', async () => {
    const server = await startJwksServer();
    server.serve({ keys: [rsa.jwk] });
    server.delayMs = 5_000;
    try {
      const spec = remote(server.url(), { timeoutMs: 200 });
      const v = new JwtVerifier(provider(spec), new RemoteKeys(spec));
      const started = performance.now();
      const denied = await v.verify(request(await signToken(rsa, good())));
      const took = performance.now() - started;
      assert.equal(denied.ok ? 'ok' : denied.body, 'Jwks remote fetch is failed');
      assert.ok(took >= 190 && took < 2_000, `took ${took} ms`);
    } finally {
      await server.close();
    }
  });

  describe('over TLS', () => {
    const verdict = async (spec: RemoteJwksSpec) => {
      const v = await new JwtVerifier(provider(spec), new RemoteKeys(spec)).verify(request(await signToken(rsa, good())));
      return v.ok ? 'ok' : v.body;
    };

    test('validated against the CA and subject name when given', async () => {
      assert.equal(await verdict(remote(secure.url(), { validation: { caPem: ca.certPem, subjectNames: ['jwks.test'] } })), 'ok');
    });

    test('a certificate from another CA fails the fetch', async () => {
      const other = await createCa('another CA');
      assert.equal(await verdict(remote(secure.url(), { validation: { caPem: other.certPem, subjectNames: ['jwks.test'] } })), 'Jwks remote fetch is failed');
    });

    test('a certificate for another name fails the fetch', async () => {
      assert.equal(await verdict(remote(secure.url(), { validation: { caPem: ca.certPem, subjectNames: ['other.test'] } })), 'Jwks remote fetch is failed');
    });

    test('without validation the certificate is not checked (Contour\'s default)', async () => {
      assert.equal(await verdict(remote(secure.url())), 'ok');
    });

    test('the upstream TLS versions apply: a server without TLS 1.3 fails a 1.3-only fetch', async () => {
      const tls12 = await startJwksServer({ certPem: leaf.certPem, keyPem: leaf.keyPem, maxVersion: 'TLSv1.2' });
      tls12.serve({ keys: [rsa.jwk] });
      try {
        assert.equal(await verdict(remote(tls12.url(), { maxTlsVersion: '1.2' })), 'ok');
        assert.equal(await verdict(remote(tls12.url(), { minTlsVersion: '1.3' })), 'Jwks remote fetch is failed');
      } finally {
        await tls12.close();
      }
    });
  });

  test('dnsLookupFamily: v4 and v6 resolve only their family; auto falls back from IPv6 to IPv4', async () => {
    const dns = await import('node:dns/promises');
    const hasV6Localhost = await dns.lookup('localhost', { family: 6 }).then(() => true, () => false);
    // The server listens on 127.0.0.1 only: an IPv6 address never reaches it.
    const at = (family: RemoteJwksSpec['dnsLookupFamily']) => remote(plain.url('/jwks.json', 'localhost'), { dnsLookupFamily: family });
    const verdict = async (spec: RemoteJwksSpec) => {
      const v = await new JwtVerifier(provider(spec), new RemoteKeys(spec)).verify(request(await signToken(rsa, good())));
      return v.ok ? 'ok' : v.body;
    };
    assert.equal(await verdict(at('v4')), 'ok');
    assert.equal(await verdict(at('v6')), 'Jwks remote fetch is failed');
    assert.equal(await verdict(at('auto')), hasV6Localhost ? 'Jwks remote fetch is failed' : 'ok');
  });
});

describe('key store across config swaps', () => {
  test('unchanged JWKS settings keep their cached keys; changed ones fetch again; providers sharing a JWKS share one source', async () => {
    const { JwtKeyStore } = await import('../../src/proxy/jwt/index.ts');
    const server = await startJwksServer();
    server.serve({ keys: [rsa.jwk] });
    try {
      const store = new JwtKeyStore();
      const a = provider(remote(server.url()), { name: 'a' });
      const b = provider(remote(server.url()), { name: 'b', issuer: '' });
      const token = await signToken(rsa, good());
      const [first] = store.apply([[a, b]]);
      assert.equal((await first!.get('a')!.verify(request(token))).ok, true);
      assert.equal((await first!.get('b')!.verify(request(token))).ok, true);
      assert.equal(server.requests, 1);
      assert.equal(store.size, 1);
      // The same providers again (a reload): no new fetch.
      const [second] = store.apply([[{ ...a }], [{ ...b }]]);
      assert.equal((await second!.get('a')!.verify(request(token))).ok, true);
      assert.equal(server.requests, 1);
      // A changed cache duration is another source.
      const [third] = store.apply([[provider(remote(server.url(), { cacheDurationMs: 1000 }), { name: 'a' })]]);
      assert.equal((await third!.get('a')!.verify(request(token))).ok, true);
      assert.equal(server.requests, 2);
      assert.equal(store.size, 1);
    } finally {
      await server.close();
    }
  });
});

describe('resolving ProxyConfig providers', () => {
  test('the validation CA comes from the config\'s bundles; a missing bundle leaves the provider without keys', async () => {
    const { resolveProvider } = await import('../../src/proxy/jwt/index.ts');
    const p = {
      name: 'p',
      issuer: ISSUER,
      audiences: ['api.test'],
      forwardJWT: false,
      jwks: { ...remote(secure.url()), validation: { caBundleId: 'default/ca', subjectNames: ['jwks.test'] } },
    };
    const resolved = resolveProvider(p, (id) => (id === 'default/ca' ? ca.certPem : undefined));
    assert.deepEqual(resolved.jwks, { ...remote(secure.url()), validation: { caPem: ca.certPem, subjectNames: ['jwks.test'] } });
    const verdict = async (spec: JwtProviderSpec) => {
      const keys = spec.jwks.kind === 'remote' ? new RemoteKeys(spec.jwks) : new LocalKeys(spec.jwks);
      const v = await new JwtVerifier(spec, keys).verify(request(await signToken(rsa, good())));
      return v.ok ? 'ok' : v.body;
    };
    assert.equal(await verdict(resolved), 'ok');
    const orphan = resolveProvider(p, () => undefined);
    assert.equal(await verdict(orphan), "Jwks doesn't have any valid public key");
  });
});
