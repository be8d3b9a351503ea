// The access log as Contour configures Envoy's: Envoy's default text
// format, custom format strings (each command operator), Contour's JSON
// fields and accesslog-level; and the entries a real request through the
// runtime gives the formatter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { accessLogFormatter, formatStartTime, type AccessLogEntry } from '../../src/proxy/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost } from './fixtures.ts';

const START = Date.UTC(2026, 1, 3, 4, 5, 6, 789);

function entry(extra: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: new Date(START).toISOString(),
    method: 'GET',
    path: '/a/b?x=1',
    protocol: 'HTTP/1.1',
    status: 200,
    responseFlags: '-',
    bytesReceived: 12,
    bytesSent: 345,
    durationMs: 6.9,
    upstreamHost: '10.0.0.1:8080',
    upstreamCluster: 'default/app/80/da39a3ee5e',
    xForwardedFor: '203.0.113.7, 127.0.0.2',
    userAgent: 'curl/8',
    requestId: 'req-1',
    authority: 'app.example.test',
    listener: 'ingress_https',
    downstreamRemoteAddress: '203.0.113.7:0',
    startMs: START,
    requestHeaders: { 'user-agent': 'curl/8', 'x-custom': 'abcdefghij', accept: ['a', 'b'] },
    responseHeaders: { 'x-envoy-upstream-service-time': '4', 'content-type': 'text/plain' },
    responseTrailers: { 'x-trailer': 't' },
    attempts: 2,
    route: { namespace: 'default', name: 'app' },
    downstreamLocalAddress: '127.0.0.1:8443',
    downstreamDirectRemoteAddress: '127.0.0.2:51000',
    connectionId: 42,
    requestedServerName: 'app.example.test',
    tlsVersion: 'TLSv1.3',
    tlsCipher: 'TLS_AES_128_GCM_SHA256',
    ...extra,
  };
}

/** The line a format string gives, through the config file's own validation. */
function line(format: string, e = entry()): string | undefined {
  const { config: c } = parseConfig(`accesslog-format-string: ${JSON.stringify(`${format}\n`)}\n`, 'c.yaml');
  return accessLogFormatter(c.accessLog)!(e)?.replace(/\n$/, '');
}

test("the default: Envoy's default text format, as Contour leaves it", () => {
  const f = accessLogFormatter(parseConfig('', 'c.yaml').config.accessLog)!;
  assert.equal(
    f(entry()),
    '[2026-02-03T04:05:06.789Z] "GET /a/b?x=1 HTTP/1.1" 200 - 12 345 6 4 "203.0.113.7, 127.0.0.2" "curl/8" "req-1" "app.example.test" "10.0.0.1:8080"\n',
  );
  // A local reply: no upstream, no service time.
  assert.equal(
    f(entry({ status: 404, responseFlags: 'NR', upstreamHost: '-', responseHeaders: {}, bytesSent: 0 })),
    '[2026-02-03T04:05:06.789Z] "GET /a/b?x=1 HTTP/1.1" 404 NR 12 0 6 - "203.0.113.7, 127.0.0.2" "curl/8" "req-1" "app.example.test" "-"\n',
  );
});

