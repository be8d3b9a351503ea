// contour-semantics.md sections (c) Envoy client certificate, rules 23-26,
// and (e) virtual host TLS termination, rules 43-49.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { createCa } from '../support/pki.ts';
import {
  caSecret,
  config,
  delegation,
  endpoints,
  firstCluster,
  invalid,
  invalidSame,
  proxy,
  root,
  run,
  secret,
  service,
  tlsSecret,
  tlsService,
  vhost,
  VALID,
  type Row,
  runRows,
} from './fixtures.ts';

const ca = await createCa('edge CA');
const pair = await ca.issue({ dnsNames: ['a.example.com'] });
const other = await ca.issue({ dnsNames: ['unrelated.example.org'] });
const client = await ca.issue({ commonName: 'envoy', client: true });

/** A certificate with neither a common name nor a SAN. */
async function nameless(): Promise<{ certPem: string; keyPem: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a',
    name: 'O=isobar tests',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: alg,
    keys: keys as never,
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return { certPem: cert.toString('pem') + '\n', keyPem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n` };
}
const noName = await nameless();

const FQDN = 'a.example.com';
const routes = { routes: [{ services: [{ name: 's', port: 80 }] }] };
const tlsRoot = (tls: Record<string, unknown>, extra: Record<string, unknown> = {}, ns = 'default') =>
  root('p', FQDN, { tls, ...routes, ...extra }, ns);
const base = [service('s'), endpoints('s', ['10.0.0.1'], 8080)];
const secretInvalid = (name: string, reason: string) =>
  invalidSame(['TLSError', 'SecretNotValid', `Spec.VirtualHost.TLS Secret "${name}" is invalid: ${reason}`]);
const nothingProgrammed = (r: ReturnType<typeof run>) => {
  assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);
  assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []);
  assert.deepEqual(r.proxyConfig.secrets, []);
};
const CC = 'tls.envoy-client-certificate Secret "certs/envoy" is invalid';
const ccInvalid = (reason: string) => invalid(`route "/": service "s": ${CC}: ${reason}`, ['TLSError', 'SecretNotValid', `${CC}: ${reason}`]);
const withClientCert = config((c) => {
  c.tls.envoyClientCertificate = { namespace: 'certs', name: 'envoy' };
});

const rows: Row[] = [
  // ---- (c) Envoy client certificate ----
  {
    name: 'rule 23/25: a configured client certificate is attached to every TLS cluster, without delegation',
    config: withClientCert,
    objects: [
      root('p', FQDN, {
        routes: [{ services: [{ name: 't', port: 443 }] }, { conditions: [{ prefix: '/plain' }], services: [{ name: 's', port: 80 }] }],
      }),
      tlsService('t'),
      ...base,
      tlsSecret('envoy', client, 'certs'),
    ],
    expect: { p: VALID },
    check: (r) => {
      const byPort = new Map(r.proxyConfig.clusters.map((c) => [c.servicePort, c]));
      assert.equal(byPort.get(443)!.tls?.clientCertificateId, 'certs/envoy');
      assert.equal(byPort.get(80)!.tls, undefined, 'plain clusters have no TLS to present it on');
      assert.deepEqual(r.proxyConfig.secrets, [{ id: 'certs/envoy', certPem: client.certPem, keyPem: client.keyPem }]);
    },
  },
  {
    name: 'rule 24: an Opaque client certificate secret with tls.crt/tls.key is accepted',
    config: withClientCert,
    objects: [
      root('p', FQDN, { tls: { secretName: 'edge' }, tcpproxy: { services: [{ name: 't', port: 443 }] } }),
      tlsService('t'),
      tlsSecret('edge', pair),
      secret('envoy', { 'tls.crt': client.certPem, 'tls.key': client.keyPem }, 'Opaque', 'certs'),
    ],
    expect: { p: VALID },
    check: (r) => {
      const fwd = vhost(r, FQDN, true)!.tcpProxy!;
      const c = r.proxyConfig.clusters.find((x) => x.name === fwd.clusters[0]!.cluster)!;
      assert.equal(c.tls?.clientCertificateId, 'certs/envoy', 'rule 25: TCPProxy clusters get it too');
    },
  },
  {
    name: 'rule 24: a client certificate without CN or SAN is invalid',
    config: withClientCert,
    objects: [root('p', FQDN, routes), ...base, tlsSecret('envoy', noName, 'certs')],
    expect: {
      p: ccInvalid('invalid TLS certificate: certificate has no common name or subject alt name'),
    },
  },
  {
    name: 'rule 26: a missing client certificate fails every service of every HTTPProxy, even plain HTTP',
    config: withClientCert,
    objects: [
      root('p', FQDN, routes),
      root('q', 'b.example.com', { routes: [{ services: [{ name: 's', port: 80 }] }, { conditions: [{ prefix: '/x' }], services: [{ name: 's', port: 80 }] }] }),
      ...base,
    ],
    expect: {
      p: ccInvalid('Secret not found'),
      q: ccInvalid('Secret not found'),
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'rule 26: a client certificate key with two private keys is invalid',
    config: withClientCert,
    objects: [root('p', FQDN, routes), ...base, tlsSecret('envoy', { certPem: client.certPem, keyPem: client.keyPem + pair.keyPem }, 'certs')],
    expect: { p: ccInvalid('invalid TLS private key: multiple private keys') },
  },
  // ---- (e) virtual host TLS ----
  {
    name: 'rule 43: secretName and passthrough together are invalid',
    objects: [tlsRoot({ secretName: 'edge', passthrough: true }), tlsSecret('edge', pair), ...base],
    expect: { p: invalidSame(['TLSError', 'TLSConfigNotValid', 'Spec.VirtualHost.TLS: both Passthrough and SecretName were specified']) },
    check: nothingProgrammed,
  },
  {
    name: 'rule 43: neither secretName nor passthrough is invalid',
    objects: [tlsRoot({ minimumProtocolVersion: '1.3' }), ...base],
    expect: { p: invalidSame(['TLSError', 'TLSConfigNotValid', 'Spec.VirtualHost.TLS: neither Passthrough nor SecretName were specified']) },
  },
  {
    name: 'rule 43: passthrough with clientValidation is incompatible',
    objects: [tlsRoot({ passthrough: true, clientValidation: { caSecret: 'ca' } }, { routes: [], tcpproxy: { services: [{ name: 's', port: 80 }] } }), ...base],
    expect: { p: invalidSame(['TLSError', 'TLSIncompatibleFeatures', 'Spec.VirtualHost.TLS passthrough cannot be combined with tls.clientValidation']) },
  },
  {
    name: 'rule 43: passthrough with enableFallbackCertificate is a non-fatal error',
    objects: [tlsRoot({ passthrough: true, enableFallbackCertificate: true }, { routes: [], tcpproxy: { services: [{ name: 's', port: 80 }] } }), ...base],
    expect: {
      p: invalidSame(['TLSError', 'TLSIncompatibleFeatures', 'Spec.VirtualHost.TLS: both Passthrough and enableFallbackCertificate were specified']),
    },
    check: (r) => {
      const v = vhost(r, FQDN, true)!;
      assert.ok(v.passthrough, 'processing continued: the passthrough is programmed');
      assert.equal(v.secretId, undefined);
    },
  },
  {
    name: 'rule 44: a cross-namespace secret without delegation names the secret as written',
    objects: [tlsRoot({ secretName: 'certs/edge' }), tlsSecret('edge', pair, 'certs'), ...base],
    expect: { p: invalidSame(['TLSError', 'DelegationNotPermitted', 'Spec.VirtualHost.TLS Secret "certs/edge" certificate delegation not permitted']) },
    check: nothingProgrammed,
  },
  {
    name: 'rule 44: a delegated cross-namespace secret is served; cert names are not matched to the fqdn',
    objects: [
      tlsRoot({ secretName: 'certs/edge' }),
      tlsSecret('edge', other, 'certs'),
      delegation('d', 'certs', [{ secretName: 'edge', targetNamespaces: ['default'] }]),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(vhost(r, FQDN, true)!.secretId, 'certs/edge');
      assert.deepEqual(r.proxyConfig.secrets, [{ id: 'certs/edge', certPem: other.certPem, keyPem: other.keyPem }]);
    },
  },
  { name: 'rule 44: secret not found', objects: [tlsRoot({ secretName: 'edge' }), ...base], expect: { p: secretInvalid('edge', 'Secret not found') } },
  {
    name: 'rule 44: secret of the wrong type',
    objects: [tlsRoot({ secretName: 'edge' }), secret('edge', { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem }, 'kubernetes.io/basic-auth'), ...base],
    expect: { p: secretInvalid('edge', 'secret type is not "kubernetes.io/tls" or "Opaque"') },
  },
  {
    name: 'rule 44: missing TLS certificate',
    objects: [tlsRoot({ secretName: 'edge' }), secret('edge', { 'tls.key': pair.keyPem }, 'kubernetes.io/tls'), ...base],
    expect: { p: secretInvalid('edge', 'missing TLS certificate') },
  },
  {
    name: 'rule 44: certificate without CN or SAN',
    objects: [tlsRoot({ secretName: 'edge' }), tlsSecret('edge', noName), ...base],
    expect: { p: secretInvalid('edge', 'invalid TLS certificate: certificate has no common name or subject alt name') },
  },
  {
    name: 'rule 44: certificate data without PEM',
    objects: [tlsRoot({ secretName: 'edge' }), tlsSecret('edge', { certPem: 'hello', keyPem: pair.keyPem }), ...base],
    expect: { p: secretInvalid('edge', 'invalid TLS certificate: failed to locate certificate') },
  },
  {
    name: 'rule 44: certificate PEM that does not parse',
    objects: [tlsRoot({ secretName: 'edge' }), tlsSecret('edge', { certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', keyPem: pair.keyPem }), ...base],
    expect: { p: secretInvalid('edge', 'invalid TLS certificate: failed to parse PEM block') },
  },
  {
    name: 'rule 44: a key where the certificate should be',
    objects: [tlsRoot({ secretName: 'edge' }), tlsSecret('edge', { certPem: pair.keyPem, keyPem: pair.keyPem }), ...base],
    expect: { p: secretInvalid('edge', "invalid TLS certificate: unexpected block type 'PRIVATE KEY'") },
  },
  {
    name: 'rule 44: missing private key',
    objects: [tlsRoot({ secretName: 'edge' }), secret('edge', { 'tls.crt': pair.certPem }, 'kubernetes.io/tls'), ...base],
    expect: { p: secretInvalid('edge', 'missing TLS private key') },
  },
  {
    name: 'rule 44: private key data without PEM',
    objects: [tlsRoot({ secretName: 'edge' }), tlsSecret('edge', { certPem: pair.certPem, keyPem: 'secret words' }), ...base],
    expect: { p: secretInvalid('edge', 'invalid TLS private key: failed to locate private key') },
  },
  {
    name: 'rule 44: a private key PEM that does not parse',
    objects: [tlsRoot({ secretName: 'edge' }), tlsSecret('edge', { certPem: pair.certPem, keyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), ...base],
    expect: { p: secretInvalid('edge', 'invalid TLS private key: failed to parse PEM block') },
  },
  {
    name: 'rule 44: an Opaque secret with tls.crt and tls.key is accepted',
    objects: [tlsRoot({ secretName: 'edge' }), secret('edge', { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem }), ...base],
    expect: { p: VALID },
  },
  {
    name: 'rule 45: a TLS failure programs nothing for the fqdn, not even port 80; children stay orphaned (rule 34)',
    objects: [tlsRoot({ secretName: 'missing' }, { includes: [{ name: 'c' }] }), proxy('c', routes), ...base],
    expect: {
      p: secretInvalid('missing', 'Secret not found'),
      c: {
        currentStatus: 'orphaned',
        description: 'this HTTPProxy is not part of a delegation chain from a root HTTPProxy',
        errors: [['Orphaned', 'Orphaned', 'this HTTPProxy is not part of a delegation chain from a root HTTPProxy']],
      },
    },
    check: nothingProgrammed,
  },
  {
    name: 'rule 45: a TLS vhost whose only route fails programs no vhost and no certificate',
    objects: [tlsRoot({ secretName: 'edge' }, { routes: [{ services: [{ name: 's', port: 80, protocol: 'h3' }] }] }), tlsSecret('edge', pair), ...base],
    expect: { p: invalid('route "/": service "s": unsupported protocol: h3', ['ServiceError', 'UnsupportedProtocol', 'unsupported protocol: h3']) },
    check: nothingProgrammed,
  },
  {
    name: 'rule 46: protocol versions: unknown values fall back to the defaults',
    objects: [tlsRoot({ secretName: 'edge', minimumProtocolVersion: '1.1', maximumProtocolVersion: 'TLSv1.3' }), tlsSecret('edge', pair), ...base],
    expect: { p: VALID },
    check: (r) => {
      const v = vhost(r, FQDN, true)!;
      assert.deepEqual([v.minVersion, v.maxVersion], ['1.2', '1.3']);
    },
  },
  {
    name: 'rule 46: minimum 1.3 is honoured',
    objects: [tlsRoot({ secretName: 'edge', minimumProtocolVersion: '1.3' }), tlsSecret('edge', pair), ...base],
    expect: { p: VALID },
    check: (r) => assert.equal(vhost(r, FQDN, true)!.minVersion, '1.3'),
  },
  {
    name: 'rule 46: minimum greater than maximum is invalid',
    objects: [tlsRoot({ secretName: 'edge', minimumProtocolVersion: '1.3', maximumProtocolVersion: '1.2' }), tlsSecret('edge', pair), ...base],
    expect: {
      p: invalidSame(['TLSError', 'TLSConfigNotValid', 'Spec.Virtualhost.TLS the minimum protocol version is greater than the maximum protocol version']),
    },
    check: nothingProgrammed,
  },
  {
    name: 'rule 47: fallback with clientValidation is incompatible',
    config: config((c) => {
      c.tls.fallbackCertificate = { namespace: 'default', name: 'fb' };
    }),
    objects: [tlsRoot({ secretName: 'edge', enableFallbackCertificate: true, clientValidation: { caSecret: 'ca' } }), tlsSecret('edge', pair), ...base],
    expect: { p: invalidSame(['TLSError', 'TLSIncompatibleFeatures', 'Spec.Virtualhost.TLS fallback & client validation are incompatible']) },
  },
  {
    name: 'rule 47: fallback with authorization is incompatible',
    objects: [
      proxy('p', {
        virtualhost: { fqdn: FQDN, tls: { secretName: 'edge', enableFallbackCertificate: true }, authorization: { extensionRef: { name: 'authz' } } },
        ...routes,
      }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: invalidSame(['TLSError', 'TLSIncompatibleFeatures', 'Spec.Virtualhost.TLS fallback & client authorization are incompatible']) },
  },
  {
    name: 'rule 47: fallback with JWT providers is incompatible',
    objects: [
      proxy('p', {
        virtualhost: { fqdn: FQDN, tls: { secretName: 'edge', enableFallbackCertificate: true }, jwtProviders: [{ name: 'j' }] },
        ...routes,
      }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: invalidSame(['TLSError', 'TLSIncompatibleFeatures', 'Spec.Virtualhost.TLS fallback & JWT providers are incompatible']) },
  },
  {
    name: 'rule 47: fallback without a configured certificate',
    objects: [tlsRoot({ secretName: 'edge', enableFallbackCertificate: true }), tlsSecret('edge', pair), ...base],
    expect: {
      p: invalidSame([
        'TLSError',
        'FallbackNotPresent',
        'Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is not configured in Contour configuration file',
      ]),
    },
    check: nothingProgrammed,
  },
  {
    name: 'rule 47: the fallback secret must be delegated to the proxy namespace',
    config: config((c) => {
      c.tls.fallbackCertificate = { namespace: 'certs', name: 'fb' };
    }),
    objects: [tlsRoot({ secretName: 'edge', enableFallbackCertificate: true }), tlsSecret('edge', pair), tlsSecret('fb', other, 'certs'), ...base],
    expect: { p: invalidSame(['TLSError', 'FallbackNotDelegated', 'Spec.VirtualHost.TLS Secret "certs/fb" is not configured for certificate delegation']) },
  },
  {
    name: 'rule 47: an invalid fallback secret',
    config: config((c) => {
      c.tls.fallbackCertificate = { namespace: 'certs', name: 'fb' };
    }),
    objects: [
      tlsRoot({ secretName: 'edge', enableFallbackCertificate: true }),
      tlsSecret('edge', pair),
      delegation('d', 'certs', [{ secretName: 'fb', targetNamespaces: ['*'] }]),
      ...base,
    ],
    expect: { p: invalidSame(['TLSError', 'FallbackNotValid', 'Spec.Virtualhost.TLS Secret "certs/fb" fallback certificate is invalid: Secret not found']) },
  },
  {
    name: 'rule 47: a valid fallback certificate is programmed',
    config: config((c) => {
      c.tls.fallbackCertificate = { namespace: 'certs', name: 'fb' };
    }),
    objects: [
      tlsRoot({ secretName: 'edge', enableFallbackCertificate: true }),
      tlsSecret('edge', pair),
      tlsSecret('fb', other, 'certs'),
      delegation('d', 'certs', [{ secretName: 'fb', targetNamespaces: ['default'] }]),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(r.proxyConfig.fallbackCertificateId, 'certs/fb');
      assert.equal(vhost(r, FQDN, true)!.fallbackCertificate, true);
      assert.deepEqual(r.proxyConfig.secrets.map((s) => s.id), ['certs/fb', 'default/edge']);
    },
  },
  {
    name: 'rule 48: client validation CA secret in another namespace needs delegation',
    objects: [tlsRoot({ secretName: 'edge', clientValidation: { caSecret: 'certs/ca' } }), tlsSecret('edge', pair), caSecret('ca', ca.certPem, 'certs'), ...base],
    expect: {
      p: invalidSame(['TLSError', 'DelegationNotPermitted', 'Spec.VirtualHost.TLS CA Secret "certs/ca" is invalid: certificate delegation not permitted']),
    },
  },
  {
    name: 'rule 48: an invalid client validation CA secret',
    objects: [tlsRoot({ secretName: 'edge', clientValidation: { caSecret: 'ca' } }), tlsSecret('edge', pair), secret('ca', { 'ca.crt': 'x' }), ...base],
    expect: {
      p: invalidSame([
        'TLSError',
        'ClientValidationInvalid',
        'Spec.VirtualHost.TLS client validation is invalid: invalid CA Secret "default/ca": invalid CA certificate bundle: failed to locate certificate',
      ]),
    },
    check: nothingProgrammed,
  },
  {
    name: 'rule 48: clientValidation without a CA secret is a non-fatal error',
    objects: [tlsRoot({ secretName: 'edge', clientValidation: {} }), tlsSecret('edge', pair), ...base],
    expect: { p: invalidSame(['TLSError', 'ClientValidationInvalid', 'Spec.VirtualHost.TLS client validation is invalid: CA Secret must be specified']) },
    check: (r) => assert.deepEqual(vhost(r, FQDN, true)!.clientValidation, { skipVerification: false, optional: false }),
  },
  {
    name: 'rule 48: client validation with a CA and a CRL is programmed',
    objects: [
      tlsRoot({ secretName: 'edge', clientValidation: { caSecret: 'ca', crlSecret: 'crl', optionalClientCertificate: true } }),
      tlsSecret('edge', pair),
      caSecret('ca', ca.certPem),
      secret('crl', { 'crl.pem': '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      assert.deepEqual(vhost(r, FQDN, true)!.clientValidation, { skipVerification: false, optional: true, caBundleId: 'default/ca+crl:default/crl' });
      assert.equal(r.proxyConfig.caBundles[0]!.crlPem, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
    },
  },
  {
    name: 'rule 48: an invalid CRL secret',
    objects: [tlsRoot({ secretName: 'edge', clientValidation: { caSecret: 'ca', crlSecret: 'crl' } }), tlsSecret('edge', pair), caSecret('ca', ca.certPem), ...base],
    expect: {
      p: invalidSame(['TLSError', 'ClientValidationInvalid', 'Spec.VirtualHost.TLS client validation is invalid: invalid CRL Secret "default/crl": Secret not found']),
    },
  },
  {
    name: 'rule 48: a CRL secret in another namespace needs delegation too',
    objects: [
      tlsRoot({ secretName: 'edge', clientValidation: { caSecret: 'ca', crlSecret: 'certs/crl' } }),
      tlsSecret('edge', pair),
      caSecret('ca', ca.certPem),
      secret('crl', { 'crl.pem': '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' }, 'Opaque', 'certs'),
      ...base,
    ],
    expect: {
      p: invalidSame(['TLSError', 'DelegationNotPermitted', 'Spec.VirtualHost.TLS CRL Secret "certs/crl" is invalid: certificate delegation not permitted']),
    },
  },
  {
    name: 'rule 49: TLS routes go to both listeners; port 80 redirects unless permitInsecure',
    objects: [
      tlsRoot({ secretName: 'edge' }, { routes: [{ services: [{ name: 's', port: 80 }] }, { conditions: [{ prefix: '/open' }], permitInsecure: true, services: [{ name: 's', port: 80 }] }] }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const plain = vhost(r, FQDN)!.routes.map((x) => [x.path.value, x.httpsRedirect ?? false]);
      assert.deepEqual(plain, [['/open', false], ['/', true]]);
      const secure = vhost(r, FQDN, true)!.routes.map((x) => [x.path.value, x.httpsRedirect ?? false]);
      assert.deepEqual(secure, [['/open', false], ['/', false]]);
    },
  },
  {
    name: 'rule 49: disablePermitInsecure ignores permitInsecure',
    config: config((c) => {
      c.disablePermitInsecure = true;
    }),
    objects: [tlsRoot({ secretName: 'edge' }, { routes: [{ permitInsecure: true, services: [{ name: 's', port: 80 }] }] }), tlsSecret('edge', pair), ...base],
    expect: { p: VALID },
    check: (r) => assert.equal(vhost(r, FQDN)!.routes[0]!.httpsRedirect, true),
  },
  {
    name: 'rule 49: tcpproxy requires TLS',
    objects: [root('p', FQDN, { tcpproxy: { services: [{ name: 's', port: 80 }] } }), ...base],
    expect: {
      p: invalidSame(['TCPProxyError', 'TLSMustBeConfigured', 'Spec.TCPProxy requires that either Spec.TLS.Passthrough or Spec.TLS.SecretName be set']),
    },
  },
  {
    name: 'rule 49: passthrough counts as TLS; with tcpproxy, routes only go to port 80',
    objects: [tlsRoot({ passthrough: true }, { tcpproxy: { services: [{ name: 's', port: 80 }] } }), ...base],
    expect: { p: VALID },
    check: (r) => {
      const secure = vhost(r, FQDN, true)!;
      assert.deepEqual(secure.routes, []);
      assert.equal(secure.passthrough!.clusters.length, 1);
      assert.equal(vhost(r, FQDN)!.routes[0]!.httpsRedirect, true);
    },
  },
  {
    name: 'rule 49: a tcpproxy health check policy is a TCP connect check on its clusters, Envoy defaults filled in',
    objects: [tlsRoot({ secretName: 'edge' }, { routes: [], tcpproxy: { services: [{ name: 's', port: 80 }], healthCheckPolicy: { intervalSeconds: 5 } } }), tlsSecret('edge', pair), ...base],
    expect: { p: VALID },
    check: (r) => {
      assert.equal(r.proxyConfig.clusters[0]!.healthCheck, undefined);
      assert.deepEqual(r.proxyConfig.clusters[0]!.tcpHealthCheck, { intervalMs: 5000, timeoutMs: 2000, unhealthyThreshold: 3, healthyThreshold: 2 });
    },
  },
  {
    name: 'rule 49: a tcpproxy service that does not resolve is fatal for the tcpproxy',
    objects: [tlsRoot({ secretName: 'edge' }, { routes: [], tcpproxy: { services: [{ name: 'gone', port: 80 }] } }), tlsSecret('edge', pair), ...base],
    expect: {
      p: invalidSame(['TCPProxyError', 'ServiceUnresolvedReference', 'Spec.TCPProxy unresolved service reference: service "default/gone" not found']),
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []),
  },
  {
    name: 'rule 49: tcpproxy services and include together are invalid',
    objects: [
      tlsRoot({ secretName: 'edge' }, { routes: [], tcpproxy: { services: [{ name: 's', port: 80 }], include: { name: 'c' } } }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: invalidSame(['TCPProxyError', 'NoServicesAndInclude', 'cannot specify services and include in the same httpproxy']) },
  },
  {
    name: 'rule 49: an empty tcpproxy is invalid',
    objects: [tlsRoot({ secretName: 'edge' }, { routes: [], tcpproxy: {} }), tlsSecret('edge', pair), ...base],
    expect: { p: invalidSame(['TCPProxyError', 'NothingDefined', 'either services or inclusion must be specified']) },
  },
  {
    name: 'rule 49: tcpproxy include follows to a child, which is then not orphaned',
    objects: [
      tlsRoot({ secretName: 'edge' }, { routes: [], tcpproxy: { include: { name: 'c' } } }),
      proxy('c', { tcpproxy: { services: [{ name: 's', port: 80 }] } }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: VALID, c: VALID },
    check: (r) => {
      const fwd = vhost(r, FQDN, true)!.tcpProxy!;
      assert.equal(fwd.clusters.length, 1);
      assert.equal(firstClusterOf(r, fwd.clusters[0]!.cluster).endpoints[0]!.address, '10.0.0.1');
    },
  },
  {
    name: 'rule 49: the deprecated tcpproxy.includes is followed when include is not set',
    objects: [
      tlsRoot({ secretName: 'edge' }, { routes: [], tcpproxy: { includes: { name: 'c' } } }),
      proxy('c', { tcpproxy: { services: [{ name: 's', port: 80 }] } }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: VALID, c: VALID },
    check: (r) => assert.equal(vhost(r, FQDN, true)!.tcpProxy!.clusters.length, 1),
  },
];

function firstClusterOf(r: ReturnType<typeof run>, name: string) {
  return r.proxyConfig.clusters.find((c) => c.name === name)!;
}

runRows(rows);

test('rule 25: the plain-HTTP cluster of a TLS vhost is unaffected by the client certificate', () => {
  const r = run([tlsRoot({ secretName: 'edge' }), tlsSecret('edge', pair), ...base, tlsSecret('envoy', client, 'certs')], withClientCert);
  assert.equal(firstCluster(r, FQDN, true).tls, undefined);
});
