// A Check's outcome -> what the proxy does, as Envoy's ext_authz filter
// decides (ext_authz_grpc_impl.cc, ext_authz.cc): status OK allows with the
// server's header mutations; any other status denies, 403 unless the
// denied response names a status; an error_response, a failed call or a
// timeout is an error: allowed when failOpen (failure_mode_allow), else
// status_on_error, which Contour sets to 403. Pure.
import type { CheckResponseMsg, HeaderValueOptionMsg } from './proto.ts';
import type { AuthzDecision, HeaderAction, HeaderMutation, UpstreamMutations } from './types.ts';

/** Contour's status_on_error. */
export const STATUS_ON_ERROR = 403;

const NO_MUTATIONS: UpstreamMutations = { headers: [], headersToRemove: [], queryToSet: [], queryToRemove: [], responseHeaders: [] };

const ACTIONS: readonly HeaderAction[] = ['add', 'addIfAbsent', 'set', 'setIfExists'];

/** HeaderValueOption -> mutation. The deprecated `append` wins when set
 *  (true: append to an existing value, false: overwrite); otherwise
 *  append_action (default APPEND_IF_EXISTS_OR_ADD: one more header line). */
export function headerMutations(list: HeaderValueOptionMsg[] | undefined): HeaderMutation[] {
  const out: HeaderMutation[] = [];
  for (const h of list ?? []) {
    const hv = h.header;
    if (!hv || typeof hv.key !== 'string' || hv.key === '') continue;
    const value = hv.value !== '' || !hv.raw_value || hv.raw_value.length === 0 ? hv.value : hv.raw_value.toString('latin1');
    let action: HeaderAction;
    if (h.append) action = h.append.value ? 'append' : 'set';
    // An unknown action counts as an overwrite, as Envoy treats it.
    else action = ACTIONS[h.append_action ?? 0] ?? 'set';
    out.push({ key: hv.key.toLowerCase(), value, action });
  }
  return out;
}

/** A status the client can be sent; anything else becomes `fallback`. */
function usableStatus(code: number | undefined, fallback: number): number {
  return typeof code === 'number' && Number.isInteger(code) && code >= 200 && code <= 599 ? code : fallback;
}

/** The gRPC status codes' names, for logs. */
const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export function grpcCodeName(code: number): string {
  return GRPC_CODES[code] ?? String(code);
}

function allowFailure(detail: string): AuthzDecision {
  return { kind: 'allow', outcome: 'failure_mode_allowed', mutations: NO_MUTATIONS, detail };
}

/** The call failed (unreachable, TLS refused, timeout, a non-OK gRPC
 *  status from the transport): an error. */
export function decideFailure(code: number, message: string, failOpen: boolean): AuthzDecision {
  const detail = `ext_authz_error: ${grpcCodeName(code)}${message ? `: ${message}` : ''}`;
  if (failOpen) return allowFailure(detail);
  return { kind: 'deny', outcome: 'error', status: STATUS_ON_ERROR, headers: [], body: '', detail };
}

/** The server answered. */
export function decideResponse(res: CheckResponseMsg, failOpen: boolean): AuthzDecision {
  const code = res.status?.code ?? 0;
  if (code === 0) {
    const ok = res.ok_response;
    if (!ok) return { kind: 'allow', outcome: 'ok', mutations: NO_MUTATIONS };
    return {
      kind: 'allow',
      outcome: 'ok',
      mutations: {
        headers: headerMutations(ok.headers),
        headersToRemove: (ok.headers_to_remove ?? []).map((h) => h.toLowerCase()),
        queryToSet: (ok.query_parameters_to_set ?? []).filter((q) => q.key !== '').map((q) => ({ key: q.key, value: q.value })),
        queryToRemove: [...(ok.query_parameters_to_remove ?? [])],
        responseHeaders: headerMutations(ok.response_headers_to_add),
      },
    };
  }
  const detail = `${grpcCodeName(code)}${res.status?.message ? `: ${res.status.message}` : ''}`;
  if (res.http_response === 'error_response' && res.error_response) {
    // The server failed and says how to answer: still an error, so
    // failure_mode_allow applies.
    if (failOpen) return allowFailure(`ext_authz_error: ${detail}`);
    const e = res.error_response;
    return {
      kind: 'deny',
      outcome: 'error',
      status: usableStatus(e.status?.code, STATUS_ON_ERROR),
      headers: headerMutations(e.headers),
      body: e.body ?? '',
      detail: `ext_authz_error: ${detail}`,
    };
  }
  const d = res.http_response === 'denied_response' ? res.denied_response : null;
  return {
    kind: 'deny',
    outcome: 'denied',
    status: usableStatus(d?.status?.code, 403),
    headers: headerMutations(d?.headers),
    body: d?.body ?? '',
    detail: `ext_authz_denied: ${detail}`,
  };
}
