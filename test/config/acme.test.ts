// acme.* in the config file: shapes checked where the file is read (the
// values, where the certificate manager uses them: test/certs/acme-settings).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../src/config/index.ts';

function problems(text: string): string[] {
  try {
    parseConfig(text, 'isobar.yaml');
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.line}: ${p.message}`);
  }
}

test('acme: malformed values name the key and line', () => {
  assert.deepEqual(problems('acme:\n  directory: 42\n'), ['2: acme.directory: must be a non-empty string, found 42']);
  assert.deepEqual(problems('acme:\n  email: ""\n'), ['2: acme.email: must be a non-empty string, found ""']);
  assert.deepEqual(problems('acme:\n  challenges: http-01\n'), [problems('acme:\n  challenges: http-01\n')[0]!]);
  assert.match(problems('acme:\n  challenges: http-01\n')[0]!, /^2: acme\.challenges: /);
  assert.deepEqual(problems('acme:\n  externalAccountBinding: {keyId: k}\n'), ['2: acme.externalAccountBinding: needs both keyId and hmacKey as non-empty strings']);
  assert.deepEqual(problems('acme:\n  externalAccountBinding: {keyId: k, hmacKey: "not base64!"}\n'), ['2: acme.externalAccountBinding: hmacKey must be base64url (as the CA gave it)']);
  assert.deepEqual(problems('acme:\n  externalAccountBinding: {keyId: k, hmacKey: abc, kid: x}\n'), ['2: acme.externalAccountBinding: unknown key "kid": allowed are keyId, hmacKey']);
  assert.deepEqual(problems('acme:\n  externalAccountBinding: [a]\n'), ['2: acme.externalAccountBinding: must be a mapping with keyId and hmacKey']);
  assert.match(problems('acme:\n  directroy: https://x\n')[0]!, /unknown key "acme\.directroy": did you mean "acme\.directory"\?/);
});

test('acme.dns: the RFC 2136 server and TSIG key, every key checked', () => {
  const { config } = parseConfig('acme:\n  dns: {server: "127.0.0.1:53", zone: example.org, tsigKeyName: acme, tsigAlgorithm: hmac-sha512, tsigSecretFile: /etc/isobar/tsig.key}\n', 'isobar.yaml');
  assert.deepEqual(config.acme.dns, { server: '127.0.0.1:53', zone: 'example.org', tsigKeyName: 'acme', tsigAlgorithm: 'hmac-sha512', tsigSecretFile: '/etc/isobar/tsig.key' });
  assert.deepEqual(problems('acme:\n  dns: {server: x}\n'), ['2: acme.dns: needs zone, tsigKeyName, tsigSecretFile as non-empty strings']);
  assert.deepEqual(problems('acme:\n  dns: {server: x, zone: z, tsigKeyName: k, tsigSecretFile: f, tsigSecret: abc}\n'), ['2: acme.dns: unknown key "tsigSecret": allowed are server, zone, tsigKeyName, tsigAlgorithm, tsigSecretFile']);
  assert.deepEqual(problems('acme:\n  dns: {server: x, zone: z, tsigKeyName: k, tsigSecretFile: f, tsigAlgorithm: 5}\n'), ['2: acme.dns: tsigAlgorithm must be a string such as hmac-sha256']);
  assert.deepEqual(problems('acme:\n  dns: example.org\n'), ['2: acme.dns: must be a mapping (server, zone, tsigKeyName, tsigAlgorithm, tsigSecretFile)']);
});

test('acme: absent is empty', () => {
  assert.deepEqual(parseConfig('aws: {region: eu-west-1}\n', 'isobar.yaml').config.acme, {});
});
