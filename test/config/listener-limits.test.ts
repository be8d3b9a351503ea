// listener.*, network.num-trusted-hops, the downstream timeouts.*, the
// listeners' tls.* and the access log keys: what each value loads as, and
// Contour's own error text (pkg/config/parameters.go,
// apis/projectcontour/v1alpha1/accesslog.go, contourconfig_helpers.go) for
// what Contour refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configProblems } from './support.ts';
import { parseConfig, formatProblem, opensslCipherList, DEFAULT_TLS_CIPHERS } from '../../src/config/index.ts';
import { configProxySettings } from '../../src/serve/index.ts';

const downstreamSettings = (c: Parameters<typeof configProxySettings>[0]) => configProxySettings(c).downstream!;

const load = (text: string) => parseConfig(text, 'c.yaml');
const problems = (text: string): string[] => configProblems(text, 'c.yaml');

test('listener limits: whole numbers from 1; 0 is Contour\'s error, other values are refused', () => {
  const { config, warnings } = load(
    'listener:\n  max-connections-per-listener: 3\n  max-requests-per-connection: 10\n  per-connection-buffer-limit-bytes: 32768\n  http2-max-concurrent-streams: 50\n',
  );
  assert.deepEqual(config.listener, { maxConnectionsPerListener: 3, maxRequestsPerConnection: 10, perConnectionBufferLimitBytes: 32768, http2MaxConcurrentStreams: 50 });
  assert.deepEqual(warnings, []);
  const rows: [string, string][] = [
    ['max-connections-per-listener: 0', 'listener.max-connections-per-listener: invalid max connections per listener value 0 set on listener, minimum value is 1'],
    ['max-requests-per-connection: 0', 'listener.max-requests-per-connection: invalid max connections per request value 0 set on listener, minimum value is 1'],
    ['per-connection-buffer-limit-bytes: 0', 'listener.per-connection-buffer-limit-bytes: invalid per connections buffer limit bytes value 0 set on listener, minimum value is 1'],
    ['http2-max-concurrent-streams: 0', 'listener.http2-max-concurrent-streams: invalid max HTTP/2 concurrent streams value 0 set on listener, minimum value is 1'],
    ['max-connections-per-listener: -1', 'listener.max-connections-per-listener: must be a whole number from 1 to 4294967295, found number -1'],
    ['max-requests-per-connection: 1.5', 'listener.max-requests-per-connection: must be a whole number from 1 to 4294967295, found number 1.5'],
    ['http2-max-concurrent-streams: "100"', 'listener.http2-max-concurrent-streams: must be a whole number from 1 to 4294967295, found a string ("100")'],
    ['max-connections-per-listener: 4294967296', 'listener.max-connections-per-listener: must be a whole number from 1 to 4294967295, found number 4294967296'],
    ['connection-balancer: round-robin', `listener.connection-balancer: invalid listener connection balancer value "round-robin", only 'exact' connection balancing is supported for now`],
    ['connection-balancer: [exact]', 'listener.connection-balancer: must be a string ("exact"), found a list'],
  ];
  for (const [line, message] of rows) assert.deepEqual(problems(`listener:\n  ${line}\n`), [`c.yaml:2: ${message}`], line);
});

test('listener.connection-balancer: exact loads without a warning (serve applies it); "" is the default', () => {
  const { config, warnings } = load('listener:\n  connection-balancer: exact\n');
  assert.equal(config.listener.connectionBalancer, 'exact');
  assert.deepEqual(warnings.map(formatProblem), []);
  assert.deepEqual(load('listener:\n  connection-balancer: ""\n').config.listener, {});
});

test('network.num-trusted-hops: a uint32, 0 the default', () => {
  assert.equal(load('').config.numTrustedHops, 0);
  assert.equal(load('network:\n  num-trusted-hops: 2\n').config.numTrustedHops, 2);
  assert.deepEqual(problems('network:\n  num-trusted-hops: -1\n'), ['c.yaml:2: network.num-trusted-hops: must be a whole number from 0 to 4294967295, found number -1']);
  assert.deepEqual(problems('network:\n  num-trusted-hops: two\n'), ['c.yaml:2: network.num-trusted-hops: must be a whole number from 0 to 4294967295, found a string ("two")']);
});

