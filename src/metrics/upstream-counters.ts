// Counters for one upstream cluster, in Envoy's terms (cluster.<name>.*):
// requests sent upstream and their answers, connections, TLS. Plain
// fields: the hot path only increments them.

import { LatencyHistogram } from './histogram.ts';
import { countClass } from './request-counters.ts';

export class UpstreamCounters {
  rqTotal = 0;
  /** Upstream responses by status class: index 0 is 1xx, 4 is 5xx. */
  readonly rqByClass = [0, 0, 0, 0, 0];
  /** Milliseconds from sending the request to the response's end. */
  readonly rqTime = new LatencyHistogram();
  rqRetry = 0;
  rqTimeout = 0;
  rqPerTryTimeout = 0;
  /** Gauge: requests waiting for a connection within max_pending_requests. */
  rqPendingActive = 0;
  /** Requests refused by the circuit breakers (max_requests or max_pending_requests full). */
  rqPendingOverflow = 0;
  /** Retries not made because max_retries were in progress. */
  rqRetryOverflow = 0;
  /** TCP flows refused by max_connections or per_host_max_connections. */
  cxOverflow = 0;
  cxTotal = 0;
  /** Gauge: upstream connections open now. */
  cxActive = 0;
  cxConnectFail = 0;
  cxConnectTimeout = 0;
  sslHandshake = 0;
  /** Upstream TLS that failed (handshake or validation). */
  sslConnectionError = 0;
  /** ...of which the certificate did not verify against the CA. */
  sslFailVerifyError = 0;
  /** ...of which no subject name matched. */
  sslFailVerifySan = 0;
  /** Envoy's ext_authz filter counts in the route target cluster's scope
   *  (cluster.<name>.ext_authz.*): Checks that allowed, denied, failed, and
   *  failures let through by failOpen (counted as errors too). */
  readonly extAuthz = { ok: 0, denied: 0, error: 0, failure_mode_allowed: 0 };
  /** Envoy's ratelimit filter counts there too (cluster.<name>.ratelimit.*):
   *  answers under and over the limit, calls that failed, and failures
   *  let through by failOpen (counted as errors too). */
  readonly rateLimit = { ok: 0, over_limit: 0, error: 0, failure_mode_allowed: 0 };

  response(status: number): void {
    countClass(this.rqByClass, status);
  }
}
