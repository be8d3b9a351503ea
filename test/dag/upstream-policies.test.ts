// Upstream policies of HTTPProxy services as Contour builds them into
// clusters: slowStartPolicy (Contour's slowStartConfig and its
// SlowStartInvalid errors), healthPort (the health check probes another
// Service port, which must exist), tcpproxy.healthCheckPolicy (a TCP
// connect check), and the config file's cluster.* connection settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCa } from '../support/pki.ts';
import { build } from '../../src/dag/index.ts';
import { gateway, gatewayClass, gwSnapshot, http as gwHttp, httpRoute, toGw } from './gateway-fixtures.ts';
import type { Endpoints } from '../../src/objects/types.ts';
import {
  config,
  endpoints,
  firstCluster,
  ingress,
  invalid,
  root,
  rule,
  runRows,
  service,
  tlsSecret,
  VALID,
  vhost,
  type Row,
} from './fixtures.ts';

const FQDN = 'a.example.com';
const STRATEGY_ERROR = 'slow start is only supported with RoundRobin or WeightedLeastRequest load balancer strategy';
const base = [service('s', [{ port: 80 }]), endpoints('s', ['10.0.0.1'], 80)];
const svcError = (reason: string, message: string) => invalid(`route "/": service "s": ${message}`, ['ServiceError', reason, message]);
const hc = { path: '/healthz' };

/** A Service with a traffic port and a health port, each with its own target port. */
const twoPorts = [
  service('s', [
    { port: 80, name: 'http', targetPort: 8000 },
    { port: 8080, name: 'health', targetPort: 9000 },
  ]),
  {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 's', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }], ports: [{ name: 'http', port: 8000 }, { name: 'health', port: 9000 }] }],
  } satisfies Endpoints,
];

const pair = await (await createCa('upstream policies CA')).issue({ dnsNames: [FQDN] });
const tlsRoot = (tcpproxy: object) => root('p', FQDN, { tls: { secretName: 'edge' }, tcpproxy } as never);

