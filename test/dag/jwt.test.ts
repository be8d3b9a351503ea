// The JWT reader of the DAG, called directly: one row per validation of
// Contour's computeHTTPProxy / computeRoutes for jwtProviders and
// jwtVerificationPolicy, each with the exact condition it writes, and rows
// for what a valid provider becomes in the proxy's config.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { CacheView } from '../../src/dag/cache-view.ts';
import { Condition } from '../../src/dag/status.ts';
import {
  checkRouteProviders,
  jwtProvidersNeedTls,
  readJwtProviderList,
  readJwtProviders,
  readJwtVerificationPolicy,
  routeJwtProvider,
  type JwtEnv,
  type JwtProviders,
} from '../../src/dag/jwt.ts';
import { goJsonSyntaxError } from '../../src/dag/go-json.ts';
import { parseGoUrl } from '../../src/dag/go-url.ts';
import type { AnyObject } from '../../src/objects/types.ts';
import { caSecret, delegation, secret, snapshot, type Err } from './fixtures.ts';

const T = 'JWTVerificationError';
let CA = '';

function env(objects: AnyObject[]): JwtEnv {
  const view = new CacheView(snapshot(objects));
  return {
    secrets: view,
    upstreamTls: { minimumProtocolVersion: '1.2', maximumProtocolVersion: '1.3' },
    dnsLookupFamily: 'auto',
  };
}

function read(providers: unknown[], objects: AnyObject[] = []): { result: JwtProviders | null; errors: Err[] } {
  const cond = new Condition();
  const result = readJwtProviders(env(objects), cond, 'default', readJwtProviderList(providers));
  return { result, errors: cond.errors.map((e) => [e.type, e.reason, e.message]) };
}

const remote = (over: Record<string, unknown> = {}) => ({ uri: 'https://idp.test/jwks.json', ...over });

interface Row {
  name: string;
  providers: unknown[];
  objects?: () => AnyObject[];
  error: Err;
}

before(async () => {
  CA = (await createCa('jwks CA')).certPem;
});

