// HTTPRoute rules[].retry (HTTPRouteRetry) as the proxy's retry policy:
// codes, attempts, backoff, and how timeouts.backendRequest (each try) and
// timeouts.request (all tries) combine with it; malformed values make the
// route not accepted with a message naming the field. Conformance
// scenarios: HTTPRouteRetry, HTTPRouteRetryConnectionError,
// HTTPRouteRetryWithTimeouts (the manifests' rules, as rows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RetryPolicyConfig } from '../../src/dag/index.ts';
import { endpoints, service, vhost } from './fixtures.ts';
import { ROUTE_OK, gateway, gatewayClass, http, httpRoute, parentLines, runGw, toGw } from './gateway-fixtures.ts';

const base = [gatewayClass(), gateway('gw', [http()]), service('s'), endpoints('s', ['127.0.0.1'], 8080)];

interface Row {
  name: string;
  rule: Record<string, unknown>;
  retry: RetryPolicyConfig | undefined;
  responseMs: number | null;
}

const rows: Row[] = [
  {
    name: 'no retry: none, and backendRequest alone is the route timeout',
    rule: { timeouts: { backendRequest: '2s' } },
    retry: undefined,
    responseMs: 2000,
  },
  {
    name: 'codes [500], attempts 3 (HTTPRouteRetry): connection failures, resets and status 500, three retries',
    rule: { retry: { codes: [500], attempts: 3 } },
    retry: { retryOn: ['connect-failure', 'reset', 'retriable-status-codes'], count: 3, perTryTimeoutMs: null, retriableStatusCodes: [500] },
    responseMs: 15_000,
  },
  {
    name: 'codes 500-504, attempts 2, duplicates once',
    rule: { retry: { codes: [500, 502, 503, 504, 503], attempts: 2 } },
    retry: { retryOn: ['connect-failure', 'reset', 'retriable-status-codes'], count: 2, perTryTimeoutMs: null, retriableStatusCodes: [500, 502, 503, 504] },
    responseMs: 15_000,
  },
  {
    name: 'no codes (HTTPRouteRetryConnectionError): connection failures and resets only',
    rule: { retry: { attempts: 3 } },
    retry: { retryOn: ['connect-failure', 'reset'], count: 3, perTryTimeoutMs: null, retriableStatusCodes: [] },
    responseMs: 15_000,
  },
  {
    name: 'an empty retry: one retry (Envoy\'s default)',
    rule: { retry: {} },
    retry: { retryOn: ['connect-failure', 'reset'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [] },
    responseMs: 15_000,
  },
  {
    name: 'backoff 100ms: the least wait between tries',
    rule: { retry: { codes: [503], backoff: '100ms' } },
    retry: { retryOn: ['connect-failure', 'reset', 'retriable-status-codes'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [503], minBackoffMs: 100 },
    responseMs: 15_000,
  },
  {
    name: 'backoff 0s: the default backoff',
    rule: { retry: { backoff: '0s' } },
    retry: { retryOn: ['connect-failure', 'reset'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [] },
    responseMs: 15_000,
  },
  {
    name: 'backendRequest 200ms with retry (HTTPRouteRetryWithTimeouts): each try 200 ms, all of them the default 15 s',
    rule: { retry: { attempts: 2 }, timeouts: { backendRequest: '200ms' } },
    retry: { retryOn: ['connect-failure', 'reset'], count: 2, perTryTimeoutMs: 200, retriableStatusCodes: [] },
    responseMs: 15_000,
  },
  {
    name: 'backendRequest 200ms and request 400ms with retry: each try 200 ms, all of them 400 ms',
    rule: { retry: { codes: [500], attempts: 5 }, timeouts: { backendRequest: '200ms', request: '400ms' } },
    retry: { retryOn: ['connect-failure', 'reset', 'retriable-status-codes'], count: 5, perTryTimeoutMs: 200, retriableStatusCodes: [500] },
    responseMs: 400,
  },
  {
    name: 'a backendRequest longer than 15 s with retry: all tries get that much',
    rule: { retry: {}, timeouts: { backendRequest: '1m' } },
    retry: { retryOn: ['connect-failure', 'reset'], count: 1, perTryTimeoutMs: 60_000, retriableStatusCodes: [] },
    responseMs: 60_000,
  },
  {
    name: 'backendRequest 0s with retry: tries and the whole request unbounded',
    rule: { retry: {}, timeouts: { backendRequest: '0s' } },
    retry: { retryOn: ['connect-failure', 'reset'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [] },
    responseMs: null,
  },
];

for (const row of rows) {
  test(`retry: ${row.name}`, () => {
    const r = runGw([...base, httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 's', port: 80 }], ...row.rule }] } as never)]);
    assert.deepEqual(parentLines(r.gatewayApi!.httproutes[0]!), [`infra/gw: ${ROUTE_OK}`]);
    const route = vhost(r, '*')!.routes[0]!;
    assert.deepEqual(route.retry, row.retry);
    assert.equal(route.timeouts.responseMs, row.responseMs);
  });
}

const invalid: [string, unknown, string][] = [
  ['a code under 400', { codes: [399] }, 'rules[0]: retry.codes: 399 is not a status code in 400-599'],
  ['a code over 599', { codes: [500, 600] }, 'rules[0]: retry.codes: 600 is not a status code in 400-599'],
  ['a code that is a string', { codes: ['500'] }, 'rules[0]: retry.codes: "500" is not a status code in 400-599'],
  ['codes not a list', { codes: 500 }, 'rules[0]: retry.codes must be a list of status codes'],
  ['attempts 0', { attempts: 0 }, 'rules[0]: retry.attempts: 0 is not an integer of at least 1'],
  ['attempts 1.5', { attempts: 1.5 }, 'rules[0]: retry.attempts: 1.5 is not an integer of at least 1'],
  ['a backoff that is no duration', { backoff: '1 second' }, 'rules[0]: retry.backoff "1 second" is not a Gateway API duration'],
  ['retry not an object', 'always', 'rules[0]: retry must be an object'],
];

for (const [name, retry, message] of invalid) {
  test(`retry: ${name} makes the route not accepted (UnsupportedValue naming the field), not served`, () => {
    const r = runGw([...base, httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 's', port: 80 }], retry }] } as never)]);
    const accepted = r.gatewayApi!.httproutes[0]!.parents[0]!.conditions[0]!;
    assert.deepEqual([accepted.status, accepted.reason, accepted.message], ['False', 'UnsupportedValue', message]);
    assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);
  });
}
