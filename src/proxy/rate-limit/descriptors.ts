// A policy's descriptors for one request, as Envoy's rate_limits actions
// make them: each descriptor is its entries in order, and a descriptor with
// an entry the request cannot give (a request header it lacks, header
// matches that come out the wrong way) is not sent at all.
import type { GlobalRateLimitPolicyConfig, RateLimitDescriptorEntry } from '../../dag/index.ts';
import { compileHeader, type RequestView } from '../matchers.ts';

export interface DescriptorRequest extends RequestView {
  /** The downstream remote address (the PROXY header's source when one came). */
  clientAddress: string;
  /** A header's first value (lower-case name). */
  firstHeader(name: string): string | undefined;
}

type Entry = { key: string; value: string };
type EntryOf = (r: DescriptorRequest) => Entry | undefined;

function compileEntry(e: RateLimitDescriptorEntry): EntryOf {
  switch (e.kind) {
    case 'genericKey': {
      const entry = { key: e.key || 'generic_key', value: e.value };
      return () => entry;
    }
    case 'requestHeader':
      return (r) => {
        const v = r.firstHeader(e.headerName);
        return v === undefined ? undefined : { key: e.descriptorKey, value: v };
      };
    case 'requestHeaderValueMatch': {
      const matches = e.headers.map(compileHeader);
      const entry = { key: 'header_match', value: e.value };
      return (r) => (matches.every((m) => m(r)) === e.expectMatch ? entry : undefined);
    }
    case 'remoteAddress':
      return (r) => ({ key: 'remote_address', value: r.clientAddress });
  }
}

export type Describe = (r: DescriptorRequest) => { entries: Entry[] }[];

export function compileDescriptors(policy: GlobalRateLimitPolicyConfig): Describe {
  const descriptors = policy.descriptors.map((d) => d.entries.map(compileEntry));
  return (r) => {
    const out: { entries: Entry[] }[] = [];
    next: for (const d of descriptors) {
      const entries: Entry[] = [];
      for (const f of d) {
        const e = f(r);
        if (e === undefined) continue next;
        entries.push(e);
      }
      out.push({ entries });
    }
    return out;
  };
}
