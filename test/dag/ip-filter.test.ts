// IP filters (ipAllowPolicy / ipDenyPolicy) through the whole build: every
// status Contour's toIPFilterRules writes, isobar's fail-closed
// differences, and what a valid filter becomes in the proxy's config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { parseCidr } from '../../src/dag/ip-filter.ts';
import type { IpFilterConfig } from '../../src/dag/index.ts';
import { assertStatuses, endpoints, invalidSame, root, run, service, tlsSecret, VALID, vhost, type Err, type Row } from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const T = 'IPFilterError';
const allow = (...cidrs: string[]) => cidrs.map((cidr) => ({ cidr, source: 'Peer' as const }));
const remote = (...cidrs: string[]) => cidrs.map((cidr) => ({ cidr, source: 'Remote' as const }));
const vhostPolicyErr: Err = [
  T,
  'IPFilterPolicyNotValid',
  'Spec.VirtualHost.IPAllowFilterPolicy or Spec.VirtualHost.IPDenyFilterPolicy is invalid: invalid CIDR address: 10.0.0.300/32',
];
const noHttp = (r: ReturnType<typeof run>) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);

const pair = await (await createCa('ip filter CA')).issue({ dnsNames: [FQDN] });
const withVhost = (virtualhost: Record<string, unknown>, rest: Record<string, unknown> = { routes: [{ services: [svc] }] }) => ({
  ...root('p', FQDN, {}),
  spec: { virtualhost: { fqdn: FQDN, ...virtualhost }, ...rest },
});

