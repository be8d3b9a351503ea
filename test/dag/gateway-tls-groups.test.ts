// The TLS group of a Gateway HTTPS listener's hosts: every host it serves
// (its routes' names, its own hostname or "*") carries the listener's
// identity, so a session for one of them may ask for another
// (HTTPRouteHTTPSListenerDetectMisdirectedRequests; the proxy's side is
// test/e2e/gateway-misdirected.test.ts). A host an HTTPProxy also serves
// keeps its own TLS settings and no group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { endpoints, root, service, tlsSecret } from './fixtures.ts';
import { gateway, gatewayClass, httpRoute, https, runGw } from './gateway-fixtures.ts';

const pair = await (await createCa('tls groups CA')).issue({ dnsNames: ['*.example.com', 'example.com'] });

test('hosts of one HTTPS listener share its group; another listener is another group; an HTTPProxy host has none', () => {
  const toListener = (section: string) => [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw', namespace: 'infra', sectionName: section }];
  const r = runGw([
    gatewayClass(),
    gateway('gw', [https('any', 'cert'), https('second', 'cert', { hostname: 'second.example.com' })]),
    tlsSecret('cert', pair, 'infra'),
    tlsSecret('cert', pair),
    service('s'),
    endpoints('s', ['127.0.0.1'], 8080),
    httpRoute('a', { parentRefs: toListener('any'), hostnames: ['a.example.com', 'shared.example.com'], rules: [{ backendRefs: [{ name: 's', port: 80 }] }] }),
    httpRoute('b', { parentRefs: toListener('second'), rules: [{ backendRefs: [{ name: 's', port: 80 }] }] }),
    root('p', 'shared.example.com', { tls: { secretName: 'cert' }, routes: [{ services: [{ name: 's', port: 80 }] }] }),
  ]);
  const groups = Object.fromEntries(r.proxyConfig.httpsVirtualHosts.map((v) => [v.fqdn, v.tlsGroup ?? null]));
  assert.deepEqual(groups, {
    '*': 'infra/gw/any',
    'a.example.com': 'infra/gw/any',
    'second.example.com': 'infra/gw/second',
    'shared.example.com': null,
  });
});
