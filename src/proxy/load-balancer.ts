// Endpoint choice within a cluster: RoundRobin, WeightedLeastRequest (power
// of two choices on in-flight requests), Random, and the hashing strategies
// (Cookie, RequestHash) via rendezvous hashing, so an endpoint leaving moves
// only its own keys.
import type { HashPolicy, LoadBalancerStrategy } from '../dag/index.ts';
import { queryParam } from './matchers.ts';

export const AFFINITY_COOKIE = 'X-Contour-Session-Affinity';

export interface Pickable {
  key: string;
  active: number;
}

export interface HashInput {
  header(name: string): string | undefined;
  query: string;
  clientAddress: string;
}

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche so similar keys spread.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

function rendezvous<T extends Pickable>(list: T[], key: string): T {
  let best = list[0]!;
  let bestScore = -1;
  for (const e of list) {
    const s = fnv1a(key + '\u0000' + e.key);
    if (s > bestScore) {
      bestScore = s;
      best = e;
    }
  }
  return best;
}

/** Reads the affinity cookie from a Cookie header value. */
export function affinityCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const idx = cookieHeader.indexOf(AFFINITY_COOKIE + '=');
  if (idx < 0) return undefined;
  if (idx > 0 && !/[;\s]/.test(cookieHeader[idx - 1]!)) return undefined;
  const start = idx + AFFINITY_COOKIE.length + 1;
  const end = cookieHeader.indexOf(';', start);
  const v = cookieHeader.slice(start, end < 0 ? undefined : end).trim();
  return v === '' ? undefined : v;
}

export function hashKey(policies: HashPolicy[], input: HashInput): string | undefined {
  let key: string | undefined;
  for (const p of policies) {
    let part: string | undefined;
    if (p.header) part = input.header(p.header.toLowerCase());
    else if (p.queryParameter) part = queryParam(input.query, p.queryParameter);
    else if (p.sourceIp) part = input.clientAddress;
    if (part !== undefined) {
      key = key === undefined ? part : key + '\u0001' + part;
      if (p.terminal) break;
    }
  }
  return key;
}

export class LoadBalancer<T extends Pickable> {
  private rr: number;
  readonly strategy: LoadBalancerStrategy;
  readonly hashPolicies: HashPolicy[];
  constructor(strategy: LoadBalancerStrategy, hashPolicies: HashPolicy[]) {
    this.strategy = strategy;
    this.hashPolicies = hashPolicies;
    this.rr = Math.floor(Math.random() * 1024);
  }

  /** `cookie` is the affinity value to hash on for the Cookie strategy. */
  pick(list: T[], input: HashInput | undefined, cookie: string | undefined): T {
    const n = list.length;
    if (n === 1) return list[0]!;
    switch (this.strategy) {
      case 'Random':
        return list[Math.floor(Math.random() * n)]!;
      case 'WeightedLeastRequest': {
        const a = list[Math.floor(Math.random() * n)]!;
        const b = list[Math.floor(Math.random() * n)]!;
        return b.active < a.active ? b : a;
      }
      case 'Cookie':
        if (cookie !== undefined) return rendezvous(list, cookie);
        break;
      case 'RequestHash': {
        const key = input ? hashKey(this.hashPolicies, input) : undefined;
        if (key !== undefined) return rendezvous(list, key);
        return list[Math.floor(Math.random() * n)]!;
      }
      default:
        break;
    }
    this.rr = (this.rr + 1) % n;
    return list[this.rr]!;
  }
}
