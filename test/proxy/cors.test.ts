// CORS decisions as Envoy's CORS filter makes them: which requests are
// CORS requests, which preflights are answered at the edge and with which
// headers, and what actual responses get. One row per behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCors, corsDecision, originAllowed, type CorsDecision } from '../../src/proxy/cors.ts';
import type { CorsConfig } from '../../src/dag/index.ts';

const policy = (over: Partial<CorsConfig> = {}): CorsConfig => ({
  allowOrigin: [{ kind: 'exact', value: 'https://app.example.com' }],
  allowMethods: 'GET,POST',
  allowHeaders: 'authorization,x-custom',
  exposeHeaders: 'x-request-id',
  maxAge: '600',
  allowCredentials: false,
  allowPrivateNetwork: false,
  ...over,
});
const preflight = (origin: string, extra: Record<string, string> = {}) => ({ origin, 'access-control-request-method': 'POST', ...extra });

const rows: [name: string, c: CorsConfig, method: string, headers: Record<string, string>, want: CorsDecision][] = [
  ['no Origin: not a CORS request', policy(), 'GET', {}, { kind: 'none' }],
  ['an empty Origin: not a CORS request', policy(), 'GET', { origin: '' }, { kind: 'none' }],
  [
    'an allowed origin on an actual request: allow-origin echoes it, exposed headers listed',
    policy(),
    'GET',
    { origin: 'https://app.example.com' },
    { kind: 'response', headers: { 'access-control-allow-origin': 'https://app.example.com', 'access-control-expose-headers': 'x-request-id' } },
  ],
  ['exact origins compare without regard to case', policy(), 'GET', { origin: 'HTTPS://APP.example.com' }, { kind: 'response', headers: { 'access-control-allow-origin': 'HTTPS://APP.example.com', 'access-control-expose-headers': 'x-request-id' } }],
  ['an origin not allowed: nothing added', policy(), 'GET', { origin: 'https://evil.example.com' }, { kind: 'none' }],
  [
    'a preflight from an allowed origin is answered with every header',
    policy({ allowCredentials: true }),
    'OPTIONS',
    preflight('https://app.example.com'),
    {
      kind: 'preflight',
      headers: {
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET,POST',
        'access-control-allow-headers': 'authorization,x-custom',
        'access-control-max-age': '600',
      },
    },
  ],
  ['a preflight from an origin not allowed is forwarded untouched', policy(), 'OPTIONS', preflight('https://evil.example.com'), { kind: 'none' }],
  [
    'OPTIONS without Access-Control-Request-Method is an actual request',
    policy(),
    'OPTIONS',
    { origin: 'https://app.example.com' },
    { kind: 'response', headers: { 'access-control-allow-origin': 'https://app.example.com', 'access-control-expose-headers': 'x-request-id' } },
  ],
  [
    '"*" allows every origin and still echoes the request\'s',
    policy({ allowOrigin: [{ kind: 'exact', value: '*' }], exposeHeaders: '' }),
    'GET',
    { origin: 'https://anything.test' },
    { kind: 'response', headers: { 'access-control-allow-origin': 'https://anything.test' } },
  ],
  ['a regex matches the whole origin', policy({ allowOrigin: [{ kind: 'regex', value: 'https://[a-z]+\\.example\\.org' }] }), 'GET', { origin: 'https://app.example.org.evil.test' }, { kind: 'none' }],
  [
    'a regex that matches "*" allows everything (Envoy tests the matcher against "*")',
    policy({ allowOrigin: [{ kind: 'regex', value: '.*' }], exposeHeaders: '' }),
    'GET',
    { origin: 'null' },
    { kind: 'response', headers: { 'access-control-allow-origin': 'null' } },
  ],
  [
    'allowMethods "*" and allowHeaders "*" echo what the preflight asks',
    policy({ allowMethods: '*', allowHeaders: '*', maxAge: '' }),
    'OPTIONS',
    preflight('https://app.example.com', { 'access-control-request-headers': 'x-a,x-b' }),
    { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'x-a,x-b' } },
  ],
  [
    'max age "0" is sent (no caching); empty header lists are not',
    policy({ allowHeaders: '', maxAge: '0' }),
    'OPTIONS',
    preflight('https://app.example.com'),
    { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-methods': 'GET,POST', 'access-control-max-age': '0' } },
  ],
  [
    'private network access only when asked and allowed',
    policy({ allowPrivateNetwork: true, maxAge: '' }),
    'OPTIONS',
    preflight('https://app.example.com', { 'access-control-request-private-network': 'true' }),
    {
      kind: 'preflight',
      headers: {
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-methods': 'GET,POST',
        'access-control-allow-headers': 'authorization,x-custom',
        'access-control-allow-private-network': 'true',
      },
    },
  ],
  [
    'private network access not allowed: the header is not sent',
    policy({ maxAge: '' }),
    'OPTIONS',
    preflight('https://app.example.com', { 'access-control-request-private-network': 'true' }),
    { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-methods': 'GET,POST', 'access-control-allow-headers': 'authorization,x-custom' } },
  ],
];

for (const [name, c, method, headers, want] of rows) {
  test(`cors: ${name}`, () => {
    assert.deepEqual(corsDecision(compileCors(c), method, headers), want);
  });
}

test('cors: originAllowed with several matchers', () => {
  const c = compileCors(policy({ allowOrigin: [{ kind: 'exact', value: 'http://localhost:3000' }, { kind: 'regex', value: '(?i)https://.*\\.EXAMPLE\\.com' }] }));
  assert.equal(originAllowed(c, 'http://localhost:3000'), true);
  assert.equal(originAllowed(c, 'http://localhost:3001'), false);
  assert.equal(originAllowed(c, 'https://a.example.com'), true);
  assert.equal(originAllowed(c, 'http://a.example.com'), false);
});
