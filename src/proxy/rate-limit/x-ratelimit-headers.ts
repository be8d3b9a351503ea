// Envoy's X-RateLimit headers (enable_x_ratelimit_headers DRAFT_VERSION_03,
// draft-polli-ratelimit-headers-03) from a rate limit service response: the
// descriptor with the fewest requests left gives Limit, Remaining and
// Reset; Limit also lists every limit as "N;w=SECONDS[;name=...]".
import { UNIT_SECONDS, type DescriptorStatusMsg } from './proto.ts';

export function xRateLimitHeaders(statuses: readonly DescriptorStatusMsg[]): Record<string, string> {
  let min: DescriptorStatusMsg | undefined;
  const policies: string[] = [];
  for (const s of statuses) {
    const l = s.current_limit;
    if (!l) continue;
    if (min === undefined || s.limit_remaining < min.limit_remaining) min = s;
    const w = UNIT_SECONDS[l.unit];
    policies.push(`${l.requests_per_unit}${w !== undefined ? `;w=${w}` : ''}${l.name ? `;name="${l.name}"` : ''}`);
  }
  if (min === undefined) return {};
  return {
    'x-ratelimit-limit': `${min.current_limit!.requests_per_unit}, ${policies.join(', ')}`,
    'x-ratelimit-remaining': String(min.limit_remaining),
    'x-ratelimit-reset': String(min.duration_until_reset?.seconds ?? 0),
  };
}
