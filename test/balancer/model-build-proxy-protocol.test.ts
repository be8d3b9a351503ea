// PROXY protocol builders, one row per behaviour the whole-model table in
// model-rules leaves out: per-target-group ports the Service lacks, and the
// attribute read (and a bad value reported) even when an annotation wins.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServicePort } from '../../src/objects/types.ts';
import { buildProxyProtocol, listenerProxyProtocol } from '../../src/balancer/model-build-proxy-protocol.ts';
import { buildTargetGroupAttributes } from '../../src/balancer/model-build-target-group-attributes.ts';
import { SBK, problems, said } from './model-fixtures.ts';

const W = 'Service default/web: ';
const PP = `${SBK}aws-load-balancer-proxy-protocol`;
const PER_TG = `${SBK}aws-load-balancer-proxy-protocol-per-target-group`;
const TGA = `${SBK}aws-load-balancer-target-group-attributes`;
const tcpPorts: ServicePort[] = [{ port: 80 }, { port: 443 }];

/** PROXY v2 on ports 80 and 443, and every problem said on the way. */
function run(ann: Record<string, string>) {
  const p = problems();
  const attributes = buildTargetGroupAttributes(ann, tcpPorts, p);
  const pp = buildProxyProtocol(ann, tcpPorts, attributes, p);
  const on = tcpPorts.map((sp) => listenerProxyProtocol(pp, sp.port, attributes.get(sp.port) ?? new Map(), p));
  return { on, said: said(p) };
}

const rows: { name: string; ann: Record<string, string>; on: boolean[]; said?: string[] }[] = [
  {
    name: 'a per-target-group port the Service lacks: a warning, the others apply',
    ann: { [PER_TG]: '443, 8443' },
    on: [false, true],
    said: [`warning: ${W}annotation ${PER_TG}: port 8443 is not a TCP port of the Service`],
  },
  { name: 'an empty per-target-group list: no port', ann: { [PER_TG]: '', [TGA]: 'proxy_protocol_v2.enabled=true' }, on: [false, false], said: [`warning: ${W}annotation ${TGA}: proxy_protocol_v2.enabled is overridden by ${PER_TG}`] },
  {
    name: 'a bad attribute is reported for each port even when "*" wins',
    ann: { [PP]: '*', [TGA]: 'proxy_protocol_v2.enabled=maybe' },
    on: [true, true],
    said: [
      `warning: ${W}annotation ${TGA}: proxy_protocol_v2.enabled is overridden by ${PP}`,
      `error: ${W}annotation ${TGA}: proxy_protocol_v2.enabled: "maybe" is not a boolean (use true or false)`,
      `error: ${W}annotation ${TGA}: proxy_protocol_v2.enabled: "maybe" is not a boolean (use true or false)`,
    ],
  },
  { name: 'the attribute per port', ann: { [`${TGA}.443`]: 'proxy_protocol_v2.enabled=true' }, on: [false, true] },
];
for (const row of rows) {
  test(`PROXY protocol: ${row.name}`, () => assert.deepEqual(run(row.ann), { on: row.on, said: row.said ?? [] }));
}
