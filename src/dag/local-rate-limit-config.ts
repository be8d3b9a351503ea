// What the proxy needs to apply an HTTPProxy's local rate limit (Envoy's
// local_ratelimit filter as Contour configures it): one token bucket per
// virtual host, or per route that sets its own policy.

export interface LocalRateLimitConfig {
  /** Envoy's max_tokens: requests + burst; the bucket starts full. */
  maxTokens: number;
  /** Envoy's tokens_per_fill: requests. */
  tokensPerFill: number;
  /** Envoy's fill_interval: the unit (1 s, 1 min or 1 h). */
  fillIntervalMs: number;
  /** The status of a rate-limited answer (429 unless set). */
  statusCode: number;
  /** Set on rate-limited answers only; canonical names, literal values. */
  responseHeaders: { name: string; value: string }[];
}