describe('jwtProviders: every Contour validation, in order', () => {
  const rows: Row[] = [
    {
      name: 'duplicate provider names',
      providers: [{ name: 'a', remoteJWKS: remote() }, { name: 'a', remoteJWKS: remote() }],
      error: [T, 'DuplicateProviderName', 'Spec.VirtualHost.JWTProviders is invalid: duplicate name a'],
    },
    {
      name: 'more than one default',
      providers: [{ name: 'a', default: true, remoteJWKS: remote() }, { name: 'b', default: true, remoteJWKS: remote() }],
      error: [T, 'MultipleDefaultProvidersSpecified', 'Spec.VirtualHost.JWTProviders is invalid: at most one provider can be set as the default'],
    },
    {
      name: 'both remoteJWKS and localJWKS',
      providers: [{ name: 'a', remoteJWKS: remote(), localJWKS: { secretName: 'jwks', key: 'jwks.json' } }],
      error: [T, 'JWKSSourceConflict', 'Spec.VirtualHost.JWTProviders for provider "a" is invalid: at most one of remoteJWKS or localJWKS may be set'],
    },
    {
      name: 'neither remoteJWKS nor localJWKS',
      providers: [{ name: 'a', issuer: 'x' }],
      error: [T, 'JWKSSourceMissing', 'Spec.VirtualHost.JWTProviders for provider "a" is invalid: exactly one of remoteJWKS or localJWKS must be set'],
    },
    {
      name: 'localJWKS: Secret not found',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'jwks.json' } }],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: Secret not found'],
    },
    {
      name: 'localJWKS: the Secret is not Opaque',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'jwks.json' } }],
      objects: () => [secret('jwks', { 'jwks.json': '{"keys":[]}' }, 'kubernetes.io/tls')],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: secret type is not "Opaque"'],
    },
    {
      name: 'localJWKS: the key is missing',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'jwks.json' } }],
      objects: () => [secret('jwks', { other: '{}' })],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: missing "jwks.json" key or empty value'],
    },
    {
      name: 'localJWKS: only whitespace',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'k' } }],
      objects: () => [secret('jwks', { k: ' \n ' })],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: empty JWKS'],
    },
    {
      name: 'localJWKS: not JSON (Go\'s encoding/json text)',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'k' } }],
      objects: () => [secret('jwks', { k: '{"keys": [}' })],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: not valid JSON: invalid character \'}\' looking for beginning of value'],
    },
    {
      name: 'localJWKS: not an object',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'k' } }],
      objects: () => [secret('jwks', { k: '[1]' })],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: JWKS must be a JSON object'],
    },
    {
      name: 'localJWKS: no "keys"',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'k' } }],
      objects: () => [secret('jwks', { k: '{"kty":"RSA"}' })],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: JWKS must contain a "keys" array'],
    },
    {
      name: 'localJWKS: "keys" is not an array',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'k' } }],
      objects: () => [secret('jwks', { k: '{"keys":{}}' })],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: JWKS "keys" must be an array'],
    },
    {
      name: 'localJWKS: the Secret must be in the proxy\'s namespace',
      providers: [{ name: 'a', localJWKS: { secretName: 'jwks', key: 'k' } }],
      objects: () => [secret('jwks', { k: '{"keys":[]}' }, 'Opaque', 'other')],
      error: [T, 'LocalJWKSInvalid', 'Spec.VirtualHost.JWTProviders.LocalJWKS for provider "a" is invalid: Secret not found'],
    },
    {
      name: 'remoteJWKS: a URI Go cannot parse',
      providers: [{ name: 'a', remoteJWKS: remote({ uri: 'https://[::1/jwks' }) }],
      error: [T, 'RemoteJWKSURIInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.URI is invalid: parse "https://[::1/jwks": missing \']\' in host'],
    },
    {
      name: 'remoteJWKS: a port that is not a number',
      providers: [{ name: 'a', remoteJWKS: remote({ uri: 'https://idp.test:https/jwks' }) }],
      error: [T, 'RemoteJWKSURIInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.URI is invalid: parse "https://idp.test:https/jwks": invalid port ":https" after host'],
    },
    {
      name: 'remoteJWKS: a scheme other than http or https',
      providers: [{ name: 'a', remoteJWKS: remote({ uri: 'ftp://idp.test/jwks' }) }],
      error: [T, 'RemoteJWKSSchemeInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.URI has invalid scheme "ftp", must be http or https'],
    },
    {
      name: 'remoteJWKS: no scheme at all',
      providers: [{ name: 'a', remoteJWKS: remote({ uri: 'idp.test/jwks' }) }],
      error: [T, 'RemoteJWKSSchemeInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.URI has invalid scheme "", must be http or https'],
    },
    {
      name: 'remoteJWKS: validation with an http URI',
      providers: [{ name: 'a', remoteJWKS: remote({ uri: 'http://idp.test/jwks', validation: { caSecret: 'ca', subjectName: 'idp.test' } }) }],
      error: [T, 'RemoteJWKSUpstreamValidationInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation must not be specified when URI scheme is http.'],
    },
    {
      name: 'remoteJWKS: a CA Secret in another namespace without delegation',
      providers: [{ name: 'a', remoteJWKS: remote({ validation: { caSecret: 'certs/ca', subjectName: 'idp.test' } }) }],
      objects: () => [caSecret('ca', CA, 'certs')],
      error: [
        T,
        'RemoteJWKSCACertificateNotDelegated',
        'Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation.CACertificate Secret "certs/ca" is not configured for certificate delegation',
      ],
    },
    {
      name: 'remoteJWKS: the CA Secret does not exist',
      providers: [{ name: 'a', remoteJWKS: remote({ validation: { caSecret: 'ca', subjectName: 'idp.test' } }) }],
      error: [T, 'RemoteJWKSUpstreamValidationInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation is invalid: invalid CA Secret "default/ca": Secret not found'],
    },
    {
      name: 'remoteJWKS: the CA Secret has no ca.crt',
      providers: [{ name: 'a', remoteJWKS: remote({ validation: { caSecret: 'ca', subjectName: 'idp.test' } }) }],
      objects: () => [secret('ca', { 'tls.crt': 'x' })],
      error: [T, 'RemoteJWKSUpstreamValidationInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation is invalid: invalid CA Secret "default/ca": empty "ca.crt" key'],
    },
    {
      name: 'remoteJWKS: validation without a subject name',
      providers: [{ name: 'a', remoteJWKS: remote({ validation: { caSecret: 'ca' } }) }],
      objects: () => [caSecret('ca', CA)],
      error: [T, 'RemoteJWKSUpstreamValidationInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation is invalid: missing subject alternative name'],
    },
    {
      name: 'remoteJWKS: subjectNames[0] differs from subjectName',
      providers: [{ name: 'a', remoteJWKS: remote({ validation: { caSecret: 'ca', subjectName: 'idp.test', subjectNames: ['x.test', 'idp.test'] } }) }],
      objects: () => [caSecret('ca', CA)],
      error: [
        T,
        'RemoteJWKSUpstreamValidationInvalid',
        'Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation is invalid: first entry of SubjectNames (x.test) does not match SubjectName (idp.test)',
      ],
    },
    {
      name: 'remoteJWKS: a timeout Go cannot parse',
      providers: [{ name: 'a', remoteJWKS: remote({ timeout: '1 minute' }) }],
      error: [T, 'RemoteJWKSTimeoutInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.Timeout is invalid: time: unknown unit " minute" in duration "1 minute"'],
    },
    {
      name: 'remoteJWKS: a cache duration Go cannot parse',
      providers: [{ name: 'a', remoteJWKS: remote({ cacheDuration: '5' }) }],
      error: [T, 'RemoteJWKSCacheDurationInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.CacheDuration is invalid: time: missing unit in duration "5"'],
    },
    {
      name: 'remoteJWKS: a port beyond what strconv.Atoi reads',
      providers: [{ name: 'a', remoteJWKS: remote({ uri: 'https://idp.test:99999999999999999999/jwks' }) }],
      error: [T, 'RemoteJWKSPortInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.URI has an invalid port: strconv.Atoi: parsing "99999999999999999999": value out of range'],
    },
    {
      name: 'remoteJWKS: an unknown DNS lookup family',
      providers: [{ name: 'a', remoteJWKS: remote({ dnsLookupFamily: 'v5' }) }],
      error: [T, 'RemoteJWKSDNSLookupFamilyInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.DNSLookupFamily has an invalid value "v5", must be auto, all, v4 or v6'],
    },
    {
      name: 'the first error stops the reading: a bad second provider after a good first',
      providers: [{ name: 'a', remoteJWKS: remote() }, { name: 'b', remoteJWKS: remote({ uri: 'gopher://x' }) }],
      error: [T, 'RemoteJWKSSchemeInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.URI has invalid scheme "gopher", must be http or https'],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const { result, errors } = read(row.providers, row.objects?.() ?? []);
      assert.equal(result, null);
      assert.deepEqual(errors, [row.error]);
    });
  }
});

