// Contour's own config files load unchanged (test/config/fixtures/README.md
// says where each came from), and every key of Contour's
// pkg/config/parameters.go is either honoured or named in a warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { configProblems } from './support.ts';
import { parseConfig, formatProblem, defaultConfig } from '../../src/config/index.ts';

const fixture = (name: string): Promise<string> => readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const problems = (text: string): string[] => configProblems(text, 'c.yaml');

test("Contour's examples/contour/01-contour-config.yaml (a ConfigMap) loads unchanged; warnings name lines of the file", async () => {
  const { config, warnings } = parseConfig(await fixture('contour-01-contour-config.yaml'), '01-contour-config.yaml');
  assert.deepEqual(config, defaultConfig());
  assert.deepEqual(warnings.map(formatProblem), []);
});

test("the configuration example of Contour's configuration.md loads unchanged", async () => {
  const { config, warnings } = parseConfig(await fixture('contour-configuration-md-example.yaml'), 'configuration.md.yaml');
  assert.deepEqual(config, defaultConfig());
  assert.deepEqual(warnings.map((w) => w.message.split(':')[0]), []);
});

test('every key of Contour parameters.go loads: honoured, or a warning that names it', async () => {
  const { config, warnings } = parseConfig(await fixture('contour-every-key.yaml'), 'every.yaml');
  assert.deepEqual(config.tls, {
    minimumProtocolVersion: '1.2',
    maximumProtocolVersion: '1.3',
    cipherSuites: ['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]'],
    fallbackCertificate: { namespace: 'projectcontour', name: 'fallback-secret-name' },
    envoyClientCertificate: { namespace: 'projectcontour', name: 'envoy-client-cert-secret-name' },
  });
  assert.deepEqual(config.accessLog, { format: 'json', formatString: '[%START_TIME%] "%REQ(:METHOD)%"\n', jsonFields: ['@timestamp', 'authority'], level: 'info' });
  assert.deepEqual(config.listener, { connectionBalancer: 'exact', maxRequestsPerConnection: 1, perConnectionBufferLimitBytes: 32768, http2MaxConcurrentStreams: 100, maxConnectionsPerListener: 10000 });
  assert.deepEqual(config.timeouts, {
    connectTimeoutMs: 2000,
    requestTimeoutMs: null,
    connectionIdleTimeoutMs: 60_000,
    streamIdleTimeoutMs: 300_000,
    maxConnectionDurationMs: null,
    delayedCloseTimeoutMs: 1000,
    connectionShutdownGracePeriodMs: 5000,
  });
  assert.deepEqual(config.ingressService, { namespace: 'projectcontour', name: 'envoy' });
  assert.deepEqual(config.gatewayRef, { namespace: 'projectcontour', name: 'contour' });
  assert.equal(config.timeouts.connectTimeoutMs, 2000);
  assert.deepEqual(config.policy.requestHeaders.remove, ['X-Internal']);
  assert.deepEqual(config.compression, { algorithm: 'gzip' });
  assert.deepEqual(config.rateLimitService, {
    extensionService: { namespace: 'projectcontour', name: 'ratelimit' },
    domain: 'contour',
    failOpen: false,
    enableXRateLimitHeaders: false,
    enableResourceExhaustedCode: false,
    defaultGlobalRateLimitPolicy: { descriptors: [{ entries: [{ remoteAddress: {} }] }] },
  });
  assert.deepEqual(config.circuitBreakers, { maxConnections: 100, maxPendingRequests: 100, maxRequests: 100, maxRetries: 3, perHostMaxConnections: 10 });
  assert.deepEqual(config.cluster, { dnsLookupFamily: 'auto', maxRequestsPerConnection: 1, perConnectionBufferLimitBytes: 32768 });
  assert.deepEqual(config.ingressStatusAddress, [{ hostname: 'local.projectcontour.io' }]);
  const warned = warnings.map((w) => w.message.slice(0, w.message.indexOf(':')));
  // Each ignored key once, at its own line; keys inside it are not repeated.
  assert.deepEqual(warned, [
    'debug',
    'incluster',
    'kubeconfig',
    'kubernetesClientQPS',
    'kubernetesClientBurst',
    'server.xds-server-type',
    'tls.ecdh-curves',
    'tls.fingerprint',
    'disableAllowChunkedLength',
    'serverHeaderTransformation',
    'policy.applyToIngress',
    'default-http-versions',
    'cluster.upstream-tls.cipher-suites',
    'cluster.upstream-tls.ecdh-curves',
    'network.admin-port',
    'network.strip-trailing-host-dot',
    'listener.socket-options',
    'listener.max-requests-per-io-cycle',
    'listener.max-connections-to-accept-per-socket-event',
    'metrics',
    'tracing',
    'featureFlags',
    'omEnforcedHealthListener',
    'runtime-settings',
  ]);
  for (const w of warnings) assert.match(w.message, /^[\w.-]+: a Contour setting isobar does not use; ignored/);
  assert.ok(warnings.every((w) => typeof w.line === 'number'));
});

