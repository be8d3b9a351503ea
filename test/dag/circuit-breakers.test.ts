// Circuit breakers reach the cluster as Contour builds them: a Service's
// projectcontour.io/max-* annotations, else the config file's
// cluster.circuit-breakers, field by field; nothing set leaves them out
// (Envoy's defaults); values Contour reads as 0 (not a uint32) set nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CircuitBreakers } from '../../src/dag/proxy-config.ts';
import type { CircuitBreakerDefaults } from '../../src/config/index.ts';
import { createCa } from '../support/pki.ts';
import { assertStatuses, config, endpoints, proxy, root, run, service, tlsSecret, VALID } from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const withAnnotations = (annotations: Record<string, string>) => [service('s', [{ port: 80 }], { annotations }), endpoints('s', ['10.0.0.1'], 80)];
const cb = (x: Partial<CircuitBreakers>): CircuitBreakers => ({ maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0, perHostMaxConnections: 0, ...x });

const rows: { name: string; annotations: Record<string, string>; defaults?: Partial<CircuitBreakerDefaults>; expect: CircuitBreakers | undefined }[] = [
  { name: 'nothing set: no circuit breakers (Envoy defaults)', annotations: {}, expect: undefined },
  { name: 'one annotation', annotations: { 'projectcontour.io/max-connections': '10' }, expect: cb({ maxConnections: 10 }) },
  {
    name: 'every annotation',
    annotations: {
      'projectcontour.io/max-connections': '7',
      'projectcontour.io/max-pending-requests': '4294967295',
      'projectcontour.io/max-requests': '100',
      'projectcontour.io/max-retries': '3',
      'projectcontour.io/per-host-max-connections': '1',
    },
    expect: { maxConnections: 7, maxPendingRequests: 4294967295, maxRequests: 100, maxRetries: 3, perHostMaxConnections: 1 },
  },
  {
    name: 'values Contour reads as no limit (0, not a uint32, signed, other prefixes)',
    annotations: {
      'projectcontour.io/max-connections': '0',
      'projectcontour.io/max-pending-requests': 'ten',
      'projectcontour.io/max-requests': '4294967296',
      'projectcontour.io/max-retries': '+3',
      'projectcontour.io/per-host-max-connections': '-1',
      'contour.heptio.com/max-connections': '5',
    },
    expect: undefined,
  },
  { name: 'config defaults for a Service that sets none', annotations: {}, defaults: { maxRequests: 50, maxRetries: 2 }, expect: cb({ maxRequests: 50, maxRetries: 2 }) },
  {
    name: "a Service's annotation wins over the default, field by field",
    annotations: { 'projectcontour.io/max-requests': '5', 'projectcontour.io/max-retries': 'x' },
    defaults: { maxRequests: 50, maxRetries: 2, perHostMaxConnections: 4 },
    expect: cb({ maxRequests: 5, maxRetries: 2, perHostMaxConnections: 4 }),
  },
];

for (const row of rows) {
  test(`circuit breakers: ${row.name}`, () => {
    const r = run(
      [root('p', FQDN, { routes: [{ services: [svc] }] }), ...withAnnotations(row.annotations)],
      config((c) => {
        if (row.defaults) c.circuitBreakers = row.defaults;
      }),
    );
    assertStatuses(r, { p: VALID });
    const clusters = r.proxyConfig.clusters;
    assert.equal(clusters.length, 1);
    assert.deepEqual(clusters[0]!.circuitBreakers, row.expect);
  });
}

test('circuit breakers: clusters of one Service port with different budgets are different clusters', () => {
  const a = run([root('p', FQDN, { routes: [{ services: [svc] }] }), ...withAnnotations({ 'projectcontour.io/max-requests': '5' })]);
  const b = run([root('p', FQDN, { routes: [{ services: [svc] }] }), ...withAnnotations({ 'projectcontour.io/max-requests': '6' })]);
  assert.notEqual(a.proxyConfig.clusters[0]!.name, b.proxyConfig.clusters[0]!.name);
});

test('circuit breakers: a TCPProxy to a Service with annotations is valid and its cluster has them', async () => {
  const pair = await (await createCa('cb CA')).issue({ dnsNames: [FQDN] });
  const r = run([
    proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge' } }, tcpproxy: { services: [svc] } }),
    tlsSecret('edge', pair),
    ...withAnnotations({ 'projectcontour.io/max-connections': '2' }),
  ]);
  assertStatuses(r, { p: { ...VALID, fqdn: FQDN } });
  assert.deepEqual(r.proxyConfig.clusters[0]!.circuitBreakers, cb({ maxConnections: 2 }));
});