describe('jwtProviders: what valid providers become', () => {
  test('a remote provider with every field', () => {
    const { result, errors } = read(
      [
        {
          name: 'idp',
          default: true,
          issuer: 'https://idp.test',
          audiences: ['a', 'b'],
          forwardJWT: true,
          remoteJWKS: { uri: 'https://idp.test:8443/jwks.json', timeout: '250ms', cacheDuration: '5m', dnsLookupFamily: 'v4', validation: { caSecret: 'certs/ca', subjectName: 'idp.test' } },
        },
      ],
      [caSecret('ca', CA, 'certs'), delegation('d', 'certs', [{ secretName: 'ca', targetNamespaces: ['default'] }])],
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(result, {
      defaultProvider: 'idp',
      providers: [
        {
          name: 'idp',
          issuer: 'https://idp.test',
          audiences: ['a', 'b'],
          forwardJWT: true,
          jwks: {
            kind: 'remote',
            uri: 'https://idp.test:8443/jwks.json',
            timeoutMs: 250,
            cacheDurationMs: 300_000,
            dnsLookupFamily: 'v4',
            validation: { caBundleId: 'certs/ca', subjectNames: ['idp.test'] },
            minTlsVersion: '1.2',
            maxTlsVersion: '1.3',
          },
        },
      ],
      caBundles: [{ id: 'certs/ca', caPem: CA }],
    });
  });

  test('defaults: 1 s timeout, Envoy\'s cache duration (null), the configured DNS family, no validation', () => {
    const { result } = read([{ name: 'idp', remoteJWKS: { uri: 'http://idp.test/jwks' } }]);
    assert.deepEqual(result?.providers[0], {
      name: 'idp',
      issuer: '',
      audiences: [],
      forwardJWT: false,
      jwks: { kind: 'remote', uri: 'http://idp.test/jwks', timeoutMs: 1000, cacheDurationMs: null, dnsLookupFamily: 'auto', minTlsVersion: '1.2', maxTlsVersion: '1.3' },
    });
    assert.equal(result?.defaultProvider, '');
  });

  test('subjectNames, when given, are the names to match', () => {
    const { result } = read(
      [{ name: 'idp', remoteJWKS: remote({ validation: { caSecret: 'ca', subjectName: 'idp.test', subjectNames: ['idp.test', 'idp2.test'] } }) }],
      [caSecret('ca', CA)],
    );
    assert.deepEqual(result?.providers[0]?.jwks.kind === 'remote' && result.providers[0].jwks.validation?.subjectNames, ['idp.test', 'idp2.test']);
  });

  test('a local provider carries the JWKS inline', () => {
    const json = '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}';
    const { result, errors } = read([{ name: 'local', localJWKS: { secretName: 'jwks', key: 'jwks.json' } }], [secret('jwks', { 'jwks.json': `\n${json}\n` })]);
    assert.deepEqual(errors, []);
    assert.deepEqual(result?.providers[0]?.jwks, { kind: 'local', json });
  });

  test('no providers: nothing to verify', () => {
    assert.deepEqual(read([]), { result: { providers: [], defaultProvider: '', caBundles: [] }, errors: [] });
  });

  test('JWT providers need a virtual host that terminates TLS', () => {
    const x = [{ name: 'x' }];
    assert.equal(jwtProvidersNeedTls({ jwtProviders: x, tls: null }), true);
    assert.equal(jwtProvidersNeedTls({ jwtProviders: x, tls: { secretName: '' } }), true);
    assert.equal(jwtProvidersNeedTls({ jwtProviders: x, tls: { secretName: 's' } }), false);
    assert.equal(jwtProvidersNeedTls({ jwtProviders: [], tls: null }), false);
  });
});

describe('jwtVerificationPolicy on routes', () => {
  const rows: { name: string; policy: unknown; dflt: string; want: string | null; error?: Err }[] = [
    { name: 'no policy: the default provider', policy: undefined, dflt: 'idp', want: 'idp' },
    { name: 'no policy, no default: none', policy: undefined, dflt: '', want: '' },
    { name: 'require overrides the default', policy: { require: 'other' }, dflt: 'idp', want: 'other' },
    { name: 'disabled opts out of the default', policy: { disabled: true }, dflt: 'idp', want: '' },
    { name: 'an empty policy: the default', policy: {}, dflt: 'idp', want: 'idp' },
    {
      name: 'require and disabled together',
      policy: { require: 'idp', disabled: true },
      dflt: '',
      want: null,
      error: [T, 'InvalidJWTVerificationPolicy', "route's JWT verification policy cannot specify both require and disabled"],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const cond = new Condition();
      assert.equal(routeJwtProvider(cond, readJwtVerificationPolicy(row.policy), row.dflt), row.want);
      assert.deepEqual(cond.errors.map((e) => [e.type, e.reason, e.message]), row.error ? [row.error] : []);
    });
  }

  test('a route requiring a provider the virtual host does not define', () => {
    const { result } = read([{ name: 'idp', remoteJWKS: remote() }]);
    const cond = new Condition();
    const routes = (...names: string[]) => names.map((n) => (n === '' ? {} : { jwt: { provider: n } }));
    assert.equal(checkRouteProviders(cond, result!.providers, routes('idp', '', 'missing')), false);
    assert.deepEqual(cond.errors.map((e) => [e.type, e.reason, e.message]), [[T, 'JWTProviderNotDefined', 'Route references an undefined JWT provider "missing"']]);
    assert.equal(checkRouteProviders(new Condition(), result!.providers, routes('idp', '')), true);
    // No providers at all (a virtual host without TLS): any requirement is undefined.
    const none = new Condition();
    assert.equal(checkRouteProviders(none, [], routes('idp')), false);
    assert.equal(none.errors[0]?.message, 'Route references an undefined JWT provider "idp"');
  });
});