test('each command operator isobar has a value for', () => {
  const rows: [string, string][] = [
    ['%BYTES_RECEIVED%', '12'],
    ['%BYTES_SENT%', '345'],
    ['%CONNECTION_ID%', '42'],
    ['%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%', '127.0.0.2:51000'],
    ['%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%', '127.0.0.2'],
    ['%DOWNSTREAM_DIRECT_REMOTE_PORT%', '51000'],
    ['%DOWNSTREAM_LOCAL_ADDRESS%', '127.0.0.1:8443'],
    ['%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%', '127.0.0.1'],
    ['%DOWNSTREAM_LOCAL_PORT%', '8443'],
    ['%DOWNSTREAM_REMOTE_ADDRESS%', '203.0.113.7:0'],
    ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '203.0.113.7'],
    ['%DOWNSTREAM_REMOTE_PORT%', '0'],
    ['%DOWNSTREAM_TLS_CIPHER%', 'TLS_AES_128_GCM_SHA256'],
    ['%DOWNSTREAM_TLS_VERSION%', 'TLSv1.3'],
    ['%DURATION%', '6'],
    ['%HOSTNAME%', hostname()],
    ['%PROTOCOL%', 'HTTP/1.1'],
    ['%REQUESTED_SERVER_NAME%', 'app.example.test'],
    ['%RESPONSE_CODE%', '200'],
    ['%RESPONSE_FLAGS%', '-'],
    ['%START_TIME%', '2026-02-03T04:05:06.789Z'],
    ['%UPSTREAM_CLUSTER%', 'default/app/80/da39a3ee5e'],
    ['%UPSTREAM_HOST%', '10.0.0.1:8080'],
    ['%UPSTREAM_REMOTE_ADDRESS%', '10.0.0.1:8080'],
    ['%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '10.0.0.1'],
    ['%UPSTREAM_REMOTE_PORT%', '8080'],
    ['%UPSTREAM_REQUEST_ATTEMPT_COUNT%', '2'],
    ['%REQ(:METHOD)%', 'GET'],
    ['%REQ(:PATH)%', '/a/b?x=1'],
    ['%REQ(:AUTHORITY)%', 'app.example.test'],
    ['%REQ(HOST)%', 'app.example.test'],
    ['%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', '/a/b?x=1'],
    ['%REQ(USER-AGENT)%', 'curl/8'],
    ['%REQ(X-FORWARDED-FOR)%', '203.0.113.7, 127.0.0.2'],
    ['%REQ(X-REQUEST-ID)%', 'req-1'],
    ['%REQ(ACCEPT)%', 'a,b'],
    ['%REQ(X-MISSING?X-CUSTOM)%', 'abcdefghij'],
    ['%REQ(X-CUSTOM):4%', 'abcd'],
    ['%REQ(X-MISSING)%', '-'],
    ['%REQ_WITHOUT_QUERY(:PATH)%', '/a/b'],
    ['%RESP(CONTENT-TYPE)%', 'text/plain'],
    ['%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%', '4'],
    ['%RESP(:STATUS)%', '200'],
    ['%TRAILER(X-TRAILER)%', 't'],
    ['%START_TIME(%Y/%m/%d %H:%M:%S)%', '2026/02/03 04:05:06'],
    ['%START_TIME(%s.%3f)%', `${Math.floor(START / 1000)}.789`],
    ['%START_TIME(%E3S %6f %f %j %F %T %z)%', '06.789 789000 789000000 034 2026-02-03 04:05:06 +0000'],
    ['%ENVIRONMENT(ISOBAR_ACCESS_LOG_TEST)%', 'from-env'],
    ['%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%', 'HTTPProxy'],
    ['%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.namespace)%', 'default'],
    ['%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.name)%', 'app'],
    // Operators Contour accepts that isobar has no value for print "-".
    ['%UPSTREAM_LOCAL_ADDRESS%', '-'],
    ['%DOWNSTREAM_PEER_SUBJECT%', '-'],
    ['%ROUTE_NAME%', '-'],
    ['text only, 100 dollars', 'text only, 100 dollars'],
  ];
  process.env.ISOBAR_ACCESS_LOG_TEST = 'from-env';
  for (const [format, want] of rows) assert.equal(line(format), want, format);
  assert.equal(line('%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%', entry({ route: { kind: 'Ingress', namespace: 'n', name: 'i' } })), 'Ingress');
});

test('gRPC status: from grpc-status (trailers, then headers), else mapped from the HTTP status; only for gRPC requests', () => {
  const grpc = { 'content-type': 'application/grpc' };
  assert.equal(line('%GRPC_STATUS% %GRPC_STATUS_NUMBER%', entry({ requestHeaders: grpc, responseTrailers: { 'grpc-status': '5' } })), 'NotFound 5');
  assert.equal(line('%GRPC_STATUS% %GRPC_STATUS_NUMBER%', entry({ requestHeaders: grpc, responseTrailers: {}, responseHeaders: { 'grpc-status': '0' } })), 'OK 0');
  assert.equal(line('%GRPC_STATUS% %GRPC_STATUS_NUMBER%', entry({ requestHeaders: grpc, responseTrailers: {}, responseHeaders: {}, status: 503 })), 'Unavailable 14');
  assert.equal(line('%GRPC_STATUS%', entry()), '-');
});

