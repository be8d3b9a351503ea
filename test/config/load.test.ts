import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { configProblems } from './support.ts';
import { parseConfig, loadConfigFile, readConfigFile, ConfigError, defaultConfig, parseDuration, formatProblem } from '../../src/config/index.ts';

const problems = (text: string): string[] => configProblems(text);

test('empty file and comments only give the defaults', () => {
  assert.deepEqual(parseConfig('', 'c.yaml').config, defaultConfig());
  assert.deepEqual(parseConfig('# nothing\n', 'c.yaml').config, defaultConfig());
});

test('every supported key, in Contour and isobar spelling', () => {
  const { config, warnings } = parseConfig(
    `
tls:
  envoy-client-certificate:
    name: envoy-client
    namespace: projectcontour
  fallback-certificate: {name: fallback, namespace: projectcontour}
cluster:
  upstream-tls:
    minimum-protocol-version: "1.3"
    maximum-protocol-version: 1.3
  dns-lookup-family: v4
  max-requests-per-connection: 10
  per-connection-buffer-limit-bytes: 65536
timeouts:
  connect-timeout: 1m30s
enableExternalNameService: true
disablePermitInsecure: true
disableMergeSlashes: true
ingress-class-name: edge
upstream-tls:
  require-validation: true
ingress:
  service: edge-system/isobar
aws: {region: eu-west-1, account: "123456789012", cluster-name: prod}
policy:
  request-headers:
    set: {X-Env: prod}
    remove: [X-Internal]
  response-headers:
    set: {Strict-Transport-Security: max-age=31536000}
root-namespaces: [roots, more]
acme:
  directory: https://acme-staging-v02.api.letsencrypt.org/directory
  email: ops@example.org
  keyType: ec384
  challenges: [tls-alpn-01, http-01]
  caBundle: /etc/isobar/acme-ca.pem
  externalAccountBinding: {keyId: kid-1, hmacKey: c2VjcmV0}
`,
    'c.yaml',
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    tls: {
      envoyClientCertificate: { namespace: 'projectcontour', name: 'envoy-client' },
      fallbackCertificate: { namespace: 'projectcontour', name: 'fallback' },
      minimumProtocolVersion: '1.2',
      maximumProtocolVersion: '1.3',
    },
    upstreamTls: { minimumProtocolVersion: '1.3', maximumProtocolVersion: '1.3', requireValidation: true },
    timeouts: { connectTimeoutMs: 90_000, connectionIdleTimeoutMs: 60_000 },
    cluster: { dnsLookupFamily: 'v4', maxRequestsPerConnection: 10, perConnectionBufferLimitBytes: 65536 },
    listener: {},
    numTrustedHops: 0,
    accessLog: { format: 'envoy', level: 'info' },
    enableExternalNameService: true,
    disablePermitInsecure: true,
    disableMergeSlashes: true,
    rootNamespaces: ['roots', 'more'],
    compression: { algorithm: 'gzip' },
    ingressClassName: 'edge',
    ingressService: { namespace: 'edge-system', name: 'isobar' },
    aws: { region: 'eu-west-1', account: '123456789012', clusterName: 'prod' },
    policy: {
      requestHeaders: { set: { 'X-Env': 'prod' }, remove: ['X-Internal'] },
      responseHeaders: { set: { 'Strict-Transport-Security': 'max-age=31536000' }, remove: [] },
    },
    acme: {
      directory: 'https://acme-staging-v02.api.letsencrypt.org/directory',
      email: 'ops@example.org',
      keyType: 'ec384',
      challenges: ['tls-alpn-01', 'http-01'],
      caBundle: '/etc/isobar/acme-ca.pem',
      externalAccountBinding: { keyId: 'kid-1', hmacKey: 'c2VjcmV0' },
    },
  });
});

test('unknown keys name the key, file and line and suggest the closest key', () => {
  assert.deepEqual(problems('tls:\n  envoy-client-cert:\n    name: a\n'), ['isobar.yaml:2: unknown key "tls.envoy-client-cert": did you mean "tls.envoy-client-certificate"?']);
  assert.deepEqual(problems('enableExternalNameServices: true\n'), ['isobar.yaml:1: unknown key "enableExternalNameServices": did you mean "enableExternalNameService"?']);
  assert.deepEqual(problems('timeouts:\n  conect-timeout: 2s\n'), ['isobar.yaml:2: unknown key "timeouts.conect-timeout": did you mean "timeouts.connect-timeout"?']);
  assert.deepEqual(problems('zzzzzzzzzzzzzzzzzzzzz: 1\n'), ['isobar.yaml:1: unknown key "zzzzzzzzzzzzzzzzzzzzz"']);
});