describe('Go parsers the messages quote', () => {
  test('url.Parse errors', () => {
    const err = (u: string) => {
      const r = parseGoUrl(u);
      return r.ok ? `ok ${r.scheme} ${r.hostname} ${r.port}` : r.error;
    };
    assert.equal(err('https://idp.test:8443/a?b#c'), 'ok https idp.test 8443');
    assert.equal(err('HTTPS://[::1]:443/x'), 'ok https ::1 443');
    assert.equal(err('http://idp.test\x00/'), 'parse "http://idp.test\\x00/": net/url: invalid control character in URL');
    assert.equal(err('://x'), 'parse "://x": missing protocol scheme');
    assert.equal(err('a:b/c'), 'ok a  ');
    assert.equal(err('1a:b'), 'parse "1a:b": first path segment in URL cannot contain colon');
    assert.equal(err('https://id p.test/'), 'parse "https://id p.test/": invalid character " " in host name');
    assert.equal(err('https://idp.test/%zz'), 'parse "https://idp.test/%zz": invalid URL escape "%zz"');
    assert.equal(err('https://idp.test/#%x'), 'parse "https://idp.test/#%x": invalid URL escape "%x"');
    assert.equal(err('https://u{ser@idp.test/'), 'parse "https://u{ser@idp.test/": net/url: invalid userinfo');
  });

  test('encoding/json syntax errors', () => {
    assert.equal(goJsonSyntaxError('{"keys":[]}'), null);
    assert.equal(goJsonSyntaxError('{"keys":'), 'unexpected end of JSON input');
    assert.equal(goJsonSyntaxError('x'), "invalid character 'x' looking for beginning of value");
    assert.equal(goJsonSyntaxError('{"a" 1}'), "invalid character '1' after object key");
    assert.equal(goJsonSyntaxError('{"a":1 "b":2}'), 'invalid character \'"\' after object key:value pair');
    assert.equal(goJsonSyntaxError('[1 2]'), "invalid character '2' after array element");
    assert.equal(goJsonSyntaxError('{1:2}'), "invalid character '1' looking for beginning of object key string");
    assert.equal(goJsonSyntaxError('{} x'), "invalid character 'x' after top-level value");
    assert.equal(goJsonSyntaxError('tru'), 'unexpected end of JSON input');
    assert.equal(goJsonSyntaxError('trap'), "invalid character 'a' in literal true (expecting 'u')");
    assert.equal(goJsonSyntaxError('"a\\q"'), "invalid character 'q' in string escape code");
    assert.equal(goJsonSyntaxError('"a\nb"'), "invalid character '\\n' in string literal");
    assert.equal(goJsonSyntaxError('-x'), "invalid character 'x' in numeric literal");
    assert.equal(goJsonSyntaxError('1.x'), "invalid character 'x' after decimal point in numeric literal");
    assert.equal(goJsonSyntaxError('1ex'), "invalid character 'x' in exponent of numeric literal");
    assert.equal(goJsonSyntaxError('01'), "invalid character '1' after top-level value");
  });
});

