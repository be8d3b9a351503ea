// Status as data: errors and warnings accumulate per HTTPProxy while the
// processor runs (Contour's DetailedCondition), then become HTTPProxyStatus.
import type { DetailedCondition, HTTPProxyStatus, SubCondition } from '../status/index.ts';

export const VALID_MESSAGE = 'Valid HTTPProxy';
export const ERROR_MESSAGE = 'At least one error present, see Errors for details';
export const ORPHANED_MESSAGE = 'this HTTPProxy is not part of a delegation chain from a root HTTPProxy';

/** Where a service error happened, for the specific description. */
export interface ServiceContext {
  route: string; // the route's merged path
  service: string;
}

export class Condition {
  readonly errors: SubCondition[] = [];
  readonly warnings: SubCondition[] = [];
  /** Parallel to errors: the specific description for each. */
  readonly descriptions: string[] = [];

  addError(type: string, reason: string, message: string, description: string = message): void {
    this.errors.push({ type, status: 'True', reason, message });
    this.descriptions.push(description);
  }

  /** A service error: the description reads `route "<p>": service "<s>": <problem>`. */
  addServiceError(type: string, reason: string, message: string, ctx: ServiceContext | null, problem: string): void {
    this.addError(type, reason, message, ctx ? `route "${ctx.route}": service "${ctx.service}": ${problem}` : message);
  }

  addWarning(type: string, reason: string, message: string): void {
    this.warnings.push({ type, status: 'True', reason, message });
  }
}

export interface StatusEntry {
  namespace: string;
  name: string;
  generation: number;
  fqdn: string;
  tlsSecret?: string;
  cond: Condition;
}

export function toStatus(e: StatusEntry): HTTPProxyStatus {
  const { cond } = e;
  const invalid = cond.errors.length > 0;
  const condition: DetailedCondition = {
    type: 'Valid',
    status: invalid ? 'False' : 'True',
    observedGeneration: e.generation,
    reason: invalid ? 'ErrorPresent' : 'Valid',
    message: invalid ? ERROR_MESSAGE : VALID_MESSAGE,
    errors: cond.errors,
    warnings: cond.warnings,
  };
  let currentStatus: HTTPProxyStatus['currentStatus'] = 'valid';
  let description = VALID_MESSAGE;
  if (cond.errors.some((x) => x.type === 'Orphaned')) {
    currentStatus = 'orphaned';
    description = ORPHANED_MESSAGE;
  } else if (invalid) {
    currentStatus = 'invalid';
    description = cond.descriptions[0]!;
  }
  const status: HTTPProxyStatus = {
    namespace: e.namespace,
    name: e.name,
    fqdn: e.fqdn,
    currentStatus,
    description,
    conditions: [condition],
  };
  if (e.tlsSecret !== undefined) status.tlsSecret = e.tlsSecret;
  return status;
}
