// One request through the ext_authz filter: build the CheckRequest, call
// the server with the virtual host's timeout, decide. Counts what Envoy
// counts (http.<prefix>.ext_authz.{ok,denied,error,failure_mode_allowed}).
import type { AuthzClient } from './authz-client.ts';
import { buildCheckRequest } from './check-request.ts';
import { decideFailure, decideResponse } from './decision.ts';
import type { AuthzDecision, AuthzSettings, RequestFacts } from './types.ts';

export interface AuthzStats {
  ok: number;
  denied: number;
  error: number;
  failure_mode_allowed: number;
}

export function newAuthzStats(): AuthzStats {
  return { ok: 0, denied: 0, error: 0, failure_mode_allowed: 0 };
}

export async function authorize(client: AuthzClient, settings: AuthzSettings, facts: RequestFacts, stats?: AuthzStats): Promise<AuthzDecision> {
  let decision: AuthzDecision;
  try {
    const result = await client.check(buildCheckRequest(facts, settings), settings.timeoutMs);
    decision = result.ok ? decideResponse(result.response, settings.failOpen) : decideFailure(result.code, result.message, settings.failOpen);
  } catch (err) {
    // A defect here is the server's failure as far as the request goes.
    decision = decideFailure(2 /* UNKNOWN */, err instanceof Error ? err.message : String(err), settings.failOpen);
  }
  if (stats) countDecision(stats, decision);
  return decision;
}

/** Counts one decision as Envoy's filter does: a failure failOpen let
 *  through is an error and failure_mode_allowed. */
export function countDecision(stats: AuthzStats, decision: AuthzDecision): void {
  if (decision.kind === 'allow') {
    if (decision.outcome === 'ok') stats.ok++;
    else {
      stats.error++;
      stats.failure_mode_allowed++;
    }
  } else if (decision.outcome === 'denied') stats.denied++;
  else stats.error++;
}
