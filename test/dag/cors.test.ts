// CORS policies through the whole build: Contour's toCORSPolicy checks and
// messages, and the policy the proxy's CORS filter applies (origins told
// apart as Contour does, header lists joined, max age in Envoy's seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import type { CorsConfig } from '../../src/dag/index.ts';
import { toCorsPolicy } from '../../src/dag/cors.ts';
import type { HTTPProxy } from '../../src/objects/types.ts';
import { assertStatuses, endpoints, invalidSame, root, run, service, tlsSecret, VALID, vhost, type Row } from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const pair = await (await createCa('cors CA')).issue({ dnsNames: [FQDN] });
type CorsPolicy = NonNullable<NonNullable<HTTPProxy['spec']['virtualhost']>['corsPolicy']>;
const withCors = (corsPolicy: CorsPolicy, tls = false): HTTPProxy => ({
  ...root('p', FQDN, {}),
  spec: { virtualhost: { fqdn: FQDN, corsPolicy, ...(tls ? { tls: { secretName: 'edge' } } : {}) }, routes: [{ services: [svc] }] },
});
const err = (message: string) => invalidSame(['CORSError', 'PolicyDidNotParse', `Spec.VirtualHost.CORSPolicy: ${message}`]);
const noHttp = (r: ReturnType<typeof run>) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);

const rows: Row[] = [
  {
    name: 'every field, on the plain and the secure virtual host',
    objects: [
      withCors(
        {
          allowOrigin: ['*', 'https://a.example.com', 'https://Web.Example.com:8443', 'https://.*\\.example\\.org'],
          allowMethods: ['GET', 'POST'],
          allowHeaders: ['authorization', 'x-custom'],
          exposeHeaders: ['x-request-id'],
          maxAge: '10m',
          allowCredentials: true,
          allowPrivateNetwork: true,
        },
        true,
      ),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const want: CorsConfig = {
        allowOrigin: [
          { kind: 'exact', value: '*' },
          { kind: 'exact', value: 'https://a.example.com' },
          { kind: 'exact', value: 'https://Web.Example.com:8443' },
          { kind: 'regex', value: 'https://.*\\.example\\.org' },
        ],
        allowMethods: 'GET,POST',
        allowHeaders: 'authorization,x-custom',
        exposeHeaders: 'x-request-id',
        maxAge: '600',
        allowCredentials: true,
        allowPrivateNetwork: true,
      };
      assert.deepEqual(vhost(r, FQDN)!.cors, want);
      assert.deepEqual(vhost(r, FQDN, true)!.cors, want);
    },
  },
  {
    name: 'defaults: no max age, empty header lists, no credentials',
    objects: [withCors({ allowOrigin: ['https://a.example.com'], allowMethods: ['GET'] }), ...base],
    expect: { p: VALID },
    check: (r) =>
      assert.deepEqual(vhost(r, FQDN)!.cors, {
        allowOrigin: [{ kind: 'exact', value: 'https://a.example.com' }],
        allowMethods: 'GET',
        allowHeaders: '',
        exposeHeaders: '',
        maxAge: '',
        allowCredentials: false,
        allowPrivateNetwork: false,
      }),
  },
  { name: 'no origins', objects: [withCors({ allowOrigin: [], allowMethods: ['GET'] }), ...base], expect: { p: err('invalid allowed origin configuration with length 0') }, check: noHttp },
  { name: 'no methods', objects: [withCors({ allowOrigin: ['*'], allowMethods: [] }), ...base], expect: { p: err('invalid allowed methods configuration with length 0') }, check: noHttp },
  {
    name: 'an origin that is neither exact nor a valid regex',
    objects: [withCors({ allowOrigin: ['https://ok.example.com', 'https://x.example.com/(', '*'], allowMethods: ['GET'] }), ...base],
    expect: { p: err('invalid allowed origin "https://x.example.com/(": allowed origin is invalid exact match and invalid regex match') },
    check: noHttp,
  },
  {
    name: 'a max age Go cannot parse (Contour\'s timeout wording)',
    objects: [withCors({ allowOrigin: ['*'], allowMethods: ['GET'], maxAge: '10x' }), ...base],
    expect: { p: err('unable to parse timeout string "10x": time: unknown unit "x" in duration "10x"') },
    check: noHttp,
  },
  {
    name: 'a negative max age',
    objects: [withCors({ allowOrigin: ['*'], allowMethods: ['GET'], maxAge: '-1s' }), ...base],
    expect: { p: err('invalid max age value "-1s"') },
    check: noHttp,
  },
];

for (const row of rows) {
  test(`cors: ${row.name}`, () => {
    const r = run(row.objects, row.config);
    assertStatuses(r, row.expect);
    row.check?.(r);
  });
}

test('cors: which origins are exact (Go\'s url.Parse, compared with the original) and how max age rounds', () => {
  const kinds: [string, 'exact' | 'regex'][] = [
    ['http://localhost:3000', 'exact'],
    ['https://[::1]:8443', 'exact'],
    ['https://a.example.com/', 'regex'],
    ['HTTPS://a.example.com', 'regex'],
    ['https://user@a.example.com', 'regex'],
    ['https://a.example.com?x=1', 'regex'],
    ['a.example.com', 'regex'],
    ['.*', 'regex'],
  ];
  for (const [origin, kind] of kinds) {
    const r = toCorsPolicy({ allowOrigin: [origin], allowMethods: ['GET'], allowHeaders: [], exposeHeaders: [], maxAge: '', allowCredentials: false, allowPrivateNetwork: false });
    assert.ok(r.ok, origin);
    assert.equal(r.value.allowOrigin[0]!.kind, kind, origin);
  }
  const ages: [string, string][] = [['0', '0'], ['0s', '0'], ['1.5s', '2'], ['2.5s', '2'], ['100ms', '0'], ['1h', '3600']];
  for (const [maxAge, want] of ages) {
    const r = toCorsPolicy({ allowOrigin: ['*'], allowMethods: ['GET'], allowHeaders: [], exposeHeaders: [], maxAge, allowCredentials: false, allowPrivateNetwork: false });
    assert.ok(r.ok, maxAge);
    assert.equal(r.value.maxAge, want, maxAge);
  }
});