test('Contour settings isobar does not use are warnings, not errors', () => {
  const { warnings, config } = parseConfig('debug: true\ntimeouts:\n  request-timeout: 10s\n  connect-timeout: 3s\nleaderelection:\n  configmap-name: x\n', 'c.yaml');
  assert.equal(config.timeouts.connectTimeoutMs, 3000);
  assert.equal(config.timeouts.requestTimeoutMs, 10_000);
  assert.deepEqual(warnings.map(formatProblem), [
    'c.yaml:1: debug: a Contour setting isobar does not use; ignored',
    'c.yaml:5: leaderelection: a Contour setting isobar does not use; ignored (Kubernetes mode elects its leader with a Lease of its own)',
  ]);
});

test('client certificate needs both name and namespace (Contour wording); neither is fine', () => {
  assert.deepEqual(problems('tls:\n  envoy-client-certificate:\n    name: x\n'), ['isobar.yaml:3: tls.envoy-client-certificate: invalid TLS client certificate: namespace must be defined']);
  assert.deepEqual(problems('tls:\n  envoy-client-certificate: {namespace: x}\n'), ['isobar.yaml:2: tls.envoy-client-certificate: invalid TLS client certificate: name must be defined']);
  assert.deepEqual(problems('tls:\n  fallback-certificate: {name: f}\n'), ['isobar.yaml:2: tls.fallback-certificate: invalid TLS fallback certificate: namespace must be defined']);
  assert.equal(parseConfig('tls:\n  envoy-client-certificate: {}\n', 'c').config.tls.envoyClientCertificate, undefined);
});

test('bad values: durations, TLS versions, booleans, ingress.service, account; all reported at once', () => {
  assert.deepEqual(
    problems('timeouts:\n  connect-timeout: 2\ncluster:\n  upstream-tls:\n    minimum-protocol-version: "1.1"\nenableExternalNameService: "yes"\ningress:\n  service: envoy\naws:\n  account: 1234567890123\n'),
    [
      'isobar.yaml:2: timeouts.connect-timeout: must be a Go duration string such as "2s", found number 2',
      'isobar.yaml:5: cluster.upstream-tls.minimum-protocol-version: unsupported TLS version "1.1": use "1.2" or "1.3"',
      'isobar.yaml:6: enableExternalNameService: must be true or false, found a string ("yes")',
      'isobar.yaml:8: ingress.service: must be "namespace/name", found "envoy"',
      'isobar.yaml:10: aws.account: must be a 12-digit account id (quote it: "123456789012"), found number 1234567890123',
    ],
  );
  assert.deepEqual(problems('timeouts:\n  connect-timeout: 2x\n'), ['isobar.yaml:2: timeouts.connect-timeout: invalid duration "2x": unknown unit or syntax: use Go syntax such as "2s", "500ms" or "1m30s"']);
  assert.deepEqual(problems('timeouts:\n  connect-timeout: "0s"\n'), ['isobar.yaml:2: timeouts.connect-timeout: must be greater than 0, found "0s"']);
  assert.deepEqual(problems('cluster:\n  upstream-tls:\n    minimum-protocol-version: "1.3"\n    maximum-protocol-version: "1.2"\n'), [
    'isobar.yaml: cluster.upstream-tls: minimum-protocol-version 1.3 is greater than maximum-protocol-version 1.2',
  ]);
  assert.deepEqual(problems('tls: 5\n'), ['isobar.yaml:1: tls: must be a mapping of keys (minimum-protocol-version, maximum-protocol-version, cipher-suites, envoy-client-certificate, fallback-certificate, ecdh-curves, fingerprint)']);
});

test('malformed YAML and non-mapping files', () => {
  assert.deepEqual(problems('tls: [\n'), ['isobar.yaml:2: config file is not valid YAML (column 1): Flow sequence in block collection must be sufficiently indented and end with a ]']);
  assert.deepEqual(problems('- a\n- b\n'), ['isobar.yaml:1: config file must be a mapping of keys (for example "tls:" or "timeouts:")']);
  assert.deepEqual(problems('a: 1\na: 2\n'), ['isobar.yaml:2: config file is not valid YAML (column 1): Map keys must be unique']);
});