test("JSON: Contour's default fields, typed values, empty ones left out, keys in order; custom fields", () => {
  const f = accessLogFormatter(parseConfig('accesslog-format: json\n', 'c.yaml').config.accessLog)!;
  assert.deepEqual(JSON.parse(f(entry())!), {
    '@timestamp': '2026-02-03T04:05:06.789Z',
    authority: 'app.example.test',
    bytes_received: 12,
    bytes_sent: 345,
    downstream_local_address: '127.0.0.1:8443',
    downstream_remote_address: '203.0.113.7:0',
    duration: 6,
    method: 'GET',
    path: '/a/b?x=1',
    protocol: 'HTTP/1.1',
    request_id: 'req-1',
    requested_server_name: 'app.example.test',
    response_code: 200,
    response_flags: '-',
    upstream_cluster: 'default/app/80/da39a3ee5e',
    upstream_host: '10.0.0.1:8080',
    upstream_service_time: '4',
    user_agent: 'curl/8',
    x_forwarded_for: '203.0.113.7, 127.0.0.2',
  });
  assert.ok(f(entry())!.startsWith('{"@timestamp":'), 'keys sorted');
  const custom = accessLogFormatter(
    parseConfig('accesslog-format: json\njson-fields:\n  - method\n  - connection_id\n  - "who=%REQ(X-CUSTOM):3%-%RESPONSE_CODE%"\n  - "kind=%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%"\n', 'c.yaml').config.accessLog,
  )!;
  assert.equal(custom(entry()), '{"connection_id":42,"kind":"HTTPProxy","method":"GET","who":"abc-200"}\n');
});

test("accesslog-level: error keeps status >= 300 or a response flag, critical >= 500 or a flag, disabled has no log", () => {
  const at = (level: string) => accessLogFormatter(parseConfig(`accesslog-level: ${level}\n`, 'c.yaml').config.accessLog);
  const kept = (level: string, e: AccessLogEntry): boolean => at(level)!(e) !== undefined;
  assert.equal(kept('info', entry()), true);
  assert.equal(kept('error', entry()), false);
  assert.equal(kept('error', entry({ status: 302 })), true);
  assert.equal(kept('error', entry({ status: 200, responseFlags: 'DC' })), true);
  assert.equal(kept('critical', entry({ status: 404 })), false);
  assert.equal(kept('critical', entry({ status: 503 })), true);
  assert.equal(kept('critical', entry({ status: 404, responseFlags: 'NR' })), true);
  assert.equal(at('disabled'), undefined);
});

test('formatStartTime: a strftime subset in UTC', () => {
  assert.equal(formatStartTime(START, '%a %b %e %y %%'), 'Tue Feb  3 26 %');
});

test('a real request gives the formatter what Envoy would log', async () => {
  const app = await httpBackend('app');
  const p = await startProxy(config({ httpVirtualHosts: [vhost('log.test', [route({ to: 'app' })])], clusters: [cluster('app', [ep(app)])] }));
  try {
    const r = await get(p.port(), '/logged?q=1', { host: 'log.test', 'user-agent': 'agent/1', 'x-forwarded-for': '198.51.100.9' });
    assert.equal(r.status, 200);
    const f = accessLogFormatter(parseConfig('', 'c.yaml').config.accessLog)!;
    const e = p.logs.at(-1)!;
    const text = f(e)!;
    const m = /^\[(\S+)\] "GET \/logged\?q=1 HTTP\/1\.1" 200 - 0 (\d+) (\d+) (\d+) "198\.51\.100\.9, 127\.0\.0\.1" "agent\/1" "([0-9a-f-]{36})" "log\.test" "127\.0\.0\.1:(\d+)"\n$/.exec(text);
    assert.ok(m, text);
    assert.equal(Number(m[6]), app.port);
    assert.equal(Number(m[2]), Buffer.byteLength(r.body));
    assert.equal(m[5], app.seen.at(-1)!.headers['x-request-id']);
    assert.equal(line('%DOWNSTREAM_LOCAL_PORT% %UPSTREAM_REQUEST_ATTEMPT_COUNT% %CONNECTION_ID%', e)?.split(' ').slice(0, 2).join(' '), `${p.port()} 1`);
  } finally {
    await p.close();
    await app.close();
  }
});