const rows: Row[] = [
  {
    name: 'slow start: a window alone takes the CRD defaults (aggression 1.0, minWeightPercent 10)',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 's', port: 80, slowStartPolicy: { window: '5s' } }] }] }), ...base],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(firstCluster(r, FQDN).slowStart, { windowMs: 5000, aggression: 1, minWeightPercent: 10 }),
  },
  {
    name: 'slow start: aggression and minWeightPercent as set, with WeightedLeastRequest',
    objects: [
      root('p', FQDN, {
        routes: [
          {
            loadBalancerPolicy: { strategy: 'WeightedLeastRequest' },
            services: [{ name: 's', port: 80, slowStartPolicy: { window: '1m30s', aggression: '2.5', minWeightPercent: 0 } }],
          },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const c = firstCluster(r, FQDN);
      assert.equal(c.loadBalancer.strategy, 'WeightedLeastRequest');
      assert.deepEqual(c.slowStart, { windowMs: 90_000, aggression: 2.5, minWeightPercent: 0 });
    },
  },
  {
    name: 'slow start: an unknown strategy is RoundRobin (Contour ignores it), so slow start applies',
    objects: [root('p', FQDN, { routes: [{ loadBalancerPolicy: { strategy: 'Fastest' }, services: [{ name: 's', port: 80, slowStartPolicy: { window: '10s' } }] }] }), ...base],
    expect: { p: VALID },
    check: (r) => assert.equal(firstCluster(r, FQDN).slowStart?.windowMs, 10_000),
  },
  ...(['Random', 'Cookie'] as const).map(
    (strategy): Row => ({
      name: `slow start: the ${strategy} strategy is SlowStartInvalid`,
      objects: [root('p', FQDN, { routes: [{ loadBalancerPolicy: { strategy }, services: [{ name: 's', port: 80, slowStartPolicy: { window: '5s' } }] }] }), ...base],
      expect: { p: svcError('SlowStartInvalid', STRATEGY_ERROR) },
      check: (r) => assert.equal(vhost(r, FQDN), undefined),
    }),
  ),
  {
    name: 'slow start: RequestHash is SlowStartInvalid',
    objects: [
      root('p', FQDN, {
        routes: [
          {
            loadBalancerPolicy: { strategy: 'RequestHash', requestHashPolicies: [{ headerHashOptions: { headerName: 'X-User' } }] },
            services: [{ name: 's', port: 80, slowStartPolicy: { window: '5s' } }],
          },
        ],
      }),
      ...base,
    ],
    expect: { p: svcError('SlowStartInvalid', STRATEGY_ERROR) },
  },
  {
    name: 'slow start: a window Go cannot parse (the validator skipped) is SlowStartInvalid with Go\'s error',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 's', port: 80, slowStartPolicy: { window: '5 seconds' } }] }] }), ...base],
    expect: { p: svcError('SlowStartInvalid', 'error parsing window: time: unknown unit " seconds" in duration "5 seconds" on slow start') },
  },
  {
    name: 'slow start: an empty window is SlowStartInvalid',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 's', port: 80, slowStartPolicy: { window: '' } }] }] }), ...base],
    expect: { p: svcError('SlowStartInvalid', 'error parsing window: time: invalid duration "" on slow start') },
  },
  {
    name: 'slow start: an aggression that is not a number is SlowStartInvalid',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 's', port: 80, slowStartPolicy: { window: '5s', aggression: 'fast' } }] }] }), ...base],
    expect: { p: svcError('SlowStartInvalid', 'error parsing aggression: "fast" is not a decimal number on slow start') },
  },
  {
    name: 'slow start: an aggression of 0 becomes 1.0, as Envoy replaces it',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 's', port: 80, slowStartPolicy: { window: '5s', aggression: '0' } }] }] }), ...base],
    expect: { p: VALID },
    check: (r) => assert.equal(firstCluster(r, FQDN).slowStart?.aggression, 1),
  },
  {
    name: 'slow start: the same Service port with and without it is two clusters',
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/slow' }], services: [{ name: 's', port: 80, slowStartPolicy: { window: '5s' } }] },
          { conditions: [{ prefix: '/' }], services: [{ name: 's', port: 80 }] },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(r.proxyConfig.clusters.length, 2);
      assert.deepEqual(r.proxyConfig.clusters.map((c) => c.slowStart?.windowMs ?? null).sort(), [5000, null]);
    },
  },
  {
    name: 'slow start (isobar difference): a TCPProxy service keeps it (Contour drops it from TCP clusters)',
    objects: [tlsRoot({ services: [{ name: 's', port: 80, slowStartPolicy: { window: '3s', minWeightPercent: 50 } }] }), tlsSecret('edge', pair), ...base],
    expect: { p: { ...VALID, fqdn: FQDN } },
    check: (r) => assert.deepEqual(r.proxyConfig.clusters[0]!.slowStart, { windowMs: 3000, aggression: 1, minWeightPercent: 50 }),
  },
  {
    name: 'slow start: a TCPProxy with the Random strategy is SlowStartInvalid',
    objects: [tlsRoot({ loadBalancerPolicy: { strategy: 'Random' }, services: [{ name: 's', port: 80, slowStartPolicy: { window: '3s' } }] }), tlsSecret('edge', pair), ...base],
    expect: { p: { ...invalid(STRATEGY_ERROR, ['ServiceError', 'SlowStartInvalid', STRATEGY_ERROR]), fqdn: FQDN } },
  },
  {
    name: "health port: with a health check, endpoints carry the health port's target port",
    objects: [root('p', FQDN, { routes: [{ healthCheckPolicy: hc, services: [{ name: 's', port: 80, healthPort: 8080 }] }] }), ...twoPorts],
    expect: { p: VALID },
    check: (r) => {
      const c = firstCluster(r, FQDN);
      assert.deepEqual(c.endpoints, [
        { address: '10.0.0.1', port: 8000, healthPort: 9000 },
        { address: '10.0.0.2', port: 8000, healthPort: 9000 },
      ]);
      assert.equal(c.healthCheck?.path, '/healthz');
    },
  },
  {
    name: 'health port: a port the Service does not have is an unresolved service reference; the route has no cluster',
    objects: [root('p', FQDN, { routes: [{ healthCheckPolicy: hc, services: [{ name: 's', port: 80, healthPort: 9999 }] }] }), ...twoPorts],
    expect: {
      p: invalid('route "/": service "s": port "9999" on service "default/s" not matched', [
        'ServiceError',
        'ServiceUnresolvedReference',
        'Spec.Routes unresolved service reference: port "9999" on service "default/s" not matched',
      ]),
    },
    check: (r) => assert.equal(r.proxyConfig.clusters.length, 0),
  },
  {
    name: 'health port: without a health check it is not used (nor looked up), as in Contour',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 's', port: 80, healthPort: 9999 }] }] }), ...twoPorts],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(firstCluster(r, FQDN).endpoints.map((e) => e.healthPort), [undefined, undefined]),
  },
  {
    name: 'health port: equal to the port, the traffic port is probed',
    objects: [root('p', FQDN, { routes: [{ healthCheckPolicy: hc, services: [{ name: 's', port: 80, healthPort: 80 }] }] }), ...twoPorts],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(firstCluster(r, FQDN).endpoints[0], { address: '10.0.0.1', port: 8000 }),
  },
  {
    name: 'health port: the same Service port with and without one is two clusters',
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/a' }], healthCheckPolicy: hc, services: [{ name: 's', port: 80, healthPort: 8080 }] },
          { conditions: [{ prefix: '/b' }], healthCheckPolicy: hc, services: [{ name: 's', port: 80 }] },
        ],
      }),
      ...twoPorts,
    ],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(r.proxyConfig.clusters.map((c) => c.endpoints[0]!.healthPort ?? null).sort(), [9000, null]),
  },
  {
    name: 'health port: an ExternalName Service is probed on the health Service port itself',
    config: config((c) => (c.enableExternalNameService = true)),
    objects: [
      root('p', FQDN, { routes: [{ healthCheckPolicy: hc, services: [{ name: 's', port: 80, healthPort: 8080 }] }] }),
      service('s', [{ port: 80, name: 'http' }, { port: 8080, name: 'health' }], { type: 'ExternalName', externalName: 'backend.example.net' }),
    ],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(firstCluster(r, FQDN).endpoints, [{ address: 'backend.example.net', port: 80, healthPort: 8080 }]),
  },
  {
    name: 'TCP health check: a TCPProxy health check with a health port probes that port; thresholds as set',
    objects: [
      tlsRoot({
        healthCheckPolicy: { intervalSeconds: 3, timeoutSeconds: 1, unhealthyThresholdCount: 4, healthyThresholdCount: 5 },
        services: [{ name: 's', port: 80, healthPort: 8080 }],
      }),
      tlsSecret('edge', pair),
      ...twoPorts,
    ],
    expect: { p: { ...VALID, fqdn: FQDN } },
    check: (r) => {
      const c = r.proxyConfig.clusters[0]!;
      assert.deepEqual(c.tcpHealthCheck, { intervalMs: 3000, timeoutMs: 1000, unhealthyThreshold: 4, healthyThreshold: 5 });
      assert.equal(c.healthCheck, undefined);
      assert.deepEqual(c.endpoints.map((e) => e.healthPort), [9000, 9000]);
    },
  },
  {
    name: 'TCP health check: a TCPProxy health port the Service lacks is a TCPProxyError',
    objects: [tlsRoot({ healthCheckPolicy: {}, services: [{ name: 's', port: 80, healthPort: 7 }] }), tlsSecret('edge', pair), ...twoPorts],
    expect: {
      p: {
        ...invalid(
          'Spec.TCPProxy unresolved service reference: port "7" on service "default/s" not matched',
          ['TCPProxyError', 'ServiceUnresolvedReference', 'Spec.TCPProxy unresolved service reference: port "7" on service "default/s" not matched'],
        ),
        fqdn: FQDN,
      },
    },
  },
  {
    name: 'cluster settings: max-requests-per-connection and per-connection-buffer-limit-bytes on HTTP clusters, not on TCPProxy ones',
    config: config((c) => {
      c.cluster.maxRequestsPerConnection = 3;
      c.cluster.perConnectionBufferLimitBytes = 16384;
    }),
    objects: [
      root('p', FQDN, { tls: { secretName: 'edge' }, routes: [{ services: [{ name: 's', port: 80 }] }], tcpproxy: { services: [{ name: 't', port: 80 }] } } as never),
      tlsSecret('edge', pair),
      ...base,
      service('t', [{ port: 80 }]),
      endpoints('t', ['10.0.0.9'], 80),
    ],
    expect: { p: { ...VALID, fqdn: FQDN } },
    check: (r) => {
      const byService = new Map(r.proxyConfig.clusters.map((c) => [c.service, c]));
      assert.equal(byService.get('s')!.maxRequestsPerConnection, 3);
      assert.equal(byService.get('s')!.perConnectionBufferLimitBytes, 16384);
      assert.equal(byService.get('t')!.maxRequestsPerConnection, undefined);
      assert.equal(byService.get('t')!.perConnectionBufferLimitBytes, undefined);
    },
  },
  {
    name: 'cluster settings: an Ingress cluster has them too',
    config: config((c) => (c.cluster.maxRequestsPerConnection = 7)),
    objects: [ingress('i', { rules: [rule(FQDN, ['/', 'Prefix', 's', 80])] }), ...base],
    expect: {},
    check: (r) => assert.equal(r.proxyConfig.clusters[0]!.maxRequestsPerConnection, 7),
  },
  {
    name: 'cluster settings: dns-lookup-family on an HTTPProxy route to an ExternalName Service, not on other clusters',
    config: config((c) => {
      c.enableExternalNameService = true;
      c.cluster.dnsLookupFamily = 'v6';
    }),
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/ext' }], services: [{ name: 'ext', port: 80 }] },
          { conditions: [{ prefix: '/' }], services: [{ name: 's', port: 80 }] },
        ],
      }),
      service('ext', [{ port: 80 }], { type: 'ExternalName', externalName: 'backend.example.net' }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const byService = new Map(r.proxyConfig.clusters.map((c) => [c.service, c]));
      assert.equal(byService.get('ext')!.dnsLookupFamily, 'v6');
      assert.equal(byService.get('s')!.dnsLookupFamily, undefined);
    },
  },
  {
    name: 'cluster settings: the default dns-lookup-family (auto) is carried too, so an ExternalName name resolves v6 first',
    config: config((c) => (c.enableExternalNameService = true)),
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 'ext', port: 80 }] }] }), service('ext', [{ port: 80 }], { type: 'ExternalName', externalName: 'backend.example.net' })],
    expect: { p: VALID },
    check: (r) => assert.equal(firstCluster(r, FQDN).dnsLookupFamily, 'auto'),
  },
];

runRows(rows, 'upstream policies: ');

test('upstream policies: cluster settings: a Gateway API HTTPRoute cluster has them too', () => {
  const objects = [
    gatewayClass(),
    gateway('gw', [gwHttp()]),
    ...base,
    httpRoute('r', { parentRefs: [toGw()], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] } as never),
  ];
  const r = build(
    gwSnapshot(objects),
    config((c) => {
      c.cluster.maxRequestsPerConnection = 4;
      c.cluster.perConnectionBufferLimitBytes = 1024;
    }),
  );
  assert.equal(r.proxyConfig.clusters.length, 1);
  assert.equal(r.proxyConfig.clusters[0]!.maxRequestsPerConnection, 4);
  assert.equal(r.proxyConfig.clusters[0]!.perConnectionBufferLimitBytes, 1024);
});
