// The listener TLS builders, one row per behaviour the whole-model tables in
// model-rules leave out: which ports terminate TLS, the default policy for an
// empty name, ALPN said to be unused without a TLS port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServicePort } from '../../src/objects/types.ts';
import { buildListenerTls, isTlsPort, listenerTlsConfig, warnUnusedAlpn } from '../../src/balancer/model-build-listener-tls.ts';
import { ARN1, CERTS, SBK, problems, said } from './model-fixtures.ts';

const W = 'Service default/web: ';
const CERT = `${SBK}aws-load-balancer-ssl-cert`;
const PORTS = `${SBK}aws-load-balancer-ssl-ports`;
const POLICY = `${SBK}aws-load-balancer-ssl-negotiation-policy`;
const ALPN = `${SBK}aws-load-balancer-alpn-policy`;
const tcpPorts: ServicePort[] = [{ name: 'http', port: 80 }, { name: 'https', port: 443 }, { port: 8443 }];
const tlsPortsOf = (ann: Record<string, string>) => {
  const tls = buildListenerTls(ann, tcpPorts, CERTS, undefined, problems());
  return tcpPorts.filter((sp) => isTlsPort(tls, sp)).map((sp) => sp.port);
};

const tlsPorts: { name: string; ann: Record<string, string>; want: number[] }[] = [
  { name: 'no certificate: no TLS port', ann: { [PORTS]: '443' }, want: [] },
  { name: 'an empty certificate list: no TLS port', ann: { [CERT]: ' , ' }, want: [] },
  { name: 'a certificate alone: every port', ann: { [CERT]: ARN1 }, want: [80, 443, 8443] },
  { name: 'an empty ssl-ports: every port', ann: { [CERT]: ARN1, [PORTS]: '' }, want: [80, 443, 8443] },
  { name: '"*" among items: every port', ann: { [CERT]: ARN1, [PORTS]: '443,*' }, want: [80, 443, 8443] },
  { name: 'by name and by number', ann: { [CERT]: ARN1, [PORTS]: 'https, 8443' }, want: [443, 8443] },
  { name: 'an unknown certificate still asks for TLS (the error blocks the build)', ann: { [CERT]: 'arn:aws:acm:x', [PORTS]: '80' }, want: [80] },
];
for (const row of tlsPorts) {
  test(`isTlsPort: ${row.name}`, () => assert.deepEqual(tlsPortsOf(row.ann), row.want));
}

test('buildListenerTls: an empty negotiation policy name means the default, without a problem', () => {
  const p = problems();
  const tls = buildListenerTls({ [CERT]: ARN1, [POLICY]: '  ' }, tcpPorts, CERTS, undefined, p);
  assert.equal(tls.policy?.name, 'ELBSecurityPolicy-TLS13-1-2-2021-06');
  assert.deepEqual(said(p), []);
});

const alpnUse: { name: string; ann: Record<string, string>; said: string[] }[] = [
  { name: 'an ALPN policy without a TLS port is said to be ignored', ann: { [ALPN]: 'HTTP2Preferred' }, said: [`warning: ${W}annotation ${ALPN}: ignored: the Service has no TLS listener`] },
  { name: 'policy None without a TLS port says nothing', ann: { [ALPN]: 'None' }, said: [] },
  { name: 'an ALPN policy with a TLS port says nothing', ann: { [CERT]: ARN1, [ALPN]: 'HTTP2Preferred' }, said: [] },
];
for (const row of alpnUse) {
  test(`warnUnusedAlpn: ${row.name}`, () => {
    const p = problems();
    warnUnusedAlpn(buildListenerTls(row.ann, tcpPorts, CERTS, undefined, p), p);
    assert.deepEqual(said(p), row.said);
  });
}

test('listenerTlsConfig: only for a TLS port; lists are copies', () => {
  const tls = buildListenerTls({ [CERT]: ARN1, [ALPN]: 'HTTP2Only' }, tcpPorts, CERTS, undefined, problems());
  assert.equal(listenerTlsConfig(tls, false), undefined);
  const config = listenerTlsConfig(tls, true);
  assert.deepEqual(config?.certificates.map((c) => c.arn), [ARN1]);
  assert.deepEqual(config?.alpn, ['h2']);
  assert.notEqual(config?.certificates, tls.certificates);
  assert.notEqual(config?.alpn, tls.alpn);
});