test('downstream timeouts: Go durations, infinity disables, "" and 0s are Envoy\'s default; Contour\'s errors with Go\'s text', () => {
  const { config } = load(
    'timeouts:\n  request-timeout: 30s\n  connection-idle-timeout: infinity\n  stream-idle-timeout: 1m30s\n  max-connection-duration: 1h\n  delayed-close-timeout: infinite\n',
  );
  assert.deepEqual(config.timeouts, {
    connectTimeoutMs: 2000,
    requestTimeoutMs: 30_000,
    connectionIdleTimeoutMs: null,
    streamIdleTimeoutMs: 90_000,
    maxConnectionDurationMs: 3_600_000,
    delayedCloseTimeoutMs: null,
  });
  // Contour's default connection idle timeout is 60 s; "0s" and "" ask for Envoy's.
  assert.equal(load('').config.timeouts.connectionIdleTimeoutMs, 60_000);
  assert.equal(load('timeouts:\n  connection-idle-timeout: 0s\n').config.timeouts.connectionIdleTimeoutMs, undefined);
  assert.equal(load('timeouts:\n  connection-idle-timeout: ""\n').config.timeouts.connectionIdleTimeoutMs, undefined);
  const rows: [string, string][] = [
    ['request-timeout: abc', 'timeouts.request-timeout: invalid request timeout "abc": time: invalid duration "abc"'],
    ['connection-idle-timeout: "10"', 'timeouts.connection-idle-timeout: connection idle timeout "10": time: missing unit in duration "10"'],
    ['stream-idle-timeout: 5d', 'timeouts.stream-idle-timeout: stream idle timeout "5d": time: unknown unit "d" in duration "5d"'],
    ['max-connection-duration: 1h.', 'timeouts.max-connection-duration: max connection duration "1h.": time: invalid duration "1h."'],
    ['delayed-close-timeout: -1s', 'timeouts.delayed-close-timeout: delayed close timeout "-1s": must not be negative'],
    ['connection-shutdown-grace-period: forever', 'timeouts.connection-shutdown-grace-period: connection shutdown grace period "forever": time: invalid duration "forever"'],
    ['request-timeout: 30', 'timeouts.request-timeout: must be a Go duration string such as "30s", or "infinity", found number 30'],
  ];
  for (const [line, message] of rows) assert.deepEqual(problems(`timeouts:\n  ${line}\n`), [`c.yaml:2: ${message}`], line);
});

test('timeouts.delayed-close-timeout and connection-shutdown-grace-period load without a warning; the proxy gets Envoy\'s semantics', () => {
  const rows: { yaml: string; delayed: number | null | undefined; grace: number | null | undefined; proxy: { delayedCloseMs: number; http2ShutdownGraceMs?: number } }[] = [
    // Unset: Envoy's 1 s delayed close; no shutdown notice (isobar's default, README).
    { yaml: '', delayed: undefined, grace: undefined, proxy: { delayedCloseMs: 1000 } },
    { yaml: 'delayed-close-timeout: 250ms\n  connection-shutdown-grace-period: 5s', delayed: 250, grace: 5000, proxy: { delayedCloseMs: 250, http2ShutdownGraceMs: 5000 } },
    // "infinity" disables (Envoy's 0): the socket closes once the FIN is
    // flushed; the final GOAWAY comes at once.
    { yaml: 'delayed-close-timeout: infinity\n  connection-shutdown-grace-period: infinite', delayed: null, grace: null, proxy: { delayedCloseMs: 0, http2ShutdownGraceMs: 0 } },
    // "" and "0s" are Envoy's default, as in Contour's timeout.Parse.
    { yaml: 'delayed-close-timeout: 0s\n  connection-shutdown-grace-period: ""', delayed: undefined, grace: undefined, proxy: { delayedCloseMs: 1000 } },
  ];
  for (const row of rows) {
    const { config, warnings } = load(`timeouts:\n  ${row.yaml}\n`);
    assert.deepEqual(warnings, [], row.yaml);
    assert.equal(config.timeouts.delayedCloseTimeoutMs, row.delayed, row.yaml);
    assert.equal(config.timeouts.connectionShutdownGracePeriodMs, row.grace, row.yaml);
    const d = downstreamSettings(config);
    assert.deepEqual({ delayedCloseMs: d.delayedCloseMs, ...(d.http2ShutdownGraceMs !== undefined ? { http2ShutdownGraceMs: d.http2ShutdownGraceMs } : {}) }, row.proxy, row.yaml);
  }
  // request-timeout reaches the proxy for HTTP/1 and HTTP/2 alike; infinity disables it.
  assert.equal(downstreamSettings(load('timeouts:\n  request-timeout: 2s\n').config).requestTimeoutMs, 2000);
  assert.equal(downstreamSettings(load('timeouts:\n  request-timeout: infinity\n').config).requestTimeoutMs, 0);
  assert.equal(downstreamSettings(load('').config).requestTimeoutMs, undefined);
});

