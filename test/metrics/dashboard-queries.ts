// The PromQL the shipped Grafana dashboards run (deploy/grafana/*.json):
// every panel target and every templating query, with the dashboard
// variables replaced by "match anything", and the metric names each reads.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GRAFANA_DIR = fileURLToPath(new URL('../../deploy/grafana/', import.meta.url));

export interface DashboardQuery {
  dashboard: string;
  title: string;
  expr: string;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'bool', 'and', 'or', 'unless', 'offset', 'group_left', 'group_right', 'le']);

export function dashboardQueries(): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const file of readdirSync(GRAFANA_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const d = JSON.parse(readFileSync(join(GRAFANA_DIR, file), 'utf8')) as { panels?: Panel[]; templating?: { list?: { query?: unknown }[] } };
    const visit = (panels: Panel[] | undefined): void => {
      for (const p of panels ?? []) {
        for (const t of p.targets ?? []) if (typeof t.expr === 'string' && t.expr.trim() !== '') out.push({ dashboard: file, title: p.title ?? '', expr: t.expr });
        visit(p.panels);
      }
    };
    visit(d.panels);
    for (const v of d.templating?.list ?? []) {
      const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
      const m = q ? /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/.exec(q) : null;
      if (m) out.push({ dashboard: file, title: `variable ${q}`, expr: m[1]! });
    }
  }
  return out;
}

interface Panel {
  title?: string;
  targets?: { expr?: unknown }[];
  panels?: Panel[];
}

/** The query as Grafana sends it with every variable on "All". */
export function withAllVariables(expr: string): string {
  return expr.replace(/=~?\s*"\$\w+"/g, '=~".*"');
}

/** The metric names a PromQL expression reads. */
export function metricNames(expr: string): string[] {
  let e = expr.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = e.slice(m.index + m[0].length).trimStart();
    if (rest.startsWith('(') || KEYWORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}
