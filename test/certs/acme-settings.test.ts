// What an ACME request is made of, checked where it enters, and the CA's
// problem documents (untrusted input) turned into one line and ACM's reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { acmeSettingsFrom, CertsError } from '../../src/certs/index.ts';
import { asProblem, failureReason, problemLine } from '../../src/certs/acme-problem.ts';
import { checkWildcards } from '../../src/certs/acme-settings.ts';
import { retryAfterMs } from '../../src/certs/acme-issue.ts';
import { backoffMs, renewalDueAt } from '../../src/certs/renewal-schedule.ts';
import { chooseRenewalTime, parseRenewalInfo } from '../../src/certs/ari.ts';
import type { CertificateRecord } from '../../src/certs/index.ts';

const bad = (re: RegExp) => (err: unknown) => err instanceof CertsError && err.code === 'BAD_INPUT' && re.test(err.message);

test('settings: flags over the config file, every value checked and named', () => {
  assert.deepEqual(acmeSettingsFrom({ directory: 'letsencrypt-staging' }, {}, undefined), {
    directory: 'https://acme-staging-v02.api.letsencrypt.org/directory',
    keyType: 'ec256',
    challenges: ['http-01', 'tls-alpn-01'],
  });
  assert.deepEqual(acmeSettingsFrom({ email: 'a@b.example' }, { directory: 'https://ca.example/dir', keyType: 'rsa2048', challenges: ['dns-01', 'dns-01'] }, 'i.yaml'), {
    directory: 'https://ca.example/dir',
    keyType: 'rsa2048',
    challenges: ['dns-01'],
    email: 'a@b.example',
  });
  assert.throws(() => acmeSettingsFrom({}, {}, undefined), bad(/--acme needs a directory URL/));
  assert.throws(() => acmeSettingsFrom({ directory: 'http://ca.example/dir' }, {}, undefined), bad(/^--acme "http:\/\/ca.example\/dir" must be an https URL/));
  assert.throws(() => acmeSettingsFrom({}, { directory: 'not a url' }, 'i.yaml'), bad(/^acme\.directory in i\.yaml "not a url" is not a URL/));
  assert.throws(() => acmeSettingsFrom({ directory: 'letsencrypt', keyType: 'ed25519' }, {}, undefined), bad(/^--key-type "ed25519" is not a key type \(use ec256, ec384, rsa2048, rsa4096\)/));
  assert.throws(() => acmeSettingsFrom({ directory: 'letsencrypt', challenges: ['http-02'] }, {}, undefined), bad(/^--challenge: "http-02" is not a challenge type/));
  assert.throws(() => acmeSettingsFrom({ directory: 'letsencrypt', challenges: [] }, {}, undefined), bad(/^--challenge is empty/));
  assert.throws(() => acmeSettingsFrom({ directory: 'letsencrypt', email: 'nobody' }, {}, undefined), bad(/^--email "nobody" is not an email address/));
  assert.throws(() => checkWildcards(['*.example.org'], ['http-01']), bad(/only by dns-01/));
  checkWildcards(['*.example.org'], ['dns-01']);
});