test("the listeners' tls.*: versions 1.2/1.3, Contour's cipher names (groups too), deduplicated; Contour's errors", () => {
  const { config } = load('tls:\n  minimum-protocol-version: "1.3"\n  cipher-suites:\n    - ECDHE-RSA-AES256-GCM-SHA384\n    - "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]"\n    - ECDHE-RSA-AES256-GCM-SHA384\n');
  assert.equal(config.tls.minimumProtocolVersion, '1.3');
  assert.equal(config.tls.maximumProtocolVersion, '1.3');
  assert.deepEqual(config.tls.cipherSuites, ['ECDHE-RSA-AES256-GCM-SHA384', '[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]']);
  assert.equal(load('tls:\n  maximum-protocol-version: 1.2\n').config.tls.maximumProtocolVersion, '1.2');
  assert.deepEqual(problems('tls:\n  minimum-protocol-version: "1.1"\n'), ['c.yaml:2: tls.minimum-protocol-version: invalid TLS Protocol Parameters: invalid TLS minimum protocol version: "1.1"']);
  assert.deepEqual(problems('tls:\n  maximum-protocol-version: "1.4"\n'), ['c.yaml:2: tls.maximum-protocol-version: invalid TLS Protocol Parameters: invalid TLS maximum protocol version: "1.4"']);
  assert.deepEqual(problems('tls:\n  minimum-protocol-version: "1.3"\n  maximum-protocol-version: "1.2"\n'), [
    'c.yaml: tls: invalid TLS Protocol Parameters: the minimum TLS protocol version is greater than the maximum TLS protocol version',
  ]);
  assert.deepEqual(problems('tls:\n  cipher-suites:\n    - ECDHE-RSA-AES256-GCM-SHA384\n    - DHE-RSA-AES256-SHA\n    - "[AES128-SHA|RC4-MD5]"\n'), [
    'c.yaml:3: tls.cipher-suites: invalid TLS Protocol Parameters: invalid TLS cipher suites: invalid cipher suites ["DHE-RSA-AES256-SHA" "[AES128-SHA|RC4-MD5]"]',
  ]);
  assert.deepEqual(problems('tls:\n  cipher-suites: AES128-SHA\n'), ['c.yaml:2: tls.cipher-suites: must be a list of cipher names']);
  // OpenSSL has no equal-preference groups: a group's ciphers in its order.
  assert.equal(
    opensslCipherList(DEFAULT_TLS_CIPHERS),
    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384',
  );
});

test('access log keys: format, level, format string and JSON fields load; Contour\'s errors for what it refuses', () => {
  assert.deepEqual(load('').config.accessLog, { format: 'envoy', level: 'info' });
  const { config } = load('accesslog-format: json\naccesslog-level: critical\njson-fields:\n  - "@timestamp"\n  - method\n  - bytes_sent\n  - "custom=%REQ(X-CUSTOM):10%"\n');
  assert.deepEqual(config.accessLog, { format: 'json', level: 'critical', jsonFields: ['@timestamp', 'method', 'bytes_sent', 'custom=%REQ(X-CUSTOM):10%'] });
  assert.equal(load('accesslog-format-string: "%START_TIME(%s.%3f)% %RESPONSE_CODE%\\n"\n').config.accessLog.formatString, '%START_TIME(%s.%3f)% %RESPONSE_CODE%\n');
  const rows: [string, string][] = [
    ['accesslog-format: text', 'c.yaml:1: accesslog-format: invalid access log format "text"'],
    ['accesslog-level: warn', 'c.yaml:1: accesslog-level: invalid access log level "warn"'],
    ['accesslog-format-string: "%START_TIME%"', 'c.yaml:1: accesslog-format-string: invalid access log format: must end in newline'],
    ['accesslog-format-string: "%FOO%\\n"', 'c.yaml:1: accesslog-format-string: invalid access log format: invalid Envoy format: [%FOO% FOO% FOO  ], invalid Envoy operator: FOO'],
    ['accesslog-format-string: "%REQ%\\n"', 'c.yaml:1: accesslog-format-string: invalid access log format: invalid Envoy format: [%REQ% REQ% REQ  ], arguments required for operator: REQ'],
    ['accesslog-format-string: "%START_TIME(%s):3%\\n"', 'c.yaml:1: accesslog-format-string: invalid access log format: invalid Envoy format: [%START_TIME(%s):3% START_TIME(%s):3% START_TIME (%s):3 :3], operator START_TIME cannot have truncation length'],
    ['accesslog-format-string: "100% done\\n"', 'c.yaml:1: accesslog-format-string: invalid access log format: invalid Envoy format: [%    ]'],
    ['json-fields: [nonsense]', 'c.yaml:1: json-fields: invalid JSON log field name nonsense'],
    ['json-fields: ["x=%NOPE%"]', 'c.yaml:1: json-fields: invalid JSON field: invalid Envoy format: [%NOPE% NOPE% NOPE  ], invalid Envoy operator: NOPE'],
    ['json-fields: "@timestamp"', 'c.yaml:1: json-fields: must be a list of field names (or name=format)'],
  ];
  for (const [text, message] of rows) assert.deepEqual(problems(`${text}\n`), [message], text);
});
