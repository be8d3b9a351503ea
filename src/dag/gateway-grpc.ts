// A GRPCRoute rule as the HTTPRoute rule it means on the wire: a gRPC
// method is the path /<service>/<method> of an HTTP/2 request, so method
// matches become path matches (Exact service and method: the exact path;
// a service alone: every method of it; a method alone or a regular
// expression: a path regular expression), header matches stay as they are,
// and the filters gRPC has are the HTTP ones of the same name.
import type { RuleProblems } from './gateway-rules.ts';
import { arr, rec, str, type Rec } from './safe.ts';

const GRPC_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror']);

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function methodPath(m: Rec | null, where: string, problems: RuleProblems): Rec | undefined {
  if (!m) return undefined;
  const service = str(m.service);
  const method = str(m.method);
  const regex = str(m.type) === 'RegularExpression';
  if (service === '' && method === '') {
    problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}a method match needs a service or a method` };
    return undefined;
  }
  if (regex) return { type: 'RegularExpression', value: `/${service || '[^/]+'}/${method || '[^/]+'}` };
  if (service !== '' && method !== '') return { type: 'Exact', value: `/${service}/${method}` };
  if (service !== '') return { type: 'PathPrefix', value: `/${service}` };
  return { type: 'RegularExpression', value: `/[^/]+/${escapeRegex(method)}` };
}

function checkFilters(list: unknown[], where: string, problems: RuleProblems): void {
  for (const f of list) {
    const type = str(rec(f)?.type);
    if (!GRPC_FILTERS.has(type)) problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}filter type "${type}" is not supported on a GRPCRoute` };
  }
}

export function grpcRuleAsHttp(rule: Rec, ruleIndex: number, problems: RuleProblems): Rec {
  const where = `rules[${ruleIndex}]: `;
  checkFilters(arr(rule.filters), where, problems);
  for (const b of arr(rule.backendRefs)) checkFilters(arr(rec(b)?.filters), where, problems);
  const matches = arr(rule.matches).map((raw) => {
    const m = rec(raw) ?? {};
    const out: Rec = {};
    const path = methodPath(rec(m.method), where, problems);
    if (path) out.path = path;
    if (m.headers !== undefined) out.headers = m.headers;
    return out;
  });
  const out: Rec = { ...rule };
  if (matches.length > 0) out.matches = matches;
  return out;
}
