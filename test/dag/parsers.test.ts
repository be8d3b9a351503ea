// The small parsers and validators the dag relies on: Go durations,
// timeouts, header names, PEM bundles, secrets, regexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createCa } from '../support/pki.ts';
import { parseGoDuration, parseTimeout } from '../../src/dag/duration.ts';
import { canonicalHeaderKey, headersPolicyRoute } from '../../src/dag/policy.ts';
import { caBundleError, checkCaSecret, checkTlsSecret } from '../../src/dag/secret.ts';
import { regexError } from '../../src/dag/conditions.ts';
import { redactProxyConfig } from '../../src/dag/index.ts';
import { root, run, secret, service, tlsSecret } from './fixtures.ts';

const ca = await createCa('parser CA');
const pair = await ca.issue({ dnsNames: ['x.example.com'] });

test('Go durations: valid forms', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['1s', 1000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1h2m3s', 3_723_000],
    ['250ms', 250],
    ['-2s', -2000],
    ['+3m', 180_000],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1us', 0.001],
    ['1000000ns', 1],
  ];
  for (const [input, ms] of cases) {
    const r = parseGoDuration(input);
    assert.ok(r.ok, input);
    assert.ok(Math.abs(r.ms - ms) < 1e-9, `${input}: ${r.ms}`);
  }
});

test('Go durations: malformed input gives Go error texts', () => {
  const cases: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['s', 'time: invalid duration "s"'],
    ['1', 'time: missing unit in duration "1"'],
    ['1.5', 'time: missing unit in duration "1.5"'],
    ['1x', 'time: unknown unit "x" in duration "1x"'],
    ['1S', 'time: unknown unit "S" in duration "1S"'],
    ['.s', 'time: invalid duration ".s"'],
    ['1s ', 'time: unknown unit "s " in duration "1s "'],
    ['--1s', 'time: invalid duration "--1s"'],
    ['9999999999h', 'time: invalid duration "9999999999h"'],
  ];
  for (const [input, error] of cases) assert.deepEqual(parseGoDuration(input), { ok: false, error }, input);
});

test('Go durations: property: never throws; n<unit> round-trips', () => {
  fc.assert(fc.property(fc.string(), (s) => void parseGoDuration(s)));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(['ms', 1], ['s', 1000], ['m', 60_000], ['h', 3_600_000]), (n, [u, f]) => {
      const r = parseGoDuration(`${n}${u}`);
      assert.ok(r.ok);
      assert.equal(r.ms, n * (f as number));
    }),
  );
});

test('timeouts: empty is default, infinity disables, zero is default, errors wrap the duration error', () => {
  assert.deepEqual(parseTimeout(''), { ok: true, timeout: { kind: 'default' } });
  assert.deepEqual(parseTimeout('infinity'), { ok: true, timeout: { kind: 'disabled' } });
  assert.deepEqual(parseTimeout('infinite'), { ok: true, timeout: { kind: 'disabled' } });
  assert.deepEqual(parseTimeout('0s'), { ok: true, timeout: { kind: 'default' } });
  assert.deepEqual(parseTimeout('2s'), { ok: true, timeout: { kind: 'duration', ms: 2000 } });
  assert.deepEqual(parseTimeout('forever'), { ok: false, error: 'unable to parse timeout string "forever": time: invalid duration "forever"' });
});

test('canonical header keys follow Go', () => {
  assert.equal(canonicalHeaderKey('x-forwarded-for'), 'X-Forwarded-For');
  assert.equal(canonicalHeaderKey('HOST'), 'Host');
  assert.equal(canonicalHeaderKey('x-b3-traceid'), 'X-B3-Traceid');
  assert.equal(canonicalHeaderKey('bad header'), 'bad header');
  assert.equal(canonicalHeaderKey(''), '');
});

test('header policies reject invalid names with the Kubernetes message', () => {
  assert.deepEqual(headersPolicyRoute({ set: [{ name: 'x_y', value: '1' }], remove: [] }, true, {}), {
    ok: false,
    error: `invalid set header "X_y": [a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]`,
  });
  assert.equal(headersPolicyRoute({ set: [], remove: ['a b'] }, true, {}).ok, false);
});