describe('through the HTTPProxy processor', () => {
  // Imported here so the rows above stay about the reader alone.
  const load = () => import('./fixtures.ts');
  const FQDN = 'app.example.com';
  let certPem = '';
  let keyPem = '';
  before(async () => {
    const ca = await createCa('vhost CA');
    ({ certPem, keyPem } = await ca.issue({ dnsNames: [FQDN] }));
  });
  const idp = { name: 'idp', default: true, issuer: 'https://idp.test', remoteJWKS: { uri: 'https://idp.test/jwks.json' } };

  function rootOf(spec: Record<string, unknown>) {
    const { virtualhost, ...rest } = spec;
    return { virtualhost: { fqdn: FQDN, tls: { secretName: 'tls' }, ...(virtualhost as object) }, ...rest };
  }

  async function build(spec: Record<string, unknown>, extra: AnyObject[] = []) {
    const f = await load();
    const objs: AnyObject[] = [f.proxy('root', rootOf(spec) as never), f.tlsSecret('tls', { certPem, keyPem }), f.service('s'), f.endpoints('s', ['10.0.0.1'], 80), ...extra];
    return { f, result: f.run(objs) };
  }

  test('the default provider applies to every route, included ones too; disabled opts out; both listeners carry the providers', async () => {
    const { f, result } = await build(
      {
        virtualhost: { jwtProviders: [idp, { name: 'other', remoteJWKS: { uri: 'http://other.test/jwks' } }] },
        routes: [
          { conditions: [{ prefix: '/' }], services: [{ name: 's', port: 80 }] },
          { conditions: [{ prefix: '/public' }], services: [{ name: 's', port: 80 }], jwtVerificationPolicy: { disabled: true } },
          { conditions: [{ prefix: '/admin' }], services: [{ name: 's', port: 80 }], permitInsecure: true, jwtVerificationPolicy: { require: 'other' } },
        ],
        includes: [{ name: 'child', conditions: [{ prefix: '/blog' }] }],
      },
      [(await load()).proxy('child', { routes: [{ services: [{ name: 's', port: 80 }] }] })],
    );
    f.assertStatuses(result, { root: f.VALID, child: f.VALID });
    const secure = f.vhost(result, FQDN, true)!;
    const plain = f.vhost(result, FQDN)!;
    assert.deepEqual(secure.jwt?.providers.map((p) => p.name), ['idp', 'other']);
    assert.deepEqual(plain.jwt, secure.jwt);
    const required = (v: typeof secure) => Object.fromEntries(v.routes.map((r) => [r.path.value, r.jwt?.provider ?? '-']));
    assert.deepEqual(required(secure), { '/admin': 'other', '/blog': 'idp', '/public': '-', '/': 'idp' });
  });

  test('a validation CA Secret reaches ProxyConfig.caBundles, referenced by id', async () => {
    const ca = (await createCa('idp CA')).certPem;
    const f = await load();
    const { result } = await build(
      {
        virtualhost: { jwtProviders: [{ ...idp, remoteJWKS: { uri: 'https://idp.test/jwks.json', validation: { caSecret: 'idp-ca', subjectName: 'idp.test' } } }] },
        routes: [{ services: [{ name: 's', port: 80 }] }],
      },
      [f.caSecret('idp-ca', ca)],
    );
    f.assertStatuses(result, { root: f.VALID });
    const p = f.vhost(result, FQDN, true)!.jwt!.providers[0]!;
    assert.deepEqual(p.jwks.kind === 'remote' && p.jwks.validation, { caBundleId: 'default/idp-ca', subjectNames: ['idp.test'] });
    assert.deepEqual(result.proxyConfig.caBundles.find((b) => b.id === 'default/idp-ca')?.caPem, ca);
  });

  const rows: { name: string; spec: Record<string, unknown>; child?: Record<string, unknown>; expect: Record<string, (f: Awaited<ReturnType<typeof load>>) => unknown> }[] = [
    {
      name: 'a route requiring an undefined provider makes the root invalid and serves nothing',
      spec: { virtualhost: { jwtProviders: [idp] }, routes: [{ services: [{ name: 's', port: 80 }], jwtVerificationPolicy: { require: 'nope' } }] },
      expect: { root: (f) => f.invalidSame([T, 'JWTProviderNotDefined', 'Route references an undefined JWT provider "nope"']) },
    },
    {
      name: 'an included route requiring an undefined provider: the error is on the root',
      spec: { virtualhost: { jwtProviders: [idp] }, includes: [{ name: 'child' }] },
      child: { routes: [{ services: [{ name: 's', port: 80 }], jwtVerificationPolicy: { require: 'nope' } }] },
      expect: { root: (f) => f.invalidSame([T, 'JWTProviderNotDefined', 'Route references an undefined JWT provider "nope"']), child: (f) => f.VALID },
    },
    {
      name: 'require and disabled together: the route\'s own HTTPProxy is invalid',
      spec: { virtualhost: { jwtProviders: [idp] }, includes: [{ name: 'child' }] },
      child: { routes: [{ services: [{ name: 's', port: 80 }], jwtVerificationPolicy: { require: 'idp', disabled: true } }] },
      expect: {
        root: (f) => f.VALID,
        child: (f) => f.invalidSame([T, 'InvalidJWTVerificationPolicy', "route's JWT verification policy cannot specify both require and disabled"]),
      },
    },
    {
      name: 'duplicate provider names (the reader\'s errors end the root)',
      spec: { virtualhost: { jwtProviders: [idp, idp] }, routes: [{ services: [{ name: 's', port: 80 }] }] },
      expect: { root: (f) => f.invalidSame([T, 'DuplicateProviderName', 'Spec.VirtualHost.JWTProviders is invalid: duplicate name idp']) },
    },
    {
      name: 'providers on a TLS-terminating TCPProxy cannot be enforced (isobar; Contour verifies nothing there)',
      spec: { virtualhost: { jwtProviders: [idp] }, tcpproxy: { services: [{ name: 's', port: 80 }] } },
      expect: {
        root: (f) =>
          f.invalidSame([
            T,
            'JWTVerificationNotSupported',
            'Spec.VirtualHost.JWTProviders is not supported by isobar on a virtual host with Spec.TCPProxy: JWTs are verified on HTTP requests only',
          ]),
      },
    },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const f = await load();
      const extra = row.child ? [f.proxy('child', row.child as never)] : [];
      const { result } = await build(row.spec, extra);
      f.assertStatuses(result, Object.fromEntries(Object.entries(row.expect).map(([k, e]) => [k, e(f)])) as never);
      if (Object.values(row.expect).some((e) => (e(f) as { currentStatus: string }).currentStatus === 'invalid') && row.expect.root!(f) !== f.VALID) {
        assert.equal(f.vhost(result, FQDN, true), undefined, 'an invalid root serves nothing');
      }
    });
  }

  test('a route requiring a provider on a virtual host without TLS is invalid (Contour serves it unverified)', async () => {
    const f = await load();
    const result = f.run([
      f.proxy('plain', { virtualhost: { fqdn: FQDN }, routes: [{ services: [{ name: 's', port: 80 }], jwtVerificationPolicy: { require: 'idp' } }] }),
      f.service('s'),
      f.endpoints('s', ['10.0.0.1'], 80),
    ]);
    f.assertStatuses(result, { plain: f.invalidSame([T, 'JWTProviderNotDefined', 'Route references an undefined JWT provider "idp"']) });
    assert.deepEqual(result.proxyConfig.httpVirtualHosts, []);
  });
});

