// contour-semantics.md section (b): upstream validation, rules 10-22.
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import {
  caSecret,
  config,
  delegation,
  firstCluster,
  invalid,
  proxy,
  root,
  secret,
  service,
  tlsService,
  tlsSecret,
  VALID,
  type Row,
  runRows,
} from './fixtures.ts';

const ca = await createCa('upstream CA');
const serving = await ca.issue({ dnsNames: ['edge.example.com'] });
const CA = ca.certPem;

const validated = (v: { caSecret: string; subjectName: string; subjectNames?: string[] }, extra: Record<string, unknown> = {}) =>
  root('p', 'a.example.com', { routes: [{ services: [{ name: 's', port: 443, validation: v, ...extra }] }] });
const TUV = (err: string) => `Service [s:443] TLS upstream validation policy error: ${err}`;
const DOC = 'route "/": service "s": upstreamValidation requested but secret not found or misconfigured';

const rows: Row[] = [
  {
    name: 'rule 10: subjectNames[0] must equal subjectName',
    objects: [validated({ caSecret: 'ca', subjectName: 'a', subjectNames: ['b', 'a'] }), tlsService('s'), caSecret('ca', CA)],
    expect: {
      p: invalid('route "/": service "s": upstreamValidation: first entry of SubjectNames (b) does not match SubjectName (a)', [
        'ServiceError',
        'TLSUpstreamValidation',
        TUV('first entry of SubjectNames (b) does not match SubjectName (a)'),
      ]),
    },
  },
  {
    name: 'rule 11: validation applies for tls and h2 (h2 via protocol field)',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }, { protocol: 'h2' }), service('s', [{ port: 443 }]), caSecret('ca', CA)],
    expect: { p: VALID },
    check: (r) => {
      const c = firstCluster(r, 'a.example.com');
      assert.equal(c.protocol, 'h2');
      assert.deepEqual(c.tls?.validation, { caBundleId: 'default/ca', subjectNames: ['backend'] });
    },
  },
  {
    name: 'rule 11 (isobar difference): validation on a plain HTTP service is an error naming the fix',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), service('s', [{ port: 443 }]), caSecret('ca', CA)],
    expect: {
      p: (() => {
        const msg =
          'Service [s:443] upstream validation requires a TLS upstream, but the effective protocol is plaintext HTTP/1.1: ' +
          'add the annotation projectcontour.io/upstream-protocol.tls: "443" to Service "default/s" or set protocol: tls on this service';
        return invalid(`route "/": service "s": ${msg}`, ['ServiceError', 'UpstreamValidationRequiresTLS', msg]);
      })(),
    },
    check: (r) => assert.deepEqual(r.proxyConfig.clusters, []),
  },
  {
    name: 'rule 11 (isobar difference): validation on an h2c service is an error',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }, { protocol: 'h2c' }), service('s', [{ port: 443 }]), caSecret('ca', CA)],
    expect: {
      p: (() => {
        const msg =
          'Service [s:443] upstream validation requires a TLS upstream, but the effective protocol is "h2c": ' +
          'add the annotation projectcontour.io/upstream-protocol.tls: "443" to Service "default/s" or set protocol: tls on this service';
        return invalid(`route "/": service "s": ${msg}`, ['ServiceError', 'UpstreamValidationRequiresTLS', msg]);
      })(),
    },
  },
  {
    name: 'rule 11: tcpproxy services follow the same validation rules and messages',
    objects: [
      root('p', 'a.example.com', {
        tls: { secretName: 'edge' },
        tcpproxy: { services: [{ name: 's', port: 443, validation: { caSecret: 'nope', subjectName: 'backend' } }] },
      }),
      tlsSecret('edge', serving),
      tlsService('s'),
    ],
    expect: {
      p: invalid(TUV('invalid CA Secret "default/nope": Secret not found'), [
        'ServiceError',
        'TLSUpstreamValidation',
        TUV('invalid CA Secret "default/nope": Secret not found'),
      ]),
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []),
  },
  {
    name: 'rule 11 (isobar difference): upstream-tls.require-validation makes TLS without validation invalid',
    config: config((c) => {
      c.upstreamTls.requireValidation = true;
    }),
    objects: [
      root('p', 'a.example.com', {
        routes: [
          { services: [{ name: 's', port: 443, validation: { caSecret: 'ca', subjectName: 'backend' } }] },
          { conditions: [{ prefix: '/plain' }], services: [{ name: 'h', port: 80 }] },
        ],
      }),
      root('q', 'b.example.com', { routes: [{ services: [{ name: 's', port: 443 }] }] }),
      root('t', 'c.example.com', { tls: { secretName: 'edge' }, tcpproxy: { services: [{ name: 's', port: 443 }] } }),
      tlsService('s'),
      service('h'),
      caSecret('ca', CA),
      tlsSecret('edge', serving),
    ],
    expect: (() => {
      const msg =
        'Service [s:443] uses upstream TLS without validation, which upstream-tls.require-validation forbids: ' +
        'add validation.caSecret and validation.subjectName to this service';
      return {
        p: VALID,
        q: invalid(`route "/": service "s": ${msg}`, ['ServiceError', 'UpstreamValidationRequired', msg]),
        t: invalid(msg, ['ServiceError', 'UpstreamValidationRequired', msg]),
      };
    })(),
    check: (r) => {
      assert.deepEqual(r.proxyConfig.httpVirtualHosts.map((v) => v.fqdn), ['a.example.com']);
      assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []);
    },
  },
  {
    name: 'rule 12: caSecret namespace/name refers to another namespace (delegated)',
    objects: [
      validated({ caSecret: 'certs/ca', subjectName: 'backend' }),
      tlsService('s'),
      caSecret('ca', CA, 'certs'),
      delegation('d', 'certs', [{ secretName: 'ca', targetNamespaces: ['default'] }]),
    ],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(firstCluster(r, 'a.example.com').tls?.validation?.caBundleId, 'certs/ca');
      assert.deepEqual(r.proxyConfig.caBundles, [{ id: 'certs/ca', caPem: CA }]);
    },
  },
  {
    name: 'rule 13: targetNamespaces ["*"] delegates to every namespace',
    objects: [
      validated({ caSecret: 'certs/ca', subjectName: 'backend' }),
      tlsService('s'),
      caSecret('ca', CA, 'certs'),
      delegation('d', 'certs', [{ secretName: 'ca', targetNamespaces: ['*'] }]),
    ],
    expect: { p: VALID },
  },
  {
    name: 'rule 13: "*" inside a longer list is not a wildcard',
    objects: [
      validated({ caSecret: 'certs/ca', subjectName: 'backend' }),
      tlsService('s'),
      caSecret('ca', CA, 'certs'),
      delegation('d', 'certs', [{ secretName: 'ca', targetNamespaces: ['*', 'other'] }]),
    ],
    expect: {
      p: invalid(
        'route "/": service "s": upstreamValidation caSecret "certs/ca" is not delegated to namespace "default" (add a TLSCertificateDelegation in namespace "certs")',
        ['TLSError', 'CACertificateNotDelegated', 'service.UpstreamValidation.CACertificate Secret "certs/ca" is not configured for certificate delegation'],
      ),
    },
  },
  {
    name: 'rule 13/14: delegation is checked before existence; a delegation in another namespace does not count',
    objects: [
      validated({ caSecret: 'certs/missing', subjectName: 'backend' }),
      tlsService('s'),
      delegation('d', 'default', [{ secretName: 'missing', targetNamespaces: ['*'] }]),
    ],
    expect: {
      p: invalid(
        'route "/": service "s": upstreamValidation caSecret "certs/missing" is not delegated to namespace "default" (add a TLSCertificateDelegation in namespace "certs")',
        ['TLSError', 'CACertificateNotDelegated', 'service.UpstreamValidation.CACertificate Secret "certs/missing" is not configured for certificate delegation'],
      ),
    },
  },
  {
    name: 'rule 15: missing CA secret (the documented status description)',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), tlsService('s')],
    expect: { p: invalid(DOC, ['ServiceError', 'TLSUpstreamValidation', TUV('invalid CA Secret "default/ca": Secret not found')]) },
  },
  {
    name: 'rule 15: CA secret of the wrong type',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), tlsService('s'), secret('ca', { 'ca.crt': CA }, 'kubernetes.io/dockerconfigjson')],
    expect: {
      p: invalid(DOC, ['ServiceError', 'TLSUpstreamValidation', TUV('invalid CA Secret "default/ca": secret type is not "kubernetes.io/tls" or "Opaque"')]),
    },
  },
  {
    name: 'rule 15: empty ca.crt',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), tlsService('s'), secret('ca', { 'ca.crt': '' })],
    expect: { p: invalid(DOC, ['ServiceError', 'TLSUpstreamValidation', TUV('invalid CA Secret "default/ca": empty "ca.crt" key')]) },
  },
  {
    name: 'rule 15: ca.crt without a PEM block',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), tlsService('s'), secret('ca', { 'ca.crt': 'not a certificate' })],
    expect: {
      p: invalid(DOC, [
        'ServiceError',
        'TLSUpstreamValidation',
        TUV('invalid CA Secret "default/ca": invalid CA certificate bundle: failed to locate certificate'),
      ]),
    },
  },
  {
    name: 'rule 15: ca.crt with a broken PEM block',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), tlsService('s'), secret('ca', { 'ca.crt': '-----BEGIN CERTIFICATE-----\n!!!\n' })],
    expect: {
      p: invalid(DOC, [
        'ServiceError',
        'TLSUpstreamValidation',
        TUV('invalid CA Secret "default/ca": invalid CA certificate bundle: failed to parse PEM block'),
      ]),
    },
  },
  {
    name: 'rule 15: ca.crt holding a private key',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), tlsService('s'), secret('ca', { 'ca.crt': CA + serving.keyPem })],
    expect: {
      p: invalid(DOC, [
        'ServiceError',
        'TLSUpstreamValidation',
        TUV("invalid CA Secret \"default/ca\": invalid CA certificate bundle: unexpected block type 'PRIVATE KEY'"),
      ]),
    },
  },
  {
    name: 'rule 15: empty subjectName is checked after the CA',
    objects: [validated({ caSecret: 'ca', subjectName: '' }), tlsService('s'), caSecret('ca', CA)],
    expect: {
      p: invalid('route "/": service "s": upstreamValidation: missing subject alternative name', [
        'ServiceError',
        'TLSUpstreamValidation',
        TUV('missing subject alternative name'),
      ]),
    },
  },
  {
    name: 'rule 16: kubernetes.io/tls CA secrets and text around PEM blocks are accepted; no x509 parse',
    objects: [
      validated({ caSecret: 'ca', subjectName: 'backend' }),
      tlsService('s'),
      secret('ca', { 'ca.crt': `# bundle\n${CA}trailing words\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n` }, 'kubernetes.io/tls'),
    ],
    expect: { p: VALID },
  },
  {
    name: 'rule 16: a ConfigMap-style key (ca.pem) is not accepted',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend' }), tlsService('s'), secret('ca', { 'ca.pem': CA })],
    expect: { p: invalid(DOC, ['ServiceError', 'TLSUpstreamValidation', TUV('invalid CA Secret "default/ca": empty "ca.crt" key')]) },
  },
  {
    name: 'rule 17: subjectNames, when set, are the names matched',
    objects: [validated({ caSecret: 'ca', subjectName: 'a', subjectNames: ['a', 'b'] }), tlsService('s'), caSecret('ca', CA)],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(firstCluster(r, 'a.example.com').tls?.validation?.subjectNames, ['a', 'b']),
  },
  {
    name: 'rule 18: the cluster carries the CA bundle and DNS subject names; the bundle is inline PEM',
    objects: [validated({ caSecret: 'ca', subjectName: 'backend.internal' }), tlsService('s'), caSecret('ca', CA)],
    expect: { p: VALID },
    check: (r) => {
      const c = firstCluster(r, 'a.example.com');
      assert.deepEqual(c.tls, {
        minVersion: '1.2',
        maxVersion: '1.3',
        sni: 'backend.internal',
        validation: { caBundleId: 'default/ca', subjectNames: ['backend.internal'] },
      });
      assert.deepEqual(r.proxyConfig.caBundles, [{ id: 'default/ca', caPem: CA }]);
    },
  },
  {
    name: 'rule 19: SNI is the service-level Host literal before the route-level one',
    objects: [
      root('p', 'a.example.com', {
        routes: [
          {
            requestHeadersPolicy: { set: [{ name: 'host', value: 'route.example' }] },
            services: [{ name: 's', port: 443, requestHeadersPolicy: { set: [{ name: 'Host', value: 'svc.example' }] } }],
          },
        ],
      }),
      tlsService('s'),
    ],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(firstCluster(r, 'a.example.com').tls?.sni, 'svc.example');
      const route = r.proxyConfig.httpVirtualHosts[0]!.routes[0]!;
      assert.deepEqual(route.hostRewrite, { literal: 'route.example' });
      assert.equal(route.action.kind === 'forward' && route.action.clusters[0]!.hostRewrite, 'svc.example');
      assert.deepEqual(route.action.kind === 'forward' && route.action.clusters[0]!.requestHeaders, { set: [{ name: 'Host', value: 'svc.example' }], remove: [] });
    },
  },
  {
    name: 'rule 19: SNI from the route-level Host; a %REQ()% Host sets no SNI',
    objects: [
      root('p', 'a.example.com', {
        routes: [
          { requestHeadersPolicy: { set: [{ name: 'Host', value: 'route.example' }] }, services: [{ name: 's', port: 443 }] },
          {
            conditions: [{ prefix: '/dyn' }],
            requestHeadersPolicy: { set: [{ name: 'Host', value: '%REQ(x-target)%' }] },
            services: [{ name: 's', port: 8443 }],
          },
        ],
      }),
      service('s', [{ port: 443 }, { port: 8443 }], { annotations: { 'projectcontour.io/upstream-protocol.tls': '443,8443' } }),
    ],
    expect: { p: VALID },
    check: (r) => {
      const got = r.proxyConfig.clusters.map((c) => [c.servicePort, c.tls?.sni ?? null]).sort();
      assert.deepEqual(got, [[443, 'route.example'], [8443, null]]);
      const dyn = r.proxyConfig.httpVirtualHosts[0]!.routes.find((x) => x.path.value === '/dyn')!;
      assert.deepEqual(dyn.hostRewrite, { fromHeader: 'x-target' });
    },
  },
  {
    name: 'rule 19: SNI from an ExternalName service',
    config: config((c) => {
      c.enableExternalNameService = true;
    }),
    objects: [
      root('p', 'a.example.com', { routes: [{ services: [{ name: 's', port: 443 }] }] }),
      service('s', [{ port: 443 }], { type: 'ExternalName', externalName: 'api.upstream.test', annotations: { 'projectcontour.io/upstream-protocol.tls': '443' } }),
    ],
    expect: { p: VALID },
    check: (r) => {
      const c = firstCluster(r, 'a.example.com');
      assert.equal(c.tls?.sni, 'api.upstream.test');
      assert.deepEqual(c.endpoints, [{ address: 'api.upstream.test', port: 443 }]);
    },
  },
  {
    name: 'rule 19 (isobar difference): without Host or ExternalName, SNI is the first subject name; none without validation',
    objects: [
      root('p', 'a.example.com', {
        routes: [
          { services: [{ name: 's', port: 443, validation: { caSecret: 'ca', subjectName: 'one', subjectNames: ['one', 'two'] } }] },
          { conditions: [{ prefix: '/plain' }], services: [{ name: 's', port: 443 }] },
        ],
      }),
      tlsService('s'),
      caSecret('ca', CA),
    ],
    expect: { p: VALID },
    check: (r) => {
      const got = r.proxyConfig.clusters.map((c) => c.tls?.sni ?? '(none)').sort();
      assert.deepEqual(got, ['(none)', 'one']);
    },
  },
  {
    name: 'rule 20: upstream TLS versions come from the config',
    config: config((c) => {
      c.upstreamTls.minimumProtocolVersion = '1.3';
    }),
    objects: [root('p', 'a.example.com', { routes: [{ services: [{ name: 's', port: 443 }] }] }), tlsService('s')],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(firstCluster(r, 'a.example.com').tls, { minVersion: '1.3', maxVersion: '1.3' }),
  },
  {
    name: 'rule 21: the same Service with and without validation yields two clusters',
    objects: [
      root('p', 'a.example.com', {
        routes: [
          { services: [{ name: 's', port: 443, validation: { caSecret: 'ca', subjectName: 'backend' } }] },
          { conditions: [{ prefix: '/x' }], services: [{ name: 's', port: 443 }] },
          { conditions: [{ prefix: '/y' }], services: [{ name: 's', port: 443 }] },
        ],
      }),
      tlsService('s'),
      caSecret('ca', CA),
    ],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(r.proxyConfig.clusters.length, 2);
      const names = new Set(r.proxyConfig.clusters.map((c) => c.name));
      assert.equal(names.size, 2);
      for (const n of names) assert.match(n, /^default\/s\/443\/[0-9a-f]{10}$/);
    },
  },
  {
    name: 'rule 22: a child route with missing CA: the documented description, on the child only',
    objects: [
      root('p', 'a.example.com', { includes: [{ name: 'c', conditions: [{ prefix: '/' }] }] }),
      proxy('c', { routes: [{ services: [{ name: 'tls-nginx', port: 443, validation: { caSecret: 'ca', subjectName: 'nginx' } }] }] }),
      tlsService('tls-nginx'),
    ],
    expect: {
      p: VALID,
      c: invalid('route "/": service "tls-nginx": upstreamValidation requested but secret not found or misconfigured', [
        'ServiceError',
        'TLSUpstreamValidation',
        'Service [tls-nginx:443] TLS upstream validation policy error: invalid CA Secret "default/ca": Secret not found',
      ]),
    },
  },
];

runRows(rows);
