// The page's graph with Gateway listener ports of their own: each port
// listener is a node of its own (a TCP one says so and points at its
// TCPRoute's clusters), and a host it serves hangs off it, not off the
// proxy's own listener of that kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph } from '../../src/admin/graph.ts';
import type { ProxyConfig } from '../../src/dag/index.ts';

const NO_OPS = { set: [], remove: [] };

test('port listeners in the graph: their own nodes, their hosts and TCP forwards hang off them', () => {
  const cluster = (name: string) => ({ name, namespace: 'apps', service: name, servicePort: 80, protocol: 'http1' as const, endpoints: [{ address: '127.0.0.1', port: 9 }], loadBalancer: { strategy: 'RoundRobin' as const, hashPolicies: [] }, connectTimeoutMs: 2000, idleConnectionTimeoutMs: null });
  const route = { path: { kind: 'prefix' as const, value: '/' }, headers: [], queryParams: [], origin: { kind: 'HTTPRoute', namespace: 'apps', name: 'r' }, action: { kind: 'forward' as const, clusters: [{ cluster: 'apps/web', weight: 1, requestHeaders: NO_OPS, responseHeaders: NO_OPS }] } };
  const proxyConfig = {
    httpVirtualHosts: [{ fqdn: 'a.example.test', routes: [route] }, { fqdn: 'a.example.test', listener: 'http-81', routes: [route] }],
    httpsVirtualHosts: [],
    clusters: [cluster('apps/web'), cluster('apps/db')],
    secrets: [],
    caBundles: [],
    listeners: [
      { name: 'http-81', port: 81, bindPort: 8081, protocol: 'http' },
      { name: 'tcp-5000', port: 5000, bindPort: 13000, protocol: 'tcp', tcpProxy: { clusters: [{ cluster: 'apps/db', weight: 1, requestHeaders: NO_OPS, responseHeaders: NO_OPS }] } },
    ],
  } as unknown as ProxyConfig;
  const g = buildGraph(
    {
      version: 1,
      proxyConfig,
      balancerConfig: undefined,
      proxyListeners: [
        { name: 'http', address: '0.0.0.0', port: 8080, tls: false, proxyProtocol: false },
        { name: 'http-81', address: '0.0.0.0', port: 8081, tls: false, proxyProtocol: false },
        { name: 'tcp-5000', address: '0.0.0.0', port: 13000, tls: false, proxyProtocol: false },
      ],
    },
    { httpproxies: [], services: [] },
    Date.now(),
  );
  const from = (id: string) => g.edges.filter((e) => e.from === id).map((e) => e.to);
  assert.deepEqual(from('pl:http'), ['vh:http/a.example.test']);
  assert.deepEqual(from('pl:http-81'), ['vh:http-81/a.example.test']);
  assert.deepEqual(from('pl:tcp-5000'), ['cl:apps/db']);
  assert.equal(g.nodes.find((n) => n.id === 'pl:tcp-5000')?.detail, 'TCP to its TCPRoute');
  assert.deepEqual(from('vh:http-81/a.example.test'), ['rt:http-81/a.example.test/0']);
});
