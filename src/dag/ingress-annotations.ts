// Contour's Ingress annotations (internal/annotation/annotations.go and
// site/content/docs/main/config/annotations.md), read into settings with
// Contour's defaults. A value Contour would quietly replace by its default
// is a problem here, so a typo is never silent; an annotation Contour would
// honour that isobar does not is an error.
import { RETRY_ON } from '../objects/index.ts';
import type { RetryPolicyConfig, TlsVersion } from './proxy-config.ts';
import { parseTimeout, timeoutMs } from './duration.ts';
import { DEFAULT_RESPONSE_TIMEOUT_MS } from './proxy-config.ts';
import type { IngressProblem } from '../status/index.ts';

/** What Contour reads from an Ingress's annotations. */
export interface IngressSettings {
  /** ingress.kubernetes.io/force-ssl-redirect: "true" */
  tlsRequired: boolean;
  /** kubernetes.io/ingress.allow-http: anything but "false" */
  httpAllowed: boolean;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** projectcontour.io/tls-cert-namespace: "" when unset */
  tlsCertNamespace: string;
  /** projectcontour.io/websocket-routes: the paths, as written */
  websocketRoutes: Set<string>;
  /** projectcontour.io/response-timeout (or the older request-timeout) */
  responseMs: number | null;
  retry: RetryPolicyConfig | undefined;
}

/** Every annotation Contour reads on an Ingress (annotationsByKind). */
const KNOWN = new Set([
  'ingress.kubernetes.io/force-ssl-redirect',
  'kubernetes.io/ingress.allow-http',
  'kubernetes.io/ingress.class',
  'projectcontour.io/ingress.class',
  'projectcontour.io/num-retries',
  'projectcontour.io/per-try-timeout',
  'projectcontour.io/response-timeout',
  'projectcontour.io/request-timeout',
  'projectcontour.io/retry-on',
  'projectcontour.io/tls-minimum-protocol-version',
  'projectcontour.io/tls-maximum-protocol-version',
  'projectcontour.io/tls-cert-namespace',
  'projectcontour.io/websocket-routes',
]);

const RETRY_NAMES: ReadonlySet<string> = new Set(RETRY_ON);

function tlsVersionOf(annotations: Record<string, string>, key: string, dflt: TlsVersion, problems: IngressProblem[]): TlsVersion {
  const v = annotations[key];
  if (v === undefined || v === '') return dflt;
  if (v === '1.2' || v === '1.3') return v;
  problems.push({ severity: 'warning', field: key, message: `${JSON.stringify(v)} is not a TLS version isobar offers (1.2 or 1.3); using ${dflt}, as Contour does` });
  return dflt;
}

/** ParseInt32 of Go, for num-retries: undefined when it would fail. */
function goInt32(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

export function readIngressSettings(annotations: Record<string, string>): { settings: IngressSettings; problems: IngressProblem[] } {
  const problems: IngressProblem[] = [];
  for (const key of Object.keys(annotations).sort()) {
    if (KNOWN.has(key)) continue;
    // Contour knows every projectcontour.io/ and ingress.kubernetes.io/ key.
    if (key.startsWith('projectcontour.io/')) {
      problems.push({ severity: 'error', field: key, message: 'is not an annotation Contour or isobar reads on an Ingress; remove it or check the spelling' });
    } else if (key.startsWith('ingress.kubernetes.io/') || key === 'kubernetes.io/ingress.global-static-ip-name') {
      problems.push({ severity: 'error', field: key, message: 'is not supported by isobar (of the ingress.kubernetes.io/ annotations only force-ssl-redirect is); it has no effect' });
    }
  }
  const forceSsl = annotations['ingress.kubernetes.io/force-ssl-redirect'];
  if (forceSsl !== undefined && forceSsl !== 'true' && forceSsl !== 'false') {
    problems.push({ severity: 'warning', field: 'ingress.kubernetes.io/force-ssl-redirect', message: `${JSON.stringify(forceSsl)} is neither "true" nor "false"; only "true" redirects` });
  }
  const minVersion = tlsVersionOf(annotations, 'projectcontour.io/tls-minimum-protocol-version', '1.2', problems);
  const maxVersion = tlsVersionOf(annotations, 'projectcontour.io/tls-maximum-protocol-version', '1.3', problems);

  const websocketRoutes = new Set<string>();
  for (const v of (annotations['projectcontour.io/websocket-routes'] ?? '').split(',')) {
    const r = v.trim();
    if (r !== '') websocketRoutes.add(r);
  }

  // response-timeout, else the older request-timeout (applied to the response as well).
  let responseMs: number | null = DEFAULT_RESPONSE_TIMEOUT_MS;
  const rtKey = annotations['projectcontour.io/response-timeout'] ? 'projectcontour.io/response-timeout' : 'projectcontour.io/request-timeout';
  const rt = annotations[rtKey] ?? '';
  if (rt !== '') {
    const t = parseTimeout(rt);
    if (t.ok) responseMs = timeoutMs(t.timeout, DEFAULT_RESPONSE_TIMEOUT_MS);
    else problems.push({ severity: 'error', field: rtKey, message: `${t.error}; the default of 15s applies` });
  }

  let retry: RetryPolicyConfig | undefined;
  const retryOn = annotations['projectcontour.io/retry-on'] ?? '';
  const numKey = 'projectcontour.io/num-retries';
  const tryKey = 'projectcontour.io/per-try-timeout';
  if (retryOn !== '') {
    const names = retryOn.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const unknown = names.filter((n) => !RETRY_NAMES.has(n));
    if (unknown.length > 0) {
      problems.push({
        severity: 'error',
        field: 'projectcontour.io/retry-on',
        message: `unknown retry condition${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(u)).join(', ')}; they are left out (known: ${[...RETRY_ON].join(', ')})`,
      });
    }
    // NumRetries: -1 disables, 0 and 1 (and unparsable) are Envoy's 1.
    const raw = annotations[numKey] ?? '';
    let count = 1;
    const n = raw === '' ? 0 : goInt32(raw);
    if (n === undefined) problems.push({ severity: 'warning', field: numKey, message: `${JSON.stringify(raw)} is not a number; 1 retry applies, as in Contour` });
    else if (n === -1) count = 0;
    else if (n > 1) count = n;
    let perTryTimeoutMs: number | null = null;
    const pt = annotations[tryKey] ?? '';
    if (pt !== '') {
      // timeout.Parse, as Contour reads it: "infinity" (and zero) is none.
      const t = parseTimeout(pt);
      if (t.ok) perTryTimeoutMs = timeoutMs(t.timeout, null);
      else problems.push({ severity: 'error', field: tryKey, message: `${t.error}; no per-try timeout applies` });
    }
    const known = names.filter((n) => RETRY_NAMES.has(n));
    if (known.length > 0) retry = { retryOn: known, count, perTryTimeoutMs, retriableStatusCodes: [] };
  } else {
    for (const k of [numKey, tryKey]) {
      if (annotations[k] !== undefined) problems.push({ severity: 'warning', field: k, message: 'has no effect without projectcontour.io/retry-on' });
    }
  }

  return {
    settings: {
      tlsRequired: forceSsl === 'true',
      httpAllowed: annotations['kubernetes.io/ingress.allow-http'] !== 'false',
      minVersion,
      maxVersion,
      tlsCertNamespace: annotations['projectcontour.io/tls-cert-namespace'] ?? '',
      websocketRoutes,
      responseMs,
      retry,
    },
    problems,
  };
}