test('PEM CA bundles: malformed input', () => {
  assert.equal(caBundleError(ca.certPem), null);
  assert.equal(caBundleError(''), 'failed to locate certificate');
  assert.equal(caBundleError('-----BEGIN CERTIFICATE-----'), 'failed to parse PEM block');
  assert.equal(caBundleError('-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----'), 'failed to parse PEM block');
  assert.equal(caBundleError('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----'), null);
  assert.equal(caBundleError('-----BEGIN X-----\nAA==\n-----END X-----'), "unexpected block type 'X'");
  fc.assert(fc.property(fc.string(), (s) => void caBundleError(s)));
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => void caBundleError(`${a}-----BEGIN CERTIFICATE-----${b}-----END CERTIFICATE-----`)));
});

test('secrets: validation never throws on arbitrary data', () => {
  fc.assert(
    fc.property(fc.anything(), fc.anything(), fc.anything(), (type, crt, key) => {
      const s = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'd' }, type, data: { 'tls.crt': crt, 'tls.key': key, 'ca.crt': crt } } as never;
      checkTlsSecret(s);
      checkCaSecret(s);
    }),
  );
  assert.deepEqual(checkTlsSecret(tlsSecret('x', pair)), { ok: true, value: { certPem: pair.certPem, keyPem: pair.keyPem } });
  assert.deepEqual(checkTlsSecret(secret('x', { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem }, '')), {
    ok: true,
    value: { certPem: pair.certPem, keyPem: pair.keyPem },
  }, 'a missing type means Opaque');
});

test('regexes: RE2-incompatible lookaround and backreferences are rejected', () => {
  assert.equal(regexError('^/a(b|c)+$'), null);
  assert.match(regexError('/(?=x)')!, /^error parsing regexp: invalid or unsupported Perl syntax/);
  assert.match(regexError('/(a)\\1')!, /^error parsing regexp: invalid escape sequence/);
  assert.equal(regexError('/['), 'error parsing regexp: unterminated character class: `/[`');
});

test('redactProxyConfig replaces every private key and nothing else', () => {
  const r = run([root('p', 'x.example.com', { tls: { secretName: 'edge' }, routes: [{ services: [{ name: 's', port: 80 }] }] }), tlsSecret('edge', pair), service('s')]);
  const red = redactProxyConfig(r.proxyConfig);
  assert.deepEqual(red.secrets, [{ id: 'default/edge', certPem: pair.certPem, keyPem: '[redacted]' }]);
  assert.ok(!JSON.stringify(red).includes('PRIVATE KEY'));
  assert.deepEqual({ ...red, secrets: [] }, { ...r.proxyConfig, secrets: [] });
  assert.equal(r.proxyConfig.secrets[0]!.keyPem, pair.keyPem, 'the original is untouched');
});

test('cluster shapes: field-by-field equality agrees with the identity string', async () => {
  const { sameShape, clusterIdentity } = await import('../../src/dag/output.ts');
  const shape = fc.record(
    {
      protocol: fc.constantFrom('http1', 'tls', 'h2', 'h2c'),
      connectTimeoutMs: fc.constantFrom(2000, 500),
      idleConnectionTimeoutMs: fc.constantFrom(3_600_000, null),
      loadBalancer: fc.record({
        strategy: fc.constantFrom('RoundRobin', 'Random', 'RequestHash'),
        hashPolicies: fc.array(fc.record({ header: fc.constantFrom('X-A', 'X-B') }, { requiredKeys: [] }), { maxLength: 2 }),
      }),
      healthCheck: fc.record({
        path: fc.constantFrom('/a', '/b'),
        host: fc.constant('h'),
        intervalMs: fc.constant(1),
        timeoutMs: fc.constant(1),
        unhealthyThreshold: fc.constant(1),
        healthyThreshold: fc.constant(1),
        expectedStatuses: fc.constant([{ start: 200, end: 201 }]),
      }),
      tls: fc.record(
        {
          minVersion: fc.constantFrom('1.2', '1.3'),
          maxVersion: fc.constant('1.3'),
          sni: fc.constantFrom('a', 'b'),
          clientCertificateId: fc.constant('ns/cc'),
          validation: fc.record({ caBundleId: fc.constantFrom('ns/a', 'ns/b'), subjectNames: fc.array(fc.constantFrom('x', 'y'), { minLength: 1, maxLength: 2 }) }),
        },
        { requiredKeys: ['minVersion', 'maxVersion'] },
      ),
    },
    { requiredKeys: ['protocol', 'connectTimeoutMs', 'idleConnectionTimeoutMs', 'loadBalancer'] },
  );
  fc.assert(
    fc.property(shape, shape, (a, b) => {
      assert.equal(sameShape(a as never, b as never), clusterIdentity(a as never) === clusterIdentity(b as never));
      assert.ok(sameShape(a as never, structuredClone(a) as never));
    }),
    { numRuns: 2000 },
  );
});
