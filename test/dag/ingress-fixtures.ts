// The row runner of the Ingress tables: every Ingress's status is checked
// in full (served or not, each problem's severity, field and message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DagResult, Route } from '../../src/dag/index.ts';
import type { IsobarConfig } from '../../src/config/types.ts';
import type { AnyObject, RejectedObject } from '../../src/objects/types.ts';
import { run, vhost } from './fixtures.ts';

/** [severity, field ('' for none), message or a pattern it must match] */
export type ProblemExpect = [severity: 'error' | 'warning', field: string, message: string | RegExp];

export interface IngressExpect {
  served?: boolean; // default true
  problems?: ProblemExpect[];
}

export interface IngressRow {
  name: string;
  objects: (AnyObject | RejectedObject)[];
  config?: IsobarConfig;
  /** Every Ingress of the row, "ns/name" or "name" in default. */
  expect: Record<string, IngressExpect>;
  check?: (r: DagResult) => void;
}

export const SERVED: IngressExpect = { served: true, problems: [] };

export function assertIngresses(r: DagResult, expect: Record<string, IngressExpect>): void {
  const want = new Map(Object.entries(expect).map(([k, v]) => [k.includes('/') ? k : `default/${k}`, v]));
  const got = new Map(r.ingresses.map((s) => [`${s.namespace}/${s.name}`, s]));
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the set of Ingresses with a status');
  for (const [k, e] of want) {
    const s = got.get(k)!;
    assert.equal(s.served, e.served ?? true, `served: ${k}`);
    const problems = e.problems ?? [];
    assert.equal(s.problems.length, problems.length, `problems of ${k}: ${JSON.stringify(s.problems, null, 1)}`);
    problems.forEach(([severity, field, message], i) => {
      const p = s.problems[i]!;
      assert.equal(p.severity, severity, `problem ${i} of ${k}: ${p.message}`);
      assert.equal(p.field ?? '', field, `field of problem ${i} of ${k}: ${p.message}`);
      if (typeof message === 'string') assert.equal(p.message, message, `problem ${i} of ${k}`);
      else assert.match(p.message, message, `problem ${i} of ${k}`);
    });
  }
}

export function runIngressRows(rows: readonly IngressRow[]): void {
  for (const row of rows) {
    test(row.name, () => {
      const r = run(row.objects, row.config);
      assertIngresses(r, row.expect);
      row.check?.(r);
    });
  }
}

/** "kind:value" of each route of a virtual host, in precedence order (segment prefixes as "segment:"). */
export function routePaths(r: DagResult, fqdn: string, secure = false): string[] {
  const v = vhost(r, fqdn, secure);
  assert.ok(v, `virtual host ${fqdn}${secure ? ' (https)' : ''}`);
  return v.routes.map((x: Route) => `${x.path.segment ? 'segment' : x.path.kind}:${x.path.value}`);
}

/** The Service of each forward route of a virtual host, in order. */
export function routeServices(r: DagResult, fqdn: string, secure = false): string[] {
  const v = vhost(r, fqdn, secure)!;
  return v.routes.map((x) => {
    if (x.action.kind !== 'forward') return x.action.kind;
    const c = r.proxyConfig.clusters.find((c) => c.name === (x.action.kind === 'forward' ? x.action.clusters[0]!.cluster : ''));
    return c ? `${c.service}:${c.servicePort}` : 'missing-cluster';
  });
}
