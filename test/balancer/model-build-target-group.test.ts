// Target group builders, one row per behaviour the whole-model table in
// model-rules leaves out: a malformed per-port map, connection termination,
// bad values said once per port, target selection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServicePort } from '../../src/objects/types.ts';
import { buildDeregistration, buildPreserveClientIp, buildTargetGroupAttributes } from '../../src/balancer/model-build-target-group-attributes.ts';
import { buildTargetGroup } from '../../src/balancer/model-build-target-group.ts';
import { SBK, problems, said } from './model-fixtures.ts';

const W = 'Service default/web: ';
const TGA = `${SBK}aws-load-balancer-target-group-attributes`;
const tcpPorts: ServicePort[] = [{ port: 80 }, { port: 443 }];

/** Per port: deregistration delay, connection termination, client IP. */
function perPort(ann: Record<string, string>, targetType: 'ip' | 'instance' = 'ip') {
  const p = problems();
  const attributes = buildTargetGroupAttributes(ann, tcpPorts, p);
  const ports = tcpPorts.map((sp) => {
    const attrs = attributes.get(sp.port) ?? new Map();
    const d = buildDeregistration(attrs, p);
    return [d.delayMs, d.terminatesConnections, buildPreserveClientIp(attrs, targetType, p)];
  });
  return { ports, said: said(p) };
}

const rows: { name: string; ann: Record<string, string>; targetType?: 'ip' | 'instance'; ports: (number | boolean)[][]; said?: string[] }[] = [
  { name: 'defaults for ip targets', ann: {}, ports: [[300_000, false, false], [300_000, false, false]] },
  { name: 'defaults for instance targets: client IP preserved', ann: {}, targetType: 'instance', ports: [[300_000, false, true], [300_000, false, true]] },
  {
    name: 'a malformed per-port map is an error on that annotation; the service-wide values stay',
    ann: { [TGA]: 'deregistration_delay.timeout_seconds=5', [`${TGA}.443`]: 'broken' },
    ports: [[5000, false, false], [5000, false, false]],
    said: [`error: ${W}annotation ${TGA}.443: item "broken" has no "=" (expected key=value,key=value)`],
  },
  {
    name: 'a bad service-wide value is said for each port and counts as the default',
    ann: { [TGA]: 'deregistration_delay.connection_termination.enabled=2' },
    ports: [[300_000, false, false], [300_000, false, false]],
    said: [
      `error: ${W}annotation ${TGA}: deregistration_delay.connection_termination.enabled: "2" is not a boolean (use true or false)`,
      `error: ${W}annotation ${TGA}: deregistration_delay.connection_termination.enabled: "2" is not a boolean (use true or false)`,
    ],
  },
  { name: 'a per-port value applies to that port only', ann: { [`${TGA}.80`]: 'deregistration_delay.connection_termination.enabled=true,preserve_client_ip.enabled=true' }, ports: [[300_000, true, true], [300_000, false, false]] },
];
for (const row of rows) {
  test(`target group attributes: ${row.name}`, () => assert.deepEqual(perPort(row.ann, row.targetType), { ports: row.ports, said: row.said ?? [] }));
}

test('buildTargetGroup: target selection defaults to flow-hash; the health check is built once for all ports', () => {
  const p = problems();
  const tg = buildTargetGroup({ 'isobar.dev/target-selection': ' round-robin ' }, tcpPorts, p);
  assert.equal(tg.targetSelection, 'round-robin');
  assert.equal(buildTargetGroup({}, tcpPorts, p).targetSelection, 'flow-hash');
  assert.equal(tg.healthCheck.protocol, 'TCP');
  assert.deepEqual([...tg.attributes.keys()], [80, 443]);
  assert.deepEqual(said(p), []);
});
