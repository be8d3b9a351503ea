// Source ranges, one row per behaviour: the field wins over the annotation,
// everyone when neither is set, IPv4 and IPv6, and an error naming the field
// and the item for anything that is not a range; then the CIDR grammar and
// the whole model (every listener of the load balancer, the last good
// ranges kept when new ones do not build, valid ones applied while another
// error holds the rest).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from '../../src/objects/types.ts';
import { buildBalancerModel } from '../../src/balancer/index.ts';
import { buildSourceRanges } from '../../src/balancer/model-build-source-ranges.ts';
import { parseCidr } from '../../src/balancer/cidr.ts';
import { SBK, nlb, options, problems, said, service, snapshot } from './model-fixtures.ts';

const W = 'Service default/web: ';
const RANGES = `${SBK}load-balancer-source-ranges`;
const SPEC = 'spec.loadBalancerSourceRanges';

function withRanges(spec: unknown[] | undefined, annotation?: string): Service {
  const svc = service({ annotations: nlb(annotation === undefined ? {} : { [RANGES]: annotation }) });
  if (spec !== undefined) (svc.spec as Record<string, unknown>).loadBalancerSourceRanges = spec;
  return svc;
}

const rows: { name: string; spec?: unknown[]; annotation?: string; want: string[]; said?: string[] }[] = [
  { name: 'neither: every IPv4 and IPv6 client', want: ['0.0.0.0/0', '::/0'] },
  { name: 'an empty field and an empty annotation: everyone', spec: [], annotation: ' ', want: ['0.0.0.0/0', '::/0'] },
  { name: 'the field, items trimmed', spec: [' 10.0.0.0/8', '2001:db8::/32 '], want: ['10.0.0.0/8', '2001:db8::/32'] },
  { name: 'the annotation, comma-separated and trimmed', annotation: '203.0.113.0/24, 198.51.100.7/32 ,fd00::/8', want: ['203.0.113.0/24', '198.51.100.7/32', 'fd00::/8'] },
  {
    name: 'the field wins; the annotation is said to be ignored',
    spec: ['10.0.0.0/8'],
    annotation: '0.0.0.0/0',
    want: ['10.0.0.0/8'],
    said: [`warning: ${W}annotation ${RANGES}: ignored: ${SPEC} is set and takes precedence`],
  },
  { name: 'host bits set, as Kubernetes accepts', spec: ['1.2.3.4/24'], want: ['1.2.3.4/24'] },
  { name: 'a repeated range once', annotation: '10.0.0.0/8,10.0.0.0/8', want: ['10.0.0.0/8'] },
  {
    name: 'a bad item in the field names its index and the item; the others stay',
    spec: ['10.0.0.0/8', '10.0.0.0/33'],
    want: ['10.0.0.0/8'],
    said: [`error: ${W}${SPEC}[1]: "10.0.0.0/33" is not an IP range in CIDR notation: the prefix length must be 0-32 (e.g. 203.0.113.0/24 or 2001:db8::/32)`],
  },
  {
    name: 'a bad item in the annotation names the annotation and the item',
    annotation: '10.0.0.0/8, office',
    want: ['10.0.0.0/8'],
    said: [`error: ${W}annotation ${RANGES}: "office" is not an IP range in CIDR notation: it has no prefix length (e.g. 203.0.113.0/24 or 2001:db8::/32)`],
  },
  {
    name: 'one address without a prefix length: the fix is said',
    annotation: '192.0.2.10',
    want: [],
    said: [`error: ${W}annotation ${RANGES}: "192.0.2.10" is not an IP range in CIDR notation: it has no prefix length (write 192.0.2.10/32 for this one address) (e.g. 203.0.113.0/24 or 2001:db8::/32)`],
  },
  {
    name: 'an empty item between commas, as the API server refuses it',
    annotation: '10.0.0.0/8,,192.0.2.0/24',
    want: ['10.0.0.0/8', '192.0.2.0/24'],
    said: [`error: ${W}annotation ${RANGES}: an empty item is not an IP range (remove the extra comma)`],
  },
  {
    name: 'a non-string item in the field',
    spec: [8],
    want: [],
    said: [`error: ${W}${SPEC}[0]: 8 is not an IP range (expected a string such as 203.0.113.0/24)`],
  },
];
for (const row of rows) {
  test(`buildSourceRanges: ${row.name}`, () => {
    const p = problems();
    const svc = withRanges(row.spec, row.annotation);
    assert.deepEqual(buildSourceRanges(svc, svc.metadata.annotations ?? {}, p), row.want);
    assert.deepEqual(said(p), row.said ?? []);
  });
}

