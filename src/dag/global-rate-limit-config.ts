// What the proxy needs for global rate limiting (Envoy's ratelimit filter
// as Contour configures it): on virtual hosts and routes, the descriptors
// each request is described by (Envoy's rate_limits actions) and the
// config file's rate limit service they are sent to (carried with each
// policy, so a config delta of one virtual host is complete).
import type { HeaderMatch } from './proxy-config.ts';

export type RateLimitDescriptorEntry =
  /** A fixed entry; key "generic_key" when none is given (Envoy's default). */
  | { kind: 'genericKey'; key: string; value: string }
  /** The request header's value under descriptorKey; no header: no descriptor. */
  | { kind: 'requestHeader'; headerName: string; descriptorKey: string }
  /** ("header_match", value) when the headers match (expectMatch) or do not. */
  | { kind: 'requestHeaderValueMatch'; headers: HeaderMatch[]; expectMatch: boolean; value: string }
  /** ("remote_address", the downstream client address). */
  | { kind: 'remoteAddress' };

export interface GlobalRateLimitPolicyConfig {
  service: RateLimitServiceConfig;
  descriptors: { entries: RateLimitDescriptorEntry[] }[];
}

/** The config file's rateLimitService, resolved. */
export interface RateLimitServiceConfig {
  /** ExtensionCluster.name ("extension/<ns>/<name>"); no such cluster: every call fails. */
  extensionCluster: string;
  domain: string;
  failOpen: boolean;
  enableXRateLimitHeaders: boolean;
  enableResourceExhaustedCode: boolean;
  /** The ExtensionService's timeoutPolicy.response: absent 20 ms (Envoy's
   *  default), null none. */
  timeoutMs: number | null;
}