test('envoy-service-name/-namespace name the ingress Service; with ingress.service too it is an error', () => {
  assert.deepEqual(parseConfig('envoy-service-namespace: edge\nenvoy-service-name: proxy\n', 'c').config.ingressService, { namespace: 'edge', name: 'proxy' });
  assert.deepEqual(parseConfig('envoy-service-name: proxy\n', 'c').config.ingressService, { namespace: 'projectcontour', name: 'proxy' });
  assert.deepEqual(problems('envoy-service-name: Proxy_1\n'), ["c.yaml:1: envoy-service-name: must be a Kubernetes name (lower case letters, digits and '-'), found a string (\"Proxy_1\")"]);
  assert.deepEqual(problems('envoy-service-namespace: [a]\n'), ["c.yaml:1: envoy-service-namespace: must be a Kubernetes name (lower case letters, digits and '-'), found a list"]);
  assert.deepEqual(problems('ingress:\n  service: a/b\nenvoy-service-name: b\n'), ['c.yaml: ingress.service and envoy-service-name/envoy-service-namespace name the same Service: set one of them']);
});

test('a ConfigMap as config file: contour.yaml or its only key; problems name lines of the outer file', () => {
  const cm = (data: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: contour\ndata:\n${data}`;
  assert.equal(parseConfig(cm('  contour.yaml: |\n    disablePermitInsecure: true\n'), 'c').config.disablePermitInsecure, true);
  assert.equal(parseConfig(cm('  other.yaml: |\n    disablePermitInsecure: true\n'), 'c').config.disablePermitInsecure, true);
  assert.equal(parseConfig(cm('  contour.yaml: "disablePermitInsecure: true"\n'), 'c').config.disablePermitInsecure, true);
  assert.deepEqual(problems(cm('  contour.yaml: |\n    tls:\n      bogus: 1\n')), ['c.yaml:8: unknown key "tls.bogus"']);
  assert.deepEqual(problems(cm('  contour.yaml: |\n    a: [\n')), ['c.yaml:8: config file is not valid YAML (column 1): Flow sequence in block collection must be sufficiently indented and end with a ]']);
  assert.deepEqual(problems(cm('  a: x\n  b: y\n')), ['c.yaml:6: a ConfigMap as config file needs data with a contour.yaml key (found a, b)']);
  assert.deepEqual(problems(cm('  contour.yaml: 5\n')), ['c.yaml:6: data.contour.yaml: must be the config file\'s text']);
  assert.deepEqual(problems('apiVersion: v1\nkind: ConfigMap\n'), ['c.yaml:1: a ConfigMap as config file needs data with a contour.yaml key']);
  // Not a ConfigMap: its keys are config keys like any other.
  assert.deepEqual(problems('kind: Secret\n'), ['c.yaml:1: unknown key "kind"']);
});
