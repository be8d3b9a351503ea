// The load balancer builders, one row per behaviour: scheme (annotation,
// deprecated internal flag, precedence, the scheme a Service already has)
// and name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLoadBalancerName, buildScheme, type Scheme } from '../../src/balancer/model-build-load-balancer.ts';
import { SBK, problems, said, service } from './model-fixtures.ts';

const W = 'Service default/web: ';
const SCHEME = `${SBK}aws-load-balancer-scheme`;
const INTERNAL = `${SBK}aws-load-balancer-internal`;
const NAME = `${SBK}aws-load-balancer-name`;

const schemes: { name: string; ann: Record<string, string>; current?: Scheme; want: Scheme; said?: string[] }[] = [
  { name: 'no annotation: internal', ann: {}, want: 'internal' },
  { name: 'no annotation: the scheme the Service has stays', ann: {}, current: 'internet-facing', want: 'internet-facing' },
  { name: 'scheme annotation, trimmed', ann: { [SCHEME]: ' internet-facing ' }, want: 'internet-facing' },
  { name: 'internal flag false', ann: { [INTERNAL]: 'false' }, want: 'internet-facing' },
  { name: 'internal flag true', ann: { [INTERNAL]: 'true' }, current: 'internet-facing', want: 'internal' },
  {
    name: 'scheme wins over the internal flag',
    ann: { [SCHEME]: 'internet-facing', [INTERNAL]: 'true' },
    want: 'internet-facing',
    said: [`warning: ${W}annotation ${INTERNAL}: ignored: ${SCHEME} takes precedence`],
  },
  {
    name: 'bad scheme: an error, then the ignored flag; the current scheme stays',
    ann: { [SCHEME]: 'public', [INTERNAL]: 'false' },
    current: 'internet-facing',
    want: 'internet-facing',
    said: [
      `error: ${W}annotation ${SCHEME}: "public" is not a scheme (use internal or internet-facing)`,
      `warning: ${W}annotation ${INTERNAL}: ignored: ${SCHEME} takes precedence`,
    ],
  },
  { name: 'bad internal flag', ann: { [INTERNAL]: 'maybe' }, want: 'internal', said: [`error: ${W}annotation ${INTERNAL}: "maybe" is not a boolean (use true or false)`] },
];
for (const row of schemes) {
  test(`buildScheme: ${row.name}`, () => {
    const p = problems();
    assert.equal(buildScheme(row.ann, row.current ?? 'internal', p), row.want);
    assert.deepEqual(said(p), row.said ?? []);
  });
}

const names: { name: string; value?: string; want: RegExp; said?: string[] }[] = [
  { name: 'generated from cluster, namespace, name and scheme', want: /^k8s-default-web-[0-9a-f]{10}$/ },
  { name: 'annotation, trimmed', value: ' my-edge ', want: /^my-edge$/ },
  { name: '32 characters', value: 'a'.repeat(32), want: /^a{32}$/ },
  {
    name: 'a leading hyphen is refused; the generated name stays',
    value: '-edge',
    want: /^k8s-default-web-/,
    said: [`error: ${W}annotation ${NAME}: "-edge" is not a load balancer name (1-32 letters, digits and hyphens, not starting or ending with a hyphen)`],
  },
];
for (const row of names) {
  test(`buildLoadBalancerName: ${row.name}`, () => {
    const p = problems();
    const ann: Record<string, string> = row.value === undefined ? {} : { [NAME]: row.value };
    assert.match(buildLoadBalancerName(ann, 'isobar', service({}), 'internal', p), row.want);
    assert.deepEqual(said(p), row.said ?? []);
  });
}

test('buildLoadBalancerName: the generated name changes with the scheme', () => {
  const p = problems();
  assert.notEqual(buildLoadBalancerName({}, 'isobar', service({}), 'internal', p), buildLoadBalancerName({}, 'isobar', service({}), 'internet-facing', p));
});