test('problem documents: one line, ACM’s reason, malformed ones refused', () => {
  const p = asProblem({ type: 'urn:ietf:params:acme:error:connection', detail: '127.0.0.1: Fetching http://x/.well-known/acme-challenge/t:\nconnection refused', status: 400 })!;
  assert.equal(problemLine(p), 'acme error connection: 127.0.0.1: Fetching http://x/.well-known/acme-challenge/t: connection refused');
  assert.equal(failureReason(p), 'DOMAIN_VALIDATION_DENIED');
  assert.equal(failureReason(asProblem({ type: 'urn:ietf:params:acme:error:caa', detail: 'x' })), 'CAA_ERROR');
  assert.equal(failureReason(asProblem({ type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'x' })), 'DOMAIN_NOT_ALLOWED');
  assert.equal(failureReason(asProblem({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'x' })), 'OTHER');
  const sub = asProblem({ type: 'urn:ietf:params:acme:error:compound', detail: 'two', subproblems: [{ type: 'urn:ietf:params:acme:error:caa', detail: 'no', identifier: { value: 'a.example' } }, 7] })!;
  assert.equal(problemLine(sub), 'acme error compound: two; a.example: caa (no)');
  assert.equal(failureReason({ type: 'urn:ietf:params:acme:error:compound', subproblems: [{ type: 'urn:ietf:params:acme:error:caa' }] }), 'CAA_ERROR');
  for (const v of [null, 1, 'x', [], {}, { type: 3 }]) assert.equal(asProblem(v), undefined);
  fc.assert(
    fc.property(fc.anything(), (v) => {
      const p = asProblem(v);
      if (!p) return;
      const line = problemLine(p);
      assert.ok(!/[\u0000-\u001f]/.test(line) && line.length <= 500);
      failureReason(p);
    }),
  );
  fc.assert(fc.property(fc.record({ type: fc.string(), detail: fc.string({ maxLength: 2000 }) }), (v) => assert.ok(problemLine(asProblem(v) ?? {}).length <= 500)));
});

test('Retry-After, backoff and when renewal is due', () => {
  assert.equal(retryAfterMs('120'), 120_000);
  assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')), 60_000);
  for (const v of [undefined, '', 'soon', '-5', 12]) assert.equal(retryAfterMs(v), undefined);
  const b = { baseMs: 1000, maxMs: 10_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => backoffMs(n, b)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(backoffMs(1, b, 60_000), 60_000, 'never sooner than Retry-After');
  const base: CertificateRecord = { arn: 'a', domains: ['x'], subject: '', issuer: '', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-01-31T00:00:00.000Z', fingerprint: '', type: 'acme', status: 'ISSUED', certPem: 'PEM', chainPem: '', createdAt: '' };
  assert.equal(renewalDueAt(base), Date.parse('2026-01-21T00:00:00.000Z'), 'a third of the lifetime left');
  assert.equal(renewalDueAt({ ...base, renewAt: '2026-01-10T00:00:00.000Z' }), Date.parse('2026-01-10T00:00:00.000Z'), 'the CA’s time (ARI)');
  assert.equal(renewalDueAt({ ...base, renewal: { status: 'FAILED', attempts: 2, nextAttemptAt: '2026-01-22T00:00:00.000Z', updatedAt: '' } }), Date.parse('2026-01-22T00:00:00.000Z'));
  assert.equal(renewalDueAt({ ...base, type: 'imported' }), undefined, 'imported certificates are the user’s to replace');
  assert.equal(renewalDueAt({ ...base, status: 'FAILED', certPem: '' }), undefined, 'a failed request is not retried by itself');
});

test('ARI renewalInfo: the suggested window, malformed answers refused', () => {
  const w = parseRenewalInfo({ suggestedWindow: { start: '2026-01-10T00:00:00Z', end: '2026-01-12T00:00:00Z' }, explanationURL: 'https://ca.example/why' });
  assert.deepEqual(w, { start: Date.parse('2026-01-10T00:00:00Z'), end: Date.parse('2026-01-12T00:00:00Z'), explanationURL: 'https://ca.example/why' });
  assert.equal(chooseRenewalTime(w, 0, () => 0.5), Date.parse('2026-01-11T00:00:00Z'));
  assert.equal(chooseRenewalTime(w, Date.parse('2026-02-01T00:00:00Z'), () => 0), Date.parse('2026-02-01T00:00:00Z'), 'never in the past');
  for (const v of [null, {}, { suggestedWindow: {} }, { suggestedWindow: { start: 'x', end: 'y' } }, { suggestedWindow: { start: '2026-01-12T00:00:00Z', end: '2026-01-10T00:00:00Z' } }]) {
    assert.throws(() => parseRenewalInfo(v), /suggestedWindow needs start and end/);
  }
});