describe('the schema (Contour\'s CRD)', () => {
  test('exactly one of remoteJWKS or localJWKS, durations in Go syntax, a known DNS family', async () => {
    const { validateObject } = await import('../../src/objects/schema.ts');
    const errors = (provider: Record<string, unknown>) =>
      validateObject('HTTPProxy', {
        apiVersion: 'projectcontour.io/v1',
        kind: 'HTTPProxy',
        metadata: { name: 'p', namespace: 'default' },
        spec: { virtualhost: { fqdn: 'a.example.com', jwtProviders: [provider] }, routes: [{ jwtVerificationPolicy: { require: 'x', disabled: false } }] },
      }).errors.map((e) => `${e.path}: ${e.message}`);
    assert.deepEqual(errors({ name: 'x', remoteJWKS: { uri: 'https://a/jwks' } }), []);
    assert.deepEqual(errors({ name: 'x', localJWKS: { secretName: 's', key: 'k' } }), []);
    assert.deepEqual(errors({ name: 'x' }), ['spec.virtualhost.jwtProviders[0]: exactly one of remoteJWKS or localJWKS must be set']);
    assert.deepEqual(errors({ name: 'x', remoteJWKS: { uri: 'https://a/jwks' }, localJWKS: { secretName: 's', key: 'k' } }), [
      'spec.virtualhost.jwtProviders[0]: exactly one of remoteJWKS or localJWKS must be set',
    ]);
    assert.equal(errors({ name: 'x', remoteJWKS: { uri: 'https://a/jwks', timeout: 'infinity' } }).length, 1);
    assert.equal(errors({ name: 'x', remoteJWKS: { uri: 'https://a/jwks', dnsLookupFamily: 'v5' } }).length, 1);
    assert.equal(errors({ name: '', remoteJWKS: { uri: 'https://a/jwks' } }).length, 1);
  });
});