const rows: Row[] = [
  {
    name: 'a virtual host allow list: CIDRs and bare addresses of both families, host bits cleared',
    objects: [withVhost({ ipAllowPolicy: [...allow('10.1.2.3/8', '192.168.0.7'), ...remote('2001:db8::68/24', '2001:DB8::68', '::ffff:10.0.0.1/120')] }), ...base],
    expect: { p: VALID },
    check: (r) => {
      const want: IpFilterConfig = {
        action: 'allow',
        rules: [
          { cidr: '10.0.0.0/8', source: 'Peer' },
          { cidr: '192.168.0.7/32', source: 'Peer' },
          { cidr: '2001:d00::/24', source: 'Remote' },
          { cidr: '2001:db8::68/128', source: 'Remote' },
          { cidr: '::ffff:10.0.0.0/120', source: 'Remote' },
        ],
      };
      assert.deepEqual(vhost(r, FQDN)!.ipFilter, want);
      assert.equal(vhost(r, FQDN)!.routes[0]!.ipFilter, undefined, 'routes without their own filters carry none');
    },
  },
  {
    name: 'a deny list on the virtual host applies to the secure virtual host too',
    objects: [
      withVhost({ tls: { secretName: 'edge' }, ipDenyPolicy: remote('203.0.113.0/24') }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const want: IpFilterConfig = { action: 'deny', rules: [{ cidr: '203.0.113.0/24', source: 'Remote' }] };
      assert.deepEqual(vhost(r, FQDN)!.ipFilter, want);
      assert.deepEqual(vhost(r, FQDN, true)!.ipFilter, want);
    },
  },
  {
    name: 'a route\'s filters replace the virtual host\'s (they are kept on the route)',
    objects: [
      withVhost({ ipAllowPolicy: allow('10.0.0.0/8') }, { routes: [{ services: [svc] }, { conditions: [{ prefix: '/admin' }], services: [svc], ipDenyPolicy: allow('10.9.0.0/16') }] }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const v = vhost(r, FQDN)!;
      assert.deepEqual(v.routes.find((x) => x.path.value === '/admin')!.ipFilter, { action: 'deny', rules: [{ cidr: '10.9.0.0/16', source: 'Peer' }] });
      assert.equal(v.routes.find((x) => x.path.value === '/')!.ipFilter, undefined);
      assert.deepEqual(v.ipFilter, { action: 'allow', rules: [{ cidr: '10.0.0.0/8', source: 'Peer' }] });
    },
  },
  {
    name: 'allow and deny on the virtual host: Contour\'s error (and its spelling), nothing served',
    objects: [withVhost({ ipAllowPolicy: allow('10.0.0.0/8'), ipDenyPolicy: allow('10.1.0.0/16') }), ...base],
    expect: { p: invalidSame([T, 'IncompatibleIPAddressFilters', 'Spec.VirtualHost.IPAllowFilterPolicy and Spec.VirtualHost.IPDepnyFilterPolicy cannot both be defined.']) },
    check: noHttp,
  },
  {
    name: 'allow and deny on a route: Contour\'s route error; the proxy\'s routes are dropped',
    objects: [root('p', FQDN, { routes: [{ services: [svc], ipAllowPolicy: allow('10.0.0.0/8'), ipDenyPolicy: allow('10.1.0.0/16') }] }), ...base],
    expect: { p: invalidSame([T, 'IncompatibleIPAddressFilters', 'cannot specify both `ipAllowPolicy` and `ipDenyPolicy`']) },
    check: noHttp,
  },
  {
    name: 'a bad CIDR on the virtual host: InvalidCIDR quoting Go, then IPFilterPolicyNotValid; nothing served',
    objects: [withVhost({ ipAllowPolicy: allow('10.0.0.300') }), ...base],
    expect: { p: invalidSame([T, 'InvalidCIDR', '10.0.0.300 failed to parse: invalid CIDR address: 10.0.0.300/32'], vhostPolicyErr) },
    check: noHttp,
  },
  {
    name: 'a bad CIDR before a good one: still nothing served (Contour would serve the remaining rules)',
    objects: [withVhost({ ipDenyPolicy: allow('10.0.0.300', '10.0.0.0/8') }), ...base],
    expect: {
      p: invalidSame(
        [T, 'InvalidCIDR', '10.0.0.300 failed to parse: invalid CIDR address: 10.0.0.300/32'],
        [T, 'IPFilterPolicyNotValid', 'Spec.VirtualHost.IPAllowFilterPolicy or Spec.VirtualHost.IPDenyFilterPolicy is invalid: invalid CIDR address: 10.0.0.300/32'],
      ),
    },
    check: noHttp,
  },
  {
    name: 'bad CIDRs on a route: one InvalidCIDR each; the proxy\'s routes are dropped',
    objects: [root('p', FQDN, { routes: [{ services: [svc] }, { conditions: [{ prefix: '/x' }], services: [svc], ipAllowPolicy: remote('10.0.0.0/33', 'fe80::1%eth0', '2001:db8::/129', 'host.example.com') }] }), ...base],
    expect: {
      p: invalidSame(
        [T, 'InvalidCIDR', '10.0.0.0/33 failed to parse: invalid CIDR address: 10.0.0.0/33'],
        [T, 'InvalidCIDR', 'fe80::1%eth0 failed to parse: invalid CIDR address: fe80::1%eth0/128'],
        [T, 'InvalidCIDR', '2001:db8::/129 failed to parse: invalid CIDR address: 2001:db8::/129'],
        [T, 'InvalidCIDR', 'host.example.com failed to parse: invalid CIDR address: host.example.com/32'],
      ),
    },
    check: noHttp,
  },
  {
    name: 'filters on a virtual host with a TCPProxy would never apply: an error, nothing served',
    objects: [
      withVhost({ tls: { secretName: 'edge' }, ipAllowPolicy: allow('10.0.0.0/8') }, { tcpproxy: { services: [svc] } }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: {
      p: invalidSame([T, 'IPFilterNotSupported', 'Spec.VirtualHost.IPAllowFilterPolicy is not supported by isobar on a virtual host with Spec.TCPProxy: the filters apply to HTTP requests only']),
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []),
  },
];

for (const row of rows) {
  test(`ip filters: ${row.name}`, () => {
    const r = run(row.objects, row.config);
    assertStatuses(r, row.expect);
    row.check?.(r);
  });
}

test('ip filters: parseCidr follows Go\'s net.ParseCIDR', () => {
  const cases: [string, string][] = [
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['255.255.255.255', '255.255.255.255/32'],
    ['172.16.5.4/12', '172.16.0.0/12'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['2001:db8:0:0:1:0:0:1/64', '2001:db8::/64'],
    ['2001:db8::1:2:3:4:5/127', '2001:db8:0:1:2:3:4:4/127'],
    ['1.2.3.4/08', '1.0.0.0/8'],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseCidr(input), { ok: true, cidr: want }, input);
  for (const bad of ['', '/8', '1.2.3.4/', '1.2.3.4/-1', '1.2.3.4/ 8', '01.2.3.4', '1.2.3', '1.2.3.4.5', ':::1', '1:2:3:4:5:6:7:8:9', 'fe80::1%1/64']) {
    assert.equal(parseCidr(bad).ok, false, bad);
  }
});
