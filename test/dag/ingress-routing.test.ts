// Ingress rules as Contour's ingress_processor.go turns them into routes:
// hosts (a rule without one is "*", wildcards one label), path types,
// the default backend as a first rule that later rules override, named
// and numbered Service ports, and the paths that cannot be served.
import assert from 'node:assert/strict';
import { endpoints, ingress, rule, service, vhost } from './fixtures.ts';
import { runIngressRows, routePaths, routeServices, SERVED, type IngressRow } from './ingress-fixtures.ts';

const base = [service('s', [{ name: 'http', port: 80 }, { name: 'alt', port: 8080 }]), endpoints('s', ['10.0.0.1'], 80), service('t', [{ port: 81 }])];

const rows: IngressRow[] = [
  {
    name: 'Prefix paths match whole segments with trailing slashes trimmed; "/" is every path',
    objects: [ingress('i', { rules: [rule('a.example.com', ['/api/', 'Prefix', 's', 80], ['/', 'Prefix', 's', 80], ['/v1//', 'Prefix', 's', 80])] }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.deepEqual(routePaths(r, 'a.example.com'), ['segment:/v1', 'segment:/api', 'prefix:/']),
  },
  {
    name: 'Exact paths match exactly; ImplementationSpecific is a string prefix unless it looks like a regex',
    objects: [
      ingress('i', {
        rules: [rule('a.example.com', ['/exact', 'Exact', 's', 80], ['/str', 'ImplementationSpecific', 's', 80], ['/re/[0-9]+', 'ImplementationSpecific', 's', 80], ['/p%20', 'ImplementationSpecific', 's', 80])],
      }),
      ...base,
    ],
    expect: { i: SERVED },
    check: (r) => assert.deepEqual(routePaths(r, 'a.example.com'), ['exact:/exact', 'regex:/re/[0-9]+', 'regex:/p%20', 'prefix:/str']),
  },
  {
    name: 'a path without a path type is ImplementationSpecific, and without a path it is "/"',
    objects: [ingress('i', { rules: [{ host: 'a.example.com', http: { paths: [{ pathType: 'ImplementationSpecific', backend: { service: { name: 's', port: { number: 80 } } } }] } }] }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.deepEqual(routePaths(r, 'a.example.com'), ['prefix:/']),
  },
  {
    name: 'an invalid regex costs that path, with Go\'s error text',
    objects: [ingress('i', { rules: [rule('a.example.com', ['/re/[', 'ImplementationSpecific', 's', 80], ['/ok', 'Prefix', 's', 80])] }), ...base],
    expect: { i: { problems: [['error', 'spec.rules[0].http.paths[0].path', /^error parsing regexp: .*: this path is not served$/]] } },
    check: (r) => assert.deepEqual(routePaths(r, 'a.example.com'), ['segment:/ok']),
  },
  {
    name: 'a rule without a host is the "*" virtual host, on the plain listener only',
    objects: [ingress('i', { rules: [rule('', ['/', 'Prefix', 's', 80])], tls: [{ hosts: ['*'], secretName: 'x' }] }), ...base],
    expect: { i: { problems: [['error', 'spec.tls[0].secretName', 'Secret "default/x": Secret not found: its hosts are served over plain HTTP only']] } },
    check: (r) => {
      assert.deepEqual(routePaths(r, '*'), ['prefix:/']);
      assert.equal(r.proxyConfig.httpsVirtualHosts.length, 0);
    },
  },
  {
    name: 'the default backend is a first rule on "*": a later rule for "*" and "/" replaces it',
    objects: [ingress('i', { defaultBackend: { service: { name: 't', port: { number: 81 } } }, rules: [rule('', ['/', 'ImplementationSpecific', 's', 80]), rule('b.example.com', ['/', 'Prefix', 't', 81])] }), ...base],
    expect: { i: SERVED },
    check: (r) => {
      assert.deepEqual(routeServices(r, '*'), ['s:80']);
      assert.deepEqual(routeServices(r, 'b.example.com'), ['t:81']);
    },
  },
  {
    name: 'a default backend alone serves every host',
    objects: [ingress('i', { defaultBackend: { service: { name: 's', port: { name: 'alt' } } } }), ...base],
    expect: { i: SERVED },
    check: (r) => {
      assert.deepEqual(routeServices(r, '*'), ['s:8080']);
      assert.deepEqual(r.ingresses[0]!.hosts, ['*']);
    },
  },
  {
    name: 'wildcard hosts are kept as written (one label in the proxy), hosts lower-cased',
    objects: [ingress('i', { rules: [rule('*.Example.com', ['/', 'Prefix', 's', 80])] }), ...base],
    expect: { i: SERVED },
    check: (r) => assert.ok(vhost(r, '*.example.com')),
  },
  {
    name: 'a named port resolves through the Service; a missing port, Service or resource backend costs only that path',
    objects: [
      ingress('i', {
        rules: [
          rule('a.example.com', ['/named', 'Prefix', 's', 'alt'], ['/noport', 'Prefix', 's', 'nope'], ['/nosvc', 'Prefix', 'gone', 80], ['/badport', 'Prefix', 's', 9999]),
          { host: 'a.example.com', http: { paths: [{ path: '/res', pathType: 'Prefix', backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'b' } } }] } },
        ],
      }),
      ...base,
    ],
    expect: {
      i: {
        problems: [
          ['error', 'spec.rules[0].http.paths[1].backend.service.port.name', 'service "default/s" has no port named "nope": this path is not served'],
          ['error', 'spec.rules[0].http.paths[2].backend.service', 'service "default/gone" not found: this path is not served'],
          ['error', 'spec.rules[0].http.paths[3].backend.service', 'port "9999" on service "default/s" not matched: this path is not served'],
          ['error', 'spec.rules[1].http.paths[0].backend.resource', 'resource backends (StorageBucket/b) are not supported by Contour or isobar: this path is not served'],
        ],
      },
    },
    check: (r) => assert.deepEqual(routeServices(r, 'a.example.com'), ['s:8080']),
  },
  {
    name: 'two Ingresses on one host share the virtual host; the later one replaces an identical match',
    objects: [
      ingress('a', { rules: [rule('h.example.com', ['/', 'Prefix', 's', 80], ['/a', 'Exact', 's', 80])] }),
      ingress('b', { rules: [rule('h.example.com', ['/', 'Prefix', 't', 81])] }),
      ...base,
    ],
    expect: { a: SERVED, b: SERVED },
    check: (r) => assert.deepEqual(routeServices(r, 'h.example.com'), ['s:80', 't:81']),
  },
  {
    name: 'routes point at clusters with the Service\'s endpoints, and the route names the Ingress as its origin',
    objects: [ingress('i', { rules: [rule('a.example.com', ['/', 'Prefix', 's', 80])] }), ...base],
    expect: { i: SERVED },
    check: (r) => {
      const route = vhost(r, 'a.example.com')!.routes[0]!;
      assert.deepEqual(route.origin, { namespace: 'default', name: 'i', kind: 'Ingress' });
      assert.deepEqual(route.timeouts, { responseMs: 15000, idleMs: 300000 });
      assert.equal(route.websocket, false);
      assert.deepEqual(r.proxyConfig.clusters.map((c) => [c.service, c.servicePort, c.protocol, c.endpoints]), [['s', 80, 'http1', [{ address: '10.0.0.1', port: 80 }]]]);
    },
  },
];

runIngressRows(rows);
