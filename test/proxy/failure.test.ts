// The failure table: which code an upstream error gets, and what each code
// answers (status, Envoy's body and response flag, retry condition).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAILURES, failureBody, upstreamFailure, type FailureCode } from '../../src/proxy/failure.ts';
import { UpstreamConnectError } from '../../src/proxy/upstream-tls.ts';

function coded(code: string, message = code): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

const classified: { name: string; err: Error; afterHeaders?: boolean; code: FailureCode }[] = [
  { name: 'TLS handshake failed', err: new UpstreamConnectError('tls', 'CERTIFICATE_VERIFY_FAILED: CERT_HAS_EXPIRED: x'), code: 'upstream-tls' },
  { name: 'connect timeout', err: new UpstreamConnectError('timeout', 'connect timeout after 5 ms'), code: 'connect-timeout' },
  { name: 'connection refused', err: new UpstreamConnectError('connect', 'ECONNREFUSED: x', coded('ECONNREFUSED')), code: 'connect-refused' },
  { name: 'other connect error', err: new UpstreamConnectError('connect', 'EHOSTUNREACH: x', coded('EHOSTUNREACH')), code: 'connect-failure' },
  { name: 'a connect error is one even after headers', err: new UpstreamConnectError('connect', 'x'), afterHeaders: true, code: 'connect-failure' },
  { name: 'anything after the response headers', err: coded('UND_ERR_SOCKET'), afterHeaders: true, code: 'response-reset' },
  { name: 'socket closed under the request', err: coded('UND_ERR_SOCKET'), code: 'socket-closed' },
  { name: 'body shorter than its length', err: coded('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'), code: 'request-body-aborted' },
  { name: 'body aborted', err: coded('UND_ERR_ABORTED'), code: 'request-body-aborted' },
  { name: 'HTTP/2 REFUSED_STREAM', err: coded('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_REFUSED_STREAM'), code: 'refused-stream' },
  { name: 'other HTTP/2 stream error', err: coded('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_INTERNAL_ERROR'), code: 'reset' },
  { name: 'an uncoded error', err: new Error('boom'), code: 'reset' },
];

for (const row of classified) {
  test(`upstream error: ${row.name} -> ${row.code}`, () => {
    assert.equal(upstreamFailure(row.err, row.afterHeaders ?? false), row.code);
  });
}

test("each code's status, flag and retry condition, with Envoy's bodies", () => {
  const reset = 'upstream connect error or disconnect/reset before headers. reset reason: ';
  const table = Object.fromEntries(Object.entries(FAILURES).map(([code, f]) => [code, [f.status, f.flag, failureBody(code as FailureCode), 'retryOn' in f ? f.retryOn : '-']]));
  assert.deepEqual(table, {
    'no-route': [404, 'NR', '', '-'],
    misdirected: [421, 'NR', 'misdirected request', '-'],
    'bad-request': [400, 'DPE', '', '-'],
    'no-healthy-upstream': [503, 'UH', 'no healthy upstream', '-'],
    overflow: [503, 'UO', `${reset}overflow`, '-'],
    'connect-failure': [503, 'UF', `${reset}connection failure`, 'connect-failure'],
    'connect-refused': [503, 'UF', `${reset}connection failure`, 'connect-failure'],
    'connect-timeout': [503, 'UF', `${reset}connection timeout`, 'connect-failure'],
    'upstream-tls': [503, 'UF', `${reset}connection failure, transport failure reason: TLS_error: `, 'connect-failure'],
    reset: [503, 'UC', `${reset}connection termination`, 'reset'],
    'refused-stream': [503, 'UC', `${reset}connection termination`, 'refused-stream'],
    'socket-closed': [503, 'UC', `${reset}connection termination`, 'reset'],
    'request-body-aborted': [400, 'DPE', '', 'reset'],
    'response-reset': [undefined, 'UC', '', '-'],
    'invalid-response-header': [502, 'UPE', 'upstream sent an invalid response header', '-'],
    'response-timeout': [504, 'UT', 'upstream request timeout', '-'],
    'per-try-timeout': [504, 'UT', 'upstream request timeout', 'per-try-timeout'],
    'stream-idle': [408, 'SI', 'stream timeout', '-'],
    'request-timeout': [408, '-', 'request timeout', '-'],
  });
  assert.equal(failureBody('upstream-tls', 'ALPN: backend did not select h2'), `${reset}connection failure, transport failure reason: TLS_error: ALPN: backend did not select h2`);
});
