// Conditions in the Gateway API's shape (metav1.Condition), and the names of
// the group, kinds and the controller isobar answers for.
import type { ApiCondition } from '../status/index.ts';

/** Contour's controller name: GatewayClasses written for Contour work unchanged. */
export const CONTROLLER_NAME = 'projectcontour.io/gateway-controller';
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export function condition(type: string, ok: boolean, reason: string, message: string, generation: number): ApiCondition {
  return { type, status: ok ? 'True' : 'False', reason, message, observedGeneration: generation };
}

/** Conditions keyed by type: the first problem recorded for a type wins,
 *  and a type never set reads as the given success. */
export class ConditionSet {
  readonly #problems = new Map<string, { reason: string; message: string; status: boolean }>();

  /** Records a problem for `type` (status False unless `status` says otherwise). */
  set(type: string, reason: string, message: string, status = false): void {
    if (!this.#problems.has(type)) this.#problems.set(type, { reason, message, status });
  }

  has(type: string): boolean {
    return this.#problems.has(type);
  }

  reason(type: string): string | undefined {
    return this.#problems.get(type)?.reason;
  }

  /** The condition of `type`: the recorded problem, else the success given. */
  get(type: string, okReason: string, okMessage: string, generation: number): ApiCondition {
    const p = this.#problems.get(type);
    return p ? condition(type, p.status, p.reason, p.message, generation) : condition(type, true, okReason, okMessage, generation);
  }
}
