// Client certificates through the whole build: what a TLS virtual host
// forwards of a client's certificate (clientValidation.forwardClientCertificate),
// the leaf-only CRL check, and the per-Service upstream client certificate
// (isobar.dev/upstream-client-certificate), which overrides or disables the
// config file's tls.envoy-client-certificate for one Service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import type { HTTPProxy } from '../../src/objects/types.ts';
import {
  assertStatuses,
  caSecret,
  config,
  endpoints,
  invalid,
  proxy,
  root,
  run,
  secret,
  service,
  tlsSecret,
  VALID,
  vhost,
  type Err,
  type Row,
} from './fixtures.ts';

const FQDN = 'a.example.com';
const ca = await createCa('client certificates CA');
const pair = await ca.issue({ dnsNames: [FQDN] });
const envoy = await ca.issue({ commonName: 'envoy', client: true });
const own = await ca.issue({ commonName: 'own', client: true });
const CRL = '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n';
const ANN = 'isobar.dev/upstream-client-certificate';
type Tls = NonNullable<NonNullable<HTTPProxy['spec']['virtualhost']>['tls']>;
const tlsRoot = (tls: Omit<Tls, 'secretName'>): HTTPProxy => proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge', ...tls } }, routes: [{ services: [{ name: 's', port: 80 }] }] });
const base = [tlsSecret('edge', pair), caSecret('ca', ca.certPem), service('s'), endpoints('s', ['10.0.0.1'], 80)];
const withEnvoyCert = config((c) => {
  c.tls.envoyClientCertificate = { namespace: 'certs', name: 'envoy' };
});
const tlsBackend = (annotations: Record<string, string>) => [
  service('t', [{ port: 443 }], { annotations: { 'projectcontour.io/upstream-protocol.tls': '443', ...annotations } }),
  endpoints('t', ['10.0.0.2'], 443),
];
const toTls = root('p', FQDN, { routes: [{ services: [{ name: 't', port: 443 }] }] });
const clusterCert = (r: ReturnType<typeof run>) => r.proxyConfig.clusters.find((c) => c.servicePort === 443)?.tls?.clientCertificateId;
const annotationErr = (problem: string): Err => ['TLSError', 'SecretNotValid', `Service "default/t" annotation ${ANN}: ${problem}`];

const rows: Row[] = [
  {
    name: 'forwardClientCertificate reaches the secure virtual host as written',
    objects: [tlsRoot({ clientValidation: { caSecret: 'ca', forwardClientCertificate: { subject: true, cert: true, chain: false, dns: true, uri: false } } }), ...base],
    expect: { p: VALID },
    check: (r) =>
      assert.deepEqual(vhost(r, FQDN, true)!.clientValidation, {
        caBundleId: 'default/ca',
        skipVerification: false,
        optional: false,
        forwardClientCertificate: { subject: true, cert: true, chain: false, dns: true, uri: false },
      }),
  },
  {
    name: 'an empty forwardClientCertificate still forwards (the hash, as Envoy); without it nothing is forwarded',
    objects: [tlsRoot({ clientValidation: { caSecret: 'ca', forwardClientCertificate: {} } }), ...base],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(vhost(r, FQDN, true)!.clientValidation!.forwardClientCertificate, { subject: false, cert: false, chain: false, dns: false, uri: false }),
  },
  {
    name: 'crlOnlyVerifyLeafCert with a CRL',
    objects: [tlsRoot({ clientValidation: { caSecret: 'ca', crlSecret: 'crl', crlOnlyVerifyLeafCert: true } }), secret('crl', { 'crl.pem': CRL }), ...base],
    expect: { p: VALID },
    check: (r) =>
      assert.deepEqual(vhost(r, FQDN, true)!.clientValidation, { caBundleId: 'default/ca+crl:default/crl', skipVerification: false, optional: false, crlOnlyVerifyLeafCert: true }),
  },
  {
    name: 'crlOnlyVerifyLeafCert without a CRL means nothing (as Contour)',
    objects: [tlsRoot({ clientValidation: { caSecret: 'ca', crlOnlyVerifyLeafCert: true } }), ...base],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(vhost(r, FQDN, true)!.clientValidation, { caBundleId: 'default/ca', skipVerification: false, optional: false }),
  },
  {
    name: 'a Service\'s own client certificate replaces the Envoy client certificate for its clusters only',
    config: withEnvoyCert,
    objects: [
      root('p', FQDN, { routes: [{ services: [{ name: 't', port: 443 }] }, { conditions: [{ prefix: '/u' }], services: [{ name: 'u', port: 443 }] }] }),
      ...tlsBackend({ [ANN]: 'own' }),
      tlsSecret('own', own),
      service('u', [{ port: 443 }], { annotations: { 'projectcontour.io/upstream-protocol.tls': '443' } }),
      tlsSecret('envoy', envoy, 'certs'),
    ],
    expect: { p: VALID },
    check: (r) => {
      const byService = new Map(r.proxyConfig.clusters.map((c) => [c.service, c.tls?.clientCertificateId]));
      assert.deepEqual([...byService], [['t', 'default/own'], ['u', 'certs/envoy']]);
      assert.deepEqual(r.proxyConfig.secrets.map((s) => s.id), ['certs/envoy', 'default/own']);
    },
  },
  {
    name: 'a Service\'s own client certificate without a global one',
    objects: [toTls, ...tlsBackend({ [ANN]: 'own' }), tlsSecret('own', own)],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(clusterCert(r), 'default/own');
      assert.deepEqual(r.proxyConfig.secrets, [{ id: 'default/own', certPem: own.certPem, keyPem: own.keyPem }]);
    },
  },
  {
    name: '"none" presents no client certificate to that Service, even with a global one',
    config: withEnvoyCert,
    objects: [toTls, ...tlsBackend({ [ANN]: 'none' }), tlsSecret('envoy', envoy, 'certs')],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(clusterCert(r), undefined);
      assert.deepEqual(r.proxyConfig.secrets, []);
    },
  },
  {
    name: 'an annotation naming a missing Secret: the route\'s proxy is invalid',
    objects: [toTls, ...tlsBackend({ [ANN]: 'gone' })],
    expect: { p: invalid(`route "/": service "t": ${annotationErr('Secret "default/gone" is invalid: Secret not found')[2]}`, annotationErr('Secret "default/gone" is invalid: Secret not found')) },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'an annotation naming a Secret in another namespace is refused (no delegation for it)',
    objects: [toTls, ...tlsBackend({ [ANN]: 'certs/envoy' }), tlsSecret('envoy', envoy, 'certs')],
    expect: {
      p: invalid(
        `route "/": service "t": ${annotationErr('"certs/envoy" must name a Secret in the Service\'s own namespace (no "namespace/" prefix)')[2]}`,
        annotationErr('"certs/envoy" must name a Secret in the Service\'s own namespace (no "namespace/" prefix)'),
      ),
    },
  },
  {
    name: 'a TCPProxy uses the Service\'s own certificate too',
    objects: [
      proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge' } }, tcpproxy: { services: [{ name: 't', port: 443 }] } }),
      tlsSecret('edge', pair),
      ...tlsBackend({ [ANN]: 'own' }),
      tlsSecret('own', own),
    ],
    expect: { p: { ...VALID, fqdn: FQDN } },
    check: (r) => assert.equal(clusterCert(r), 'default/own'),
  },
];

for (const row of rows) {
  test(`client certificates: ${row.name}`, () => {
    const r = run(row.objects, row.config);
    assertStatuses(r, row.expect);
    row.check?.(r);
  });
}