const MISSING = 'arn:aws:acm:local:000000000000:certificate/99999999-2222-4333-8444-555555555555';
const storeRows: { name: string; storeProblems: { file: string; message: string; certificateId?: string; wholeStore?: boolean }[]; said: string }[] = [
  {
    name: 'not in the store: how to add it',
    storeProblems: [],
    said: `error: ${W}annotation ${CERT}: certificate ${MISSING} is not in the certificate store (add it with \`isobar certs import --arn ${MISSING} ...\` or \`isobar certs request --arn ${MISSING} ...\`)`,
  },
  {
    name: 'a damaged master.key: the store says why, naming the file',
    storeProblems: [{ file: '/s/master.key', message: '/s/master.key: the master key is damaged', wholeStore: true }],
    said: `error: ${W}annotation ${CERT}: certificate ${MISSING} cannot be read from the certificate store: /s/master.key: the master key is damaged`,
  },
  {
    name: "the certificate's own file is damaged",
    storeProblems: [{ file: '/s/certs/99999999-2222-4333-8444-555555555555.json', message: '/s/certs/9….json is not valid JSON', certificateId: '99999999-2222-4333-8444-555555555555' }],
    said: `error: ${W}annotation ${CERT}: certificate ${MISSING} cannot be read from the certificate store: /s/certs/9….json is not valid JSON`,
  },
  {
    name: "another certificate's damaged file does not count",
    storeProblems: [{ file: '/s/certs/other.json', message: 'other is damaged', certificateId: '11111111-2222-4333-8444-555555555555' }],
    said: `error: ${W}annotation ${CERT}: certificate ${MISSING} is not in the certificate store (add it with \`isobar certs import --arn ${MISSING} ...\` or \`isobar certs request --arn ${MISSING} ...\`)`,
  },
];
for (const row of storeRows) {
  test(`buildListenerTls: a certificate the store does not give: ${row.name}`, () => {
    const p = problems();
    buildListenerTls({ [CERT]: MISSING }, tcpPorts, CERTS, undefined, p, row.storeProblems);
    assert.deepEqual(said(p), [row.said]);
  });
}

test('buildListenerTls: an ACME certificate not yet issued is a warning and pending; a failed one an error naming why', () => {
  const pendingArn = 'arn:aws:acm:local:000000000000:certificate/22222222-2222-4333-8444-555555555555';
  const store = [...CERTS, { arn: pendingArn, certPem: '', chainPem: '', domains: ['new.example.com'], notAfter: '', unissued: { status: 'PENDING_VALIDATION' as const } }];
  const p = problems();
  const tls = buildListenerTls({ [CERT]: pendingArn }, tcpPorts, store, undefined, p);
  assert.deepEqual(said(p), [
    `warning: ${W}annotation ${CERT}: certificate ${pendingArn} not yet issued (PENDING_VALIDATION): the listener closes TLS handshakes until the certificate manager has it`,
  ]);
  assert.deepEqual(tls.certificates, []);
  assert.deepEqual(listenerTlsConfig(tls, true)?.pending, [pendingArn]);
  // With an issued certificate beside it, that one serves meanwhile.
  const both = buildListenerTls({ [CERT]: `${pendingArn},${ARN1}` }, tcpPorts, store, undefined, problems());
  assert.deepEqual(both.certificates.map((c) => c.arn), [ARN1]);

  const failed = [{ ...store.at(-1)!, unissued: { status: 'FAILED' as const, reason: 'DOMAIN_VALIDATION_DENIED: http-01 for new.example.com failed: acme error connection: refused' } }];
  const pf = problems();
  buildListenerTls({ [CERT]: pendingArn }, tcpPorts, failed, undefined, pf);
  assert.deepEqual(said(pf), [
    `error: ${W}annotation ${CERT}: certificate ${pendingArn} could not be issued: DOMAIN_VALIDATION_DENIED: http-01 for new.example.com failed: acme error connection: refused; request it again (\`isobar certs request --acme --arn ${pendingArn} ...\`)`,
  ]);
});
