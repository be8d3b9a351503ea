// Who may connect to the load balancer: spec.loadBalancerSourceRanges, else
// the annotation service.beta.kubernetes.io/load-balancer-source-ranges
// (the AWS controller's buildCIDRsFromSourceRanges: the field wins, the
// annotation is read only when the field is empty), else everyone, as the
// controller's managed security group opens 0.0.0.0/0 (and ::/0) by default.
// The ranges apply to every listener of the load balancer.
//
// A bad item is an error naming the field and the item, so the Service's
// last good listeners keep running; a range is never dropped silently, since
// dropping one would leave the others as the only rule, or none at all.

import type { Service } from '../objects/index.ts';
import { A, annotation, type Annotations } from './annotations.ts';
import { parseCidr } from './cidr.ts';
import type { Problems } from './model-problems.ts';

/** No range given: every IPv4 and IPv6 client. */
export const EVERYONE: readonly string[] = ['0.0.0.0/0', '::/0'];

const SPEC_FIELD = 'spec.loadBalancerSourceRanges';

export function buildSourceRanges(svc: Service, ann: Annotations, p: Problems): string[] {
  const spec: unknown = svc.spec.loadBalancerSourceRanges;
  const fromSpec: unknown[] = Array.isArray(spec) ? spec : [];
  const annotated = annotation(ann, A.sourceRanges);
  if (fromSpec.length > 0) {
    if (annotated !== undefined && annotated.trim() !== '') p.warn(A.sourceRanges, `ignored: ${SPEC_FIELD} is set and takes precedence`);
    return checked(
      fromSpec.map((v, i) => ({ field: `${SPEC_FIELD}[${i}]`, text: typeof v === 'string' ? v.trim() : v })),
      p,
    );
  }
  if (annotated === undefined || annotated.trim() === '') return [...EVERYONE];
  // Split as the API server validates it: every comma-separated item,
  // trimmed, must be a range (an empty item too).
  return checked(
    annotated.split(',').map((text) => ({ field: A.sourceRanges, text: text.trim() })),
    p,
  );
}

/** The valid ranges, each once; an error for every other item. */
function checked(items: { field: string; text: unknown }[], p: Problems): string[] {
  const ranges: string[] = [];
  for (const { field, text } of items) {
    if (typeof text !== 'string') {
      p.error(field, `${JSON.stringify(text)} is not an IP range (expected a string such as 203.0.113.0/24)`);
      continue;
    }
    if (text === '') {
      p.error(field, 'an empty item is not an IP range (remove the extra comma)');
      continue;
    }
    const c = parseCidr(text);
    if (!c.ok) {
      p.error(field, c.message);
      continue;
    }
    if (!ranges.includes(text)) ranges.push(text);
  }
  return ranges;
}