test('loadConfigFile: missing file and folder are ConfigErrors', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'isobar-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(loadConfigFile(path.join(dir, 'none.yaml')), (e: unknown) => e instanceof ConfigError && /cannot read config file: no such file/.test(e.message));
  await assert.rejects(loadConfigFile(dir), (e: unknown) => e instanceof ConfigError && /is a folder/.test(e.message));
  await writeFile(path.join(dir, 'ok.yaml'), 'disablePermitInsecure: true\n');
  assert.equal((await loadConfigFile(path.join(dir, 'ok.yaml'))).disablePermitInsecure, true);
  assert.deepEqual(await loadConfigFile(undefined), defaultConfig());
  await writeFile(path.join(dir, 'contour.yaml'), 'debug: true\n');
  const seen: string[] = [];
  await loadConfigFile(path.join(dir, 'contour.yaml'), { onWarning: (w) => seen.push(w.message) });
  assert.deepEqual(seen, ['debug: a Contour setting isobar does not use; ignored']);
  assert.equal((await readConfigFile(path.join(dir, 'contour.yaml'))).warnings.length, 1);
});

test('Go durations', () => {
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('250us'), 0.25);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['', '2', 's', '1d', '1s2', 'abc', '--1s']) assert.throws(() => parseDuration(bad), /invalid duration/, bad);
});

test('property: arbitrary config text never throws anything but ConfigError', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
      try {
        parseConfig(text, 'p.yaml');
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
      }
    }),
    { numRuns: 300 },
  );
});

test('cluster.circuit-breakers: the defaults for Services whose annotations set none; 0 is unset; bad keys and values are errors', () => {
  const { config } = parseConfig('cluster:\n  circuit-breakers:\n    max-connections: 10\n    max-pending-requests: 0\n    max-requests: 4294967295\n    max-retries: 2\n    per-host-max-connections: 1\n', 'c.yaml');
  assert.deepEqual(config.circuitBreakers, { maxConnections: 10, maxRequests: 4294967295, maxRetries: 2, perHostMaxConnections: 1 });
  assert.deepEqual(parseConfig('cluster:\n  circuit-breakers: {}\n', 'c.yaml').config.circuitBreakers, {});
  assert.deepEqual(problems('cluster:\n  circuit-breakers:\n    max-connection: 1\n    max-retries: -1\n    max-requests: 1.5\n    max-pending-requests: "5"\n'), [
    'isobar.yaml:3: cluster.circuit-breakers: unknown key "cluster.circuit-breakers.max-connection": the keys are max-connections, max-pending-requests, max-requests, max-retries, per-host-max-connections',
    'isobar.yaml:3: cluster.circuit-breakers: max-retries: must be a whole number from 0 to 4294967295, found number -1',
    'isobar.yaml:3: cluster.circuit-breakers: max-requests: must be a whole number from 0 to 4294967295, found number 1.5',
    'isobar.yaml:3: cluster.circuit-breakers: max-pending-requests: must be a whole number from 0 to 4294967295, found a string ("5")',
  ]);
  assert.deepEqual(problems('cluster:\n  circuit-breakers: 5\n'), [
    'isobar.yaml:2: cluster.circuit-breakers: must be a mapping of max-connections, max-pending-requests, max-requests, max-retries, per-host-max-connections, found number 5',
  ]);
});