describe('printing the config', () => {
  test('isobar config redacts the HMAC keys of a local JWKS, and only those', async () => {
    const { redactProxyConfig } = await import('../../src/dag/index.ts');
    const json = JSON.stringify({ keys: [{ kty: 'oct', kid: 'h', k: 'c2VjcmV0' }, { kty: 'EC', kid: 'e', crv: 'P-256', x: 'x', y: 'y' }] });
    const vhost = {
      fqdn: 'a.test',
      routes: [],
      jwt: { providers: [{ name: 'l', issuer: '', audiences: [], forwardJWT: false, jwks: { kind: 'local' as const, json } }] },
    };
    const printed = redactProxyConfig({ httpVirtualHosts: [vhost], httpsVirtualHosts: [], clusters: [], secrets: [], caBundles: [] });
    const out = printed.httpVirtualHosts[0]!.jwt!.providers[0]!.jwks;
    assert.deepEqual(out.kind === 'local' && JSON.parse(out.json), {
      keys: [{ kty: 'oct', kid: 'h', k: '[redacted]' }, { kty: 'EC', kid: 'e', crv: 'P-256', x: 'x', y: 'y' }],
    });
    assert.equal(vhost.jwt.providers[0]!.jwks.json, json, 'the config itself is untouched');
  });
});
