// Contour's Ingress annotations on the routes they shape (timeouts,
// retries, websockets), and the problems a mistyped or unsupported one
// raises instead of silence. Plus a property: no annotation map throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { endpoints, ingress, rule, run, service, vhost } from './fixtures.ts';
import { runIngressRows, SERVED, type IngressRow } from './ingress-fixtures.ts';
import { readIngressSettings } from '../../src/dag/ingress-annotations.ts';
import { RETRY_ON } from '../../src/objects/index.ts';

const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const annotated = (annotations: Record<string, string>) =>
  ingress('i', { rules: [rule('a.example.com', ['/', 'Prefix', 's', 80], ['/ws', 'Prefix', 's', 80])] }, { annotations });
const route = (r: ReturnType<typeof run>, i = 0) => vhost(r, 'a.example.com')!.routes[i]!;

const rows: IngressRow[] = [
  {
    name: 'response-timeout sets the route timeout; "infinity" disables it; the older request-timeout is read when it is absent',
    objects: [annotated({ 'projectcontour.io/response-timeout': '1m30s' }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.deepEqual(route(r).timeouts, { responseMs: 90000, idleMs: 300000 }),
  },
  {
    name: 'response-timeout infinity',
    objects: [annotated({ 'projectcontour.io/response-timeout': 'infinity' }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.equal(route(r).timeouts.responseMs, null),
  },
  {
    name: 'request-timeout (Contour\'s older name) applies to the response',
    objects: [annotated({ 'projectcontour.io/request-timeout': '5s' }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.equal(route(r).timeouts.responseMs, 5000),
  },
  {
    name: 'an unparsable response-timeout is an error and the default applies',
    objects: [annotated({ 'projectcontour.io/response-timeout': 'soon' }), ...base],
    expect: { i: { problems: [['error', 'projectcontour.io/response-timeout', 'unable to parse timeout string "soon": time: invalid duration "soon"; the default of 15s applies']] } },
    check: (r) => assert.equal(route(r).timeouts.responseMs, 15000),
  },
  {
    name: 'retry-on with num-retries and per-try-timeout',
    objects: [annotated({ 'projectcontour.io/retry-on': '5xx, gateway-error', 'projectcontour.io/num-retries': '3', 'projectcontour.io/per-try-timeout': '250ms' }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.deepEqual(route(r).retry, { retryOn: ['5xx', 'gateway-error'], count: 3, perTryTimeoutMs: 250, retriableStatusCodes: [] }),
  },
  {
    name: 'per-try-timeout "infinity" is none; an unparsable one is an error and none',
    objects: [
      annotated({ 'projectcontour.io/retry-on': '5xx', 'projectcontour.io/per-try-timeout': 'infinity' }),
      ingress('j', { rules: [rule('b.example.com', ['/', 'Prefix', 's', 80])] }, { annotations: { 'projectcontour.io/retry-on': '5xx', 'projectcontour.io/per-try-timeout': 'later' } }),
      ...base,
    ],
    expect: { i: SERVED, j: { problems: [['error', 'projectcontour.io/per-try-timeout', 'unable to parse timeout string "later": time: invalid duration "later"; no per-try timeout applies']] } },
    check: (r) => {
      assert.equal(route(r).retry!.perTryTimeoutMs, null);
      assert.equal(vhost(r, 'b.example.com')!.routes[0]!.retry!.perTryTimeoutMs, null);
    },
  },
  {
    name: 'num-retries -1 disables retries, 0 is Envoy\'s 1',
    objects: [annotated({ 'projectcontour.io/retry-on': 'reset', 'projectcontour.io/num-retries': '-1' }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.equal(route(r).retry!.count, 0),
  },
  {
    name: 'retry-on takes every condition HTTPProxy retryOn takes, the gRPC ones too',
    objects: [annotated({ 'projectcontour.io/retry-on': RETRY_ON.join(', ') }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.deepEqual(route(r).retry!.retryOn, [...RETRY_ON]),
  },
  {
    name: 'an unknown retry condition is an error and left out; num-retries without retry-on does nothing (warning)',
    objects: [
      annotated({ 'projectcontour.io/retry-on': '5xx,bogus' }),
      ingress('j', { rules: [rule('b.example.com', ['/', 'Prefix', 's', 80])] }, { annotations: { 'projectcontour.io/num-retries': '2' } }),
      ...base,
    ],
    expect: {
      i: { problems: [['error', 'projectcontour.io/retry-on', /^unknown retry condition "bogus"; they are left out \(known: 5xx, /]] },
      j: { problems: [['warning', 'projectcontour.io/num-retries', 'has no effect without projectcontour.io/retry-on']] },
    },
    check: (r) => {
      assert.deepEqual(route(r).retry!.retryOn, ['5xx']);
      assert.equal(vhost(r, 'b.example.com')!.routes[0]!.retry, undefined);
    },
  },
  {
    name: 'websocket-routes names paths as written in the Ingress; a path it does not have is a warning',
    objects: [annotated({ 'projectcontour.io/websocket-routes': '/ws , /nope' }), ...base],
    expect: { i: { problems: [['warning', 'projectcontour.io/websocket-routes', '"/nope" is not a path of this Ingress; it has no effect']] } },
    check: (r) => {
      const v = vhost(r, 'a.example.com')!;
      assert.deepEqual(
        v.routes.map((x) => [x.path.value, x.websocket]),
        [
          ['/ws', true],
          ['/', false],
        ],
      );
    },
  },
  {
    name: 'an unknown projectcontour.io/ annotation and an unsupported ingress.kubernetes.io/ one are errors; others\' annotations are not isobar\'s business',
    objects: [annotated({ 'projectcontour.io/websocket-route': '/ws', 'ingress.kubernetes.io/rewrite-target': '/', 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' }), ...base],
    expect: {
      i: {
        problems: [
          ['error', 'ingress.kubernetes.io/rewrite-target', 'is not supported by isobar (of the ingress.kubernetes.io/ annotations only force-ssl-redirect is); it has no effect'],
          ['error', 'projectcontour.io/websocket-route', 'is not an annotation Contour or isobar reads on an Ingress; remove it or check the spelling'],
        ],
      },
    },
  },
  {
    name: 'force-ssl-redirect with a value other than "true" or "false" is a warning',
    objects: [annotated({ 'ingress.kubernetes.io/force-ssl-redirect': 'yes' }), ...base],
    expect: { i: { problems: [['warning', 'ingress.kubernetes.io/force-ssl-redirect', '"yes" is neither "true" nor "false"; only "true" redirects']] } },
    check: (r) => assert.equal(route(r).httpsRedirect, undefined),
  },
  {
    name: 'Service annotations the HTTPProxy path honours: the upstream protocol',
    objects: [ingress('i', { rules: [rule('a.example.com', ['/', 'Prefix', 't', 443])] }), service('t', [{ port: 443 }], { annotations: { 'projectcontour.io/upstream-protocol.tls': '443' } }), endpoints('t', ['10.0.0.2'], 443)],
    expect: { i: SERVED },
    check: (r) => assert.equal(r.proxyConfig.clusters[0]!.protocol, 'tls'),
  },
  {
    name: "circuit-breaker annotations reach the path's cluster, as an HTTPProxy's",
    objects: [
      ingress('i', { rules: [rule('a.example.com', ['/', 'Prefix', 'cb', 80])] }),
      service('cb', [{ port: 80 }], { annotations: { 'projectcontour.io/max-connections': '10' } }),
      endpoints('cb', ['10.0.0.3'], 80),
    ],
    expect: { i: SERVED },
    check: (r) =>
      assert.deepEqual(r.proxyConfig.clusters[0]!.circuitBreakers, { maxConnections: 10, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0, perHostMaxConnections: 0 }),
  },
];

runIngressRows(rows);

test('property: any annotation map reads into settings and problems without throwing', () => {
  const keys = fc.constantFrom(
    'projectcontour.io/response-timeout',
    'projectcontour.io/retry-on',
    'projectcontour.io/num-retries',
    'projectcontour.io/per-try-timeout',
    'projectcontour.io/tls-minimum-protocol-version',
    'projectcontour.io/tls-maximum-protocol-version',
    'projectcontour.io/websocket-routes',
    'kubernetes.io/ingress.allow-http',
    'ingress.kubernetes.io/force-ssl-redirect',
    'projectcontour.io/x',
    'ingress.kubernetes.io/y',
  );
  fc.assert(
    fc.property(fc.dictionary(fc.oneof(keys, fc.string()), fc.string()), (annotations) => {
      const { settings, problems } = readIngressSettings(annotations);
      assert.ok(settings.minVersion === '1.2' || settings.minVersion === '1.3');
      assert.ok(settings.responseMs === null || settings.responseMs >= 0);
      for (const p of problems) assert.ok(p.message.length > 0);
    }),
    { numRuns: 300 },
  );
});