test('rateLimitService: Contour\'s keys and defaults; settings without a server, unknown keys and wrong types are errors', () => {
  const { config } = parseConfig('rateLimitService:\n  extensionService: rl/ratelimit\n  failOpen: true\n  enableXRateLimitHeaders: true\n', 'c.yaml');
  assert.deepEqual(config.rateLimitService, {
    extensionService: { namespace: 'rl', name: 'ratelimit' },
    domain: 'contour',
    failOpen: true,
    enableXRateLimitHeaders: true,
    enableResourceExhaustedCode: false,
  });
  assert.equal(parseConfig('rateLimitService:\n  extensionService: ""\n', 'c.yaml').config.rateLimitService, undefined);
  assert.deepEqual(problems('rateLimitService:\n  domain: edge\n'), [
    'isobar.yaml:2: rateLimitService: extensionService must be set ("namespace/name" of an ExtensionService) for the other rateLimitService settings to apply',
  ]);
  assert.deepEqual(problems('rateLimitService:\n  extensionService: ratelimit\n  failOpen: "yes"\n  domian: x\n  defaultGlobalRateLimitPolicy: [1]\n'), [
    'isobar.yaml:2: rateLimitService: unknown key "rateLimitService.domian": allowed are extensionService, domain, failOpen, enableXRateLimitHeaders, enableResourceExhaustedCode, defaultGlobalRateLimitPolicy',
    'isobar.yaml:2: rateLimitService: extensionService must be "namespace/name" of an ExtensionService, found string "ratelimit"',
    'isobar.yaml:2: rateLimitService: failOpen must be true or false, found string "yes"',
    'isobar.yaml:2: rateLimitService: defaultGlobalRateLimitPolicy must be a mapping (disabled, descriptors), found a list',
  ]);
  assert.deepEqual(problems('rateLimitService:\n  extensionService: a/b\n  defaultGlobalRateLimitPolicy: {descriptor: []}\n'), [
    'isobar.yaml:2: rateLimitService: unknown key "rateLimitService.defaultGlobalRateLimitPolicy.descriptor": allowed are disabled, descriptors',
  ]);
});

test('compression.algorithm: gzip (the default), brotli, zstd, disabled; anything else is Contour\'s error', () => {
  assert.deepEqual(defaultConfig().compression, { algorithm: 'gzip' });
  for (const a of ['gzip', 'brotli', 'zstd', 'disabled']) assert.equal(parseConfig(`compression:\n  algorithm: ${a}\n`, 'c.yaml').config.compression.algorithm, a);
  assert.equal(parseConfig('compression:\n  algorithm: ""\n', 'c.yaml').config.compression.algorithm, 'gzip');
  assert.deepEqual(problems('compression:\n  algorithm: deflate\n'), ['isobar.yaml:2: compression.algorithm: invalid compression type: "deflate"']);
  assert.deepEqual(problems('compression:\n  level: 9\n'), ['isobar.yaml:2: unknown key "compression.level": did you mean "server"?']);
});

test("cluster.dns-lookup-family, max-requests-per-connection and per-connection-buffer-limit-bytes: Contour's values and errors", () => {
  assert.deepEqual(defaultConfig().cluster, { dnsLookupFamily: 'auto' });
  for (const family of ['auto', 'v4', 'v6', 'all'] as const) {
    assert.equal(parseConfig(`cluster:\n  dns-lookup-family: ${family}\n`, 'c.yaml').config.cluster.dnsLookupFamily, family);
  }
  const { config, warnings } = parseConfig('cluster:\n  max-requests-per-connection: 100\n  per-connection-buffer-limit-bytes: 32768\n', 'c.yaml');
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.cluster, { dnsLookupFamily: 'auto', maxRequestsPerConnection: 100, perConnectionBufferLimitBytes: 32768 });
  assert.deepEqual(problems('cluster:\n  dns-lookup-family: ipv4\n  max-requests-per-connection: 0\n  per-connection-buffer-limit-bytes: 0\n'), [
    'isobar.yaml:2: cluster.dns-lookup-family: invalid cluster DNS lookup family "ipv4"',
    'isobar.yaml:3: cluster.max-requests-per-connection: invalid max connections per request value 0 set on cluster, minimum value is 1',
    'isobar.yaml:4: cluster.per-connection-buffer-limit-bytes: invalid per connections buffer limit bytes value 0 set on cluster, minimum value is 1',
  ]);
  assert.deepEqual(problems('cluster:\n  dns-lookup-family: 4\n  max-requests-per-connection: -1\n  per-connection-buffer-limit-bytes: "big"\n'), [
    'isobar.yaml:2: cluster.dns-lookup-family: invalid cluster DNS lookup family "4"',
    'isobar.yaml:3: cluster.max-requests-per-connection: must be a whole number from 0 to 4294967295, found number -1',
    'isobar.yaml:4: cluster.per-connection-buffer-limit-bytes: must be a whole number from 0 to 4294967295, found a string ("big")',
  ]);
});
