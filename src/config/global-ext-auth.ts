// globalExtAuth: Contour's GlobalExternalAuthorization in the config file
// (pkg/config/parameters.go), the authorization server every virtual host
// uses unless it names its own or disables authorization. Checked where it
// enters: an unknown key or a wrong type is an error naming the key, never
// a setting silently dropped (it decides who may reach what).

export interface GlobalExtAuth {
  /** "namespace/name" of the ExtensionService; a bare name is in the
   *  HTTPProxy's namespace (as Contour reads it). */
  extensionService: string;
  /** grpc (default) or http. */
  serviceType?: string;
  authPolicy?: { disabled?: boolean; context?: Record<string, string> };
  /** A Go duration or "infinity". */
  responseTimeout?: string;
  failOpen?: boolean;
  withRequestBody?: { maxRequestBytes?: number; allowPartialMessage?: boolean; packAsBytes?: boolean };
  /** httpSettings is given (only used by HTTP authorization servers). */
  httpSettings?: boolean;
}

type Fail = (message: string) => void;

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function onlyKeys(o: Record<string, unknown>, allowed: string[], path: string, fail: Fail): boolean {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      fail(`unknown key "${path}.${k}": allowed are ${allowed.join(', ')}`);
      return false;
    }
  }
  return true;
}

const TOP = ['extensionService', 'serviceType', 'httpSettings', 'authPolicy', 'responseTimeout', 'failOpen', 'withRequestBody'];

/** The parsed section, or undefined when it is empty or has an error
 *  (reported through `fail`, prefixed by the caller with "globalExtAuth"). */
export function parseGlobalExtAuth(v: unknown, fail: Fail): GlobalExtAuth | undefined {
  if (!isMapping(v)) {
    fail(`must be a mapping (${TOP.join(', ')}), found ${kind(v)}`);
    return undefined;
  }
  if (!onlyKeys(v, TOP, 'globalExtAuth', fail)) return undefined;
  const out: GlobalExtAuth = { extensionService: '' };
  let ok = true;
  const bad = (message: string): void => {
    ok = false;
    fail(message);
  };
  const es = v.extensionService;
  if (es !== undefined && es !== null) {
    if (typeof es !== 'string' || (es !== '' && !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(es))) {
      bad(`extensionService must be "namespace/name" of an ExtensionService, found ${kind(es)}`);
    } else out.extensionService = es;
  }
  const st = v.serviceType;
  if (st !== undefined && st !== null) {
    if (st !== 'grpc' && st !== 'http') bad(`serviceType must be grpc or http, found ${kind(st)}`);
    else out.serviceType = st;
  }
  if (v.httpSettings !== undefined && v.httpSettings !== null) {
    if (!isMapping(v.httpSettings)) bad(`httpSettings must be a mapping, found ${kind(v.httpSettings)}`);
    else out.httpSettings = true;
  }
  const rt = v.responseTimeout;
  if (rt !== undefined && rt !== null) {
    if (typeof rt !== 'string') bad(`responseTimeout must be a Go duration string such as "500ms" or "infinity", found ${kind(rt)}`);
    else out.responseTimeout = rt;
  }
  const fo = v.failOpen;
  if (fo !== undefined && fo !== null) {
    if (typeof fo !== 'boolean') bad(`failOpen must be true or false, found ${kind(fo)}`);
    else out.failOpen = fo;
  }
  const ap = v.authPolicy;
  if (ap !== undefined && ap !== null) {
    if (!isMapping(ap)) bad(`authPolicy must be a mapping (disabled, context), found ${kind(ap)}`);
    else if (onlyKeys(ap, ['disabled', 'context'], 'globalExtAuth.authPolicy', bad)) {
      const policy: NonNullable<GlobalExtAuth['authPolicy']> = {};
      if (ap.disabled !== undefined && ap.disabled !== null) {
        if (typeof ap.disabled !== 'boolean') bad(`authPolicy.disabled must be true or false, found ${kind(ap.disabled)}`);
        else policy.disabled = ap.disabled;
      }
      if (ap.context !== undefined && ap.context !== null) {
        if (!isMapping(ap.context) || Object.values(ap.context).some((x) => typeof x !== 'string')) {
          bad('authPolicy.context must be a mapping of string keys to string values');
        } else policy.context = { ...(ap.context as Record<string, string>) };
      }
      out.authPolicy = policy;
    }
  }
  const wb = v.withRequestBody;
  if (wb !== undefined && wb !== null) {
    if (!isMapping(wb)) bad(`withRequestBody must be a mapping (maxRequestBytes, allowPartialMessage, packAsBytes), found ${kind(wb)}`);
    else if (onlyKeys(wb, ['maxRequestBytes', 'allowPartialMessage', 'packAsBytes'], 'globalExtAuth.withRequestBody', bad)) {
      const body: NonNullable<GlobalExtAuth['withRequestBody']> = {};
      const m = wb.maxRequestBytes;
      if (m !== undefined && m !== null) {
        if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 0xffffffff) bad(`withRequestBody.maxRequestBytes must be a whole number of bytes, at least 1, found ${kind(m)}`);
        else body.maxRequestBytes = m;
      }
      for (const k of ['allowPartialMessage', 'packAsBytes'] as const) {
        const b = wb[k];
        if (b === undefined || b === null) continue;
        if (typeof b !== 'boolean') bad(`withRequestBody.${k} must be true or false, found ${kind(b)}`);
        else body[k] = b;
      }
      out.withRequestBody = body;
    }
  }
  if (!ok) return undefined;
  if (out.extensionService === '') {
    // Settings without a server would protect nothing: say so.
    if (Object.keys(v).some((k) => k !== 'extensionService')) {
      fail('extensionService must be set ("namespace/name" of an ExtensionService) for the other globalExtAuth settings to apply');
    }
    return undefined;
  }
  return out;
}
