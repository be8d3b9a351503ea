// globalExtAuth in the config file: Contour's keys, checked where they
// enter; a mistake is an error naming the key, never a dropped setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/index.ts';

function problems(text: string): string[] {
  try {
    parseConfig(text, 'isobar.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.message);
    throw err;
  }
  return [];
}

test('globalExtAuth with every Contour key', () => {
  const { config, warnings } = parseConfig(
    [
      'globalExtAuth:',
      '  extensionService: auth/authz',
      '  serviceType: grpc',
      '  responseTimeout: 500ms',
      '  failOpen: true',
      '  authPolicy:',
      '    disabled: false',
      '    context: { realm: staff }',
      '  withRequestBody:',
      '    maxRequestBytes: 2048',
      '    allowPartialMessage: true',
      '    packAsBytes: false',
    ].join('\n'),
    'isobar.yaml',
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.globalExtAuth, {
    extensionService: 'auth/authz',
    serviceType: 'grpc',
    responseTimeout: '500ms',
    failOpen: true,
    authPolicy: { disabled: false, context: { realm: 'staff' } },
    withRequestBody: { maxRequestBytes: 2048, allowPartialMessage: true, packAsBytes: false },
  });
});

test('no globalExtAuth, or an empty one: none', () => {
  assert.equal(parseConfig('tls: {}\n', 'isobar.yaml').config.globalExtAuth, undefined);
  assert.equal(parseConfig('globalExtAuth: {}\n', 'isobar.yaml').config.globalExtAuth, undefined);
});

const ROWS: [string, string, string][] = [
  ['an unknown key', 'globalExtAuth:\n  extensionService: auth/authz\n  failopen: true\n', 'globalExtAuth: unknown key "globalExtAuth.failopen": allowed are extensionService, serviceType, httpSettings, authPolicy, responseTimeout, failOpen, withRequestBody'],
  ['settings without a server', 'globalExtAuth:\n  failOpen: false\n', 'globalExtAuth: extensionService must be set ("namespace/name" of an ExtensionService) for the other globalExtAuth settings to apply'],
  ['a bad reference', 'globalExtAuth:\n  extensionService: auth/authz/x\n', 'globalExtAuth: extensionService must be "namespace/name" of an ExtensionService, found string "auth/authz/x"'],
  ['a bad service type', 'globalExtAuth:\n  extensionService: auth/authz\n  serviceType: rest\n', 'globalExtAuth: serviceType must be grpc or http, found string "rest"'],
  ['failOpen as a string', 'globalExtAuth:\n  extensionService: auth/authz\n  failOpen: "yes"\n', 'globalExtAuth: failOpen must be true or false, found string "yes"'],
  ['a zero body limit', 'globalExtAuth:\n  extensionService: auth/authz\n  withRequestBody: { maxRequestBytes: 0 }\n', 'globalExtAuth: withRequestBody.maxRequestBytes must be a whole number of bytes, at least 1, found number 0'],
  ['a context that is not strings', 'globalExtAuth:\n  extensionService: auth/authz\n  authPolicy: { context: { a: 1 } }\n', 'globalExtAuth: authPolicy.context must be a mapping of string keys to string values'],
  ['a list instead of a mapping', 'globalExtAuth: [a]\n', 'globalExtAuth: must be a mapping (extensionService, serviceType, httpSettings, authPolicy, responseTimeout, failOpen, withRequestBody), found a list'],
];

for (const [name, text, message] of ROWS) {
  test(`globalExtAuth: ${name} is an error`, () => {
    assert.deepEqual(problems(text), [message]);
  });
}