const cidrs: { text: string; want?: { family: 'ipv4' | 'ipv6'; address: string; prefix: number }; why?: RegExp }[] = [
  { text: '0.0.0.0/0', want: { family: 'ipv4', address: '0.0.0.0', prefix: 0 } },
  { text: '255.255.255.255/32', want: { family: 'ipv4', address: '255.255.255.255', prefix: 32 } },
  { text: '::/0', want: { family: 'ipv6', address: '::', prefix: 0 } },
  { text: '::1/128', want: { family: 'ipv6', address: '::1', prefix: 128 } },
  { text: '::ffff:10.0.0.0/104', want: { family: 'ipv6', address: '::ffff:10.0.0.0', prefix: 104 } },
  { text: '10.0.0.0/8/8', why: /the prefix length must be 0-32/ },
  { text: '010.0.0.0/8', why: /"010.0.0.0" is not an IPv4 or IPv6 address/ },
  { text: '256.0.0.0/8', why: /is not an IPv4 or IPv6 address/ },
  { text: '10.0.0/8', why: /is not an IPv4 or IPv6 address/ },
  { text: '10.0.0.0/08', why: /the prefix length must be 0-32/ },
  { text: '10.0.0.0/', why: /the prefix length must be 0-32/ },
  { text: '10.0.0.0/+8', why: /the prefix length must be 0-32/ },
  { text: '2001:db8::/129', why: /the prefix length must be 0-128/ },
  { text: 'fe80::1%eth0/64', why: /is not an IPv4 or IPv6 address/ },
  { text: '::1', why: /write ::1\/128 for this one address/ },
  { text: '', why: /it has no prefix length/ },
];
for (const row of cidrs) {
  test(`parseCidr: ${JSON.stringify(row.text)}`, () => {
    const r = parseCidr(row.text);
    if (row.want) assert.deepEqual(r, { ok: true, value: row.want });
    else {
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.message, row.why!);
    }
  });
}

test('model: every listener of the load balancer carries its ranges, and the status shows them', () => {
  const r = buildBalancerModel(snapshot({ services: [withRanges(['10.0.0.0/8', 'fd00::/8'])] }), options());
  const lb = r.balancerConfig.loadBalancers[0]!;
  assert.deepEqual(lb.listeners.map((l) => [l.servicePort, l.sourceRanges]), [
    [80, ['10.0.0.0/8', 'fd00::/8']],
    [443, ['10.0.0.0/8', 'fd00::/8']],
  ]);
  assert.deepEqual(r.statuses[0]!.listeners.map((l) => l.sourceRanges), [
    ['10.0.0.0/8', 'fd00::/8'],
    ['10.0.0.0/8', 'fd00::/8'],
  ]);
});

test('model: a malformed range keeps the last good listeners with their ranges; a new Service gets none', () => {
  const good = buildBalancerModel(snapshot({ services: [withRanges(['10.0.0.0/8'])] }), options());
  const bad = buildBalancerModel(snapshot({ services: [withRanges(['10.0.0.0/8', '10.0.0.0/40'])] }), options({ previous: good.balancerConfig }));
  assert.deepEqual(bad.balancerConfig, good.balancerConfig);
  assert.deepEqual(
    bad.statuses[0]!.problems.map((p) => `${p.severity}: ${p.message}`),
    [
      `error: ${W}${SPEC}[1]: "10.0.0.0/40" is not an IP range in CIDR notation: the prefix length must be 0-32 (e.g. 203.0.113.0/24 or 2001:db8::/32)`,
      `warning: ${W}kept the last good load balancer (TCP:80, TCP:443) until the errors are fixed`,
    ],
  );
  const fresh = buildBalancerModel(snapshot({ services: [withRanges(['10.0.0.0/40'])] }), options());
  assert.deepEqual(fresh.balancerConfig.loadBalancers, []);
});

test('model: valid new ranges reach the kept listeners while another error holds the rest', () => {
  const good = buildBalancerModel(snapshot({ services: [withRanges(undefined)] }), options());
  const svc = withRanges(['192.0.2.0/24']);
  svc.metadata.annotations![`${SBK}aws-load-balancer-scheme`] = 'public';
  const held = buildBalancerModel(snapshot({ services: [svc] }), options({ previous: good.balancerConfig }));
  assert.deepEqual(held.balancerConfig.loadBalancers[0]!.listeners.map((l) => l.sourceRanges), [['192.0.2.0/24'], ['192.0.2.0/24']]);
  assert.match(held.statuses[0]!.problems[0]!.message, /"public" is not a scheme/);
});
