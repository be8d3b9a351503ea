// contour-semantics.md section (a): upstream protocol selection, rules 1-9.
import assert from 'node:assert/strict';
import { endpoints, firstCluster, invalid, root, run, service, VALID, proxy, runRows, type Row } from './fixtures.ts';

const ANN = 'projectcontour.io/upstream-protocol';
const routeTo = (name: string, port: number, extra: Record<string, unknown> = {}) => ({
  routes: [{ services: [{ name, port, ...extra }] }],
});
const protocolOf = (r: ReturnType<typeof run>) => firstCluster(r, 'a.example.com').protocol;

const rows: Row[] = [
  {
    name: 'rule 1: the h2, h2c and tls annotations select the upstream protocol',
    objects: [
      root('p', 'a.example.com', routeTo('s', 443)),
      service('s', [{ port: 443 }], { annotations: { [`${ANN}.h2`]: '443' } }),
    ],
    expect: { p: VALID },
    check: (r) => {
      const c = firstCluster(r, 'a.example.com');
      assert.equal(c.protocol, 'h2');
      assert.deepEqual(c.tls, { minVersion: '1.2', maxVersion: '1.3' });
    },
  },
  {
    name: 'rule 1: h2c annotation gives cleartext HTTP/2',
    objects: [root('p', 'a.example.com', routeTo('s', 80)), service('s', [{ port: 80 }], { annotations: { [`${ANN}.h2c`]: '80' } })],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(protocolOf(r), 'h2c');
      assert.equal(firstCluster(r, 'a.example.com').tls, undefined);
    },
  },
  {
    name: 'rule 2: the legacy contour.heptio.com annotation and unknown .h3 are ignored',
    objects: [
      root('p', 'a.example.com', routeTo('s', 443)),
      service('s', [{ port: 443 }], { annotations: { 'contour.heptio.com/upstream-protocol.tls': '443', [`${ANN}.h3`]: '443' } }),
    ],
    expect: { p: VALID },
    check: (r) => assert.equal(protocolOf(r), 'http1'),
  },
  {
    name: 'rule 3: entries are trimmed, empty entries dropped, names are case-sensitive',
    objects: [
      root('p', 'a.example.com', { routes: [{ services: [{ name: 's', port: 443 }] }, { conditions: [{ prefix: '/b' }], services: [{ name: 's', port: 8443 }] }] }),
      service('s', [{ port: 443, name: 'https' }, { port: 8443, name: 'alt' }], { annotations: { [`${ANN}.tls`]: ' , HTTPS , 8443 ,' } }),
    ],
    expect: { p: VALID },
    check: (r) => {
      const v = r.proxyConfig.httpVirtualHosts[0]!;
      const byPrefix = (p: string) => {
        const route = v.routes.find((x) => x.path.value === p)!;
        assert.equal(route.action.kind, 'forward');
        return r.proxyConfig.clusters.find((c) => route.action.kind === 'forward' && c.name === route.action.clusters[0]!.cluster)!;
      };
      assert.equal(byPrefix('/').protocol, 'http1', '"HTTPS" does not match the port named "https"');
      assert.equal(byPrefix('/b').protocol, 'tls', 'port number 8443 after trimming');
    },
  },
  {
    name: 'rule 3: a value of only separators selects nothing',
    objects: [root('p', 'a.example.com', routeTo('s', 443)), service('s', [{ port: 443 }], { annotations: { [`${ANN}.tls`]: ', ,' } })],
    expect: { p: VALID },
    check: (r) => assert.equal(protocolOf(r), 'http1'),
  },
  {
    name: 'rule 4: a port in several annotations takes the last of h2, h2c, tls',
    objects: [
      root('p', 'a.example.com', routeTo('s', 443)),
      service('s', [{ port: 443 }], { annotations: { [`${ANN}.tls`]: '443', [`${ANN}.h2`]: '443', [`${ANN}.h2c`]: '443' } }),
    ],
    expect: { p: VALID },
    check: (r) => assert.equal(protocolOf(r), 'tls'),
  },
  {
    name: 'rule 5: a port-name entry beats a port-number entry',
    objects: [
      root('p', 'a.example.com', routeTo('s', 443)),
      service('s', [{ port: 443, name: 'web' }], { annotations: { [`${ANN}.h2c`]: 'web', [`${ANN}.tls`]: '443' } }),
    ],
    expect: { p: VALID },
    check: (r) => assert.equal(protocolOf(r), 'h2c'),
  },
  {
    name: 'rule 6: appProtocol replaces the annotations (kubernetes.io/h2c)',
    objects: [
      root('p', 'a.example.com', routeTo('s', 443)),
      service('s', [{ port: 443, appProtocol: 'kubernetes.io/h2c' }], { annotations: { [`${ANN}.tls`]: '443' } }),
    ],
    expect: { p: VALID },
    check: (r) => assert.equal(protocolOf(r), 'h2c'),
  },
  {
    name: 'rule 6: appProtocol https is tls; an unknown appProtocol means plain HTTP without error',
    objects: [
      root('p', 'a.example.com', { routes: [{ services: [{ name: 's', port: 443 }] }, { conditions: [{ prefix: '/u' }], services: [{ name: 's', port: 444 }] }] }),
      service('s', [{ port: 443, appProtocol: 'https' }, { port: 444, appProtocol: 'example.com/custom' }], { annotations: { [`${ANN}.tls`]: '444' } }),
    ],
    expect: { p: VALID },
    check: (r) => {
      const protos = r.proxyConfig.clusters.map((c) => [c.servicePort, c.protocol]).sort();
      assert.deepEqual(protos, [[443, 'tls'], [444, 'http1']]);
    },
  },
  {
    name: 'rule 7: services[].protocol overrides annotations',
    objects: [root('p', 'a.example.com', routeTo('s', 443, { protocol: 'h2c' })), service('s', [{ port: 443 }], { annotations: { [`${ANN}.tls`]: '443' } })],
    expect: { p: VALID },
    check: (r) => assert.equal(protocolOf(r), 'h2c'),
  },
  {
    name: 'rule 7: an unsupported services[].protocol is fatal',
    objects: [root('p', 'a.example.com', routeTo('s', 443, { protocol: 'h3' })), service('s', [{ port: 443 }])],
    expect: {
      p: invalid('route "/": service "s": unsupported protocol: h3', ['ServiceError', 'UnsupportedProtocol', 'unsupported protocol: h3']),
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'rule 7: protocol is checked only after the Service resolved',
    objects: [root('p', 'a.example.com', routeTo('missing', 443, { protocol: 'h3' }))],
    expect: {
      p: invalid('route "/": service "missing": service "default/missing" not found', [
        'ServiceError',
        'ServiceUnresolvedReference',
        'Spec.Routes unresolved service reference: service "default/missing" not found',
      ]),
    },
  },
  {
    name: 'rule 8: plain HTTP has no TLS; tls has TLS without ALPN; h2 has TLS',
    objects: [
      root('p', 'a.example.com', {
        routes: [
          { services: [{ name: 's', port: 80 }] },
          { conditions: [{ prefix: '/t' }], services: [{ name: 's', port: 443, protocol: 'tls' }] },
          { conditions: [{ prefix: '/h' }], services: [{ name: 's', port: 443, protocol: 'h2' }] },
        ],
      }),
      service('s', [{ port: 80 }, { port: 443 }]),
    ],
    expect: { p: VALID },
    check: (r) => {
      const got = r.proxyConfig.clusters.map((c) => [c.servicePort, c.protocol, c.tls !== undefined]).sort();
      assert.deepEqual(got, [[443, 'h2', true], [443, 'tls', true], [80, 'http1', false]]);
    },
  },
  {
    name: 'rule 9: a Service port named like the number matches',
    objects: [root('p', 'a.example.com', routeTo('s', 8080)), service('s', [{ port: 80, name: '8080', targetPort: 9000 }]), endpoints('s', ['10.0.0.1'], 9000, 'default', '8080')],
    expect: { p: VALID },
    check: (r) => {
      const c = firstCluster(r, 'a.example.com');
      assert.equal(c.servicePort, 80);
      assert.deepEqual(c.endpoints, [{ address: '10.0.0.1', port: 9000 }]);
    },
  },
  {
    name: 'rule 9: a UDP port is unsupported (non-fatal, route answers 503)',
    objects: [root('p', 'a.example.com', routeTo('s', 53)), service('s', [{ port: 53, protocol: 'UDP' }])],
    expect: {
      p: invalid('route "/": service "s": unsupported service protocol "UDP"', [
        'ServiceError',
        'ServiceUnresolvedReference',
        'Spec.Routes unresolved service reference: unsupported service protocol "UDP"',
      ]),
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts[0]!.routes[0]!.action, { kind: 'direct', statusCode: 503 }),
  },
  {
    name: 'rule 9: services are looked up in the namespace of the proxy holding the route',
    objects: [
      root('p', 'a.example.com', { includes: [{ name: 'c', namespace: 'team' }] }),
      proxy('c', { routes: [{ services: [{ name: 's', port: 80 }] }] }, 'team'),
      service('s', [{ port: 80 }]),
    ],
    expect: {
      p: VALID,
      'team/c': invalid('route "/": service "s": service "team/s" not found', [
        'ServiceError',
        'ServiceUnresolvedReference',
        'Spec.Routes unresolved service reference: service "team/s" not found',
      ]),
    },
  },
];

runRows(rows);
