import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CertsError, newArn, parseArn } from '../../src/certs/index.ts';
import { normalizeDomain, normalizeDomains } from '../../src/certs/names.ts';

test('ARNs parse into their parts', () => {
  assert.deepEqual(parseArn('arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e'), {
    partition: 'aws',
    region: 'us-east-2',
    account: '185309785115',
    id: '7610ed7d-5a81-4ea2-a18a-7ba1606cca3e',
  });
  assert.equal(parseArn('arn:aws-cn:acm:cn-north-1:123456789012:certificate/00000000-0000-0000-0000-000000000000').partition, 'aws-cn');
});

test('malformed ARNs are refused with a message showing the expected form', () => {
  const bad = [
    '',
    'arn',
    '7610ed7d-5a81-4ea2-a18a-7ba1606cca3e',
    'arn:aws:acm:us-east-2:185309785115:certificate/7610ED7D-5A81-4EA2-A18A-7BA1606CCA3E',
    'arn:aws:acm:us-east-2:18530978511:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e',
    'arn:aws:acm:us-east-2:185309785115:cert/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e',
    'arn:aws:iam:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e',
    'arn:aws:acm:US-EAST-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e',
    'arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e ',
    'arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d5a814ea2a18a7ba1606cca3e',
    'arn:aws:acm:us-east-2:185309785115:certificate/../../etc/passwd',
    'arn:azure:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e',
  ];
  for (const a of bad) {
    assert.throws(() => parseArn(a), (err: unknown) => err instanceof CertsError && err.code === 'BAD_ARN' && err.message.includes('arn:aws:acm:<region>'), a);
  }
});

test('new ARNs always parse, and random strings fail only with BAD_ARN', () => {
  fc.assert(
    fc.property(fc.constantFrom('local', 'us-east-1', 'eu-west-3'), fc.stringMatching(/^[0-9]{12}$/), (region, account) => {
      const p = parseArn(newArn(region, account));
      assert.equal(p.region, region);
      assert.equal(p.account, account);
    }),
  );
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        parseArn(s);
      } catch (err) {
        assert.ok(err instanceof CertsError && err.code === 'BAD_ARN');
      }
    }),
    { numRuns: 1000 },
  );
  assert.throws(() => newArn('Bad Region'), (e: unknown) => e instanceof CertsError && e.code === 'BAD_INPUT');
  assert.throws(() => newArn('local', '123'), (e: unknown) => e instanceof CertsError && e.code === 'BAD_INPUT');
});

test('domain names: normalised, wildcards only as a whole leftmost label', () => {
  assert.equal(normalizeDomain('WWW.Example.COM.'), 'www.example.com');
  assert.equal(normalizeDomain('*.example.com'), '*.example.com');
  assert.equal(normalizeDomain('localhost'), 'localhost');
  assert.deepEqual(normalizeDomains(['a.example', 'A.example', 'b.example']), ['a.example', 'b.example']);
  for (const bad of ['', ' ', '*', 'a.*.example', 'w*.example.com', '-a.example', 'a-.example', 'a..example', 'a_b.example', '1.2.3.4', '::1', `${'a'.repeat(64)}.example`, `${'a.'.repeat(127)}com`]) {
    assert.throws(() => normalizeDomain(bad), (e: unknown) => e instanceof CertsError && e.code === 'BAD_INPUT' && e.message.startsWith('domain '), bad);
  }
});

test('domain validation: generated DNS names are accepted and stable; arbitrary strings fail only with BAD_INPUT', () => {
  fc.assert(
    fc.property(fc.domain(), fc.boolean(), (d, wildcard) => {
      const name = wildcard ? `*.${d}` : d;
      const n = normalizeDomain(name.toUpperCase());
      assert.equal(n, name.toLowerCase());
      assert.equal(normalizeDomain(n), n);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        normalizeDomain(s);
      } catch (err) {
        assert.ok(err instanceof CertsError && err.code === 'BAD_INPUT');
      }
    }),
    { numRuns: 1000 },
  );
});
