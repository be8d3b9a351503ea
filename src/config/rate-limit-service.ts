// rateLimitService: Contour's RateLimitService in the config file
// (pkg/config/parameters.go), the server global rate limits are asked of.
// Checked where it enters: an unknown key or a wrong type is an error
// naming the key. defaultGlobalRateLimitPolicy is kept as written: the dag
// reads it as it reads an HTTPProxy's rateLimitPolicy.global, with
// Contour's errors on the statuses of the proxies it would apply to.

export interface RateLimitService {
  /** "namespace/name" of the ExtensionService. */
  extensionService: { namespace: string; name: string };
  /** Default "contour". */
  domain: string;
  failOpen: boolean;
  enableXRateLimitHeaders: boolean;
  enableResourceExhaustedCode: boolean;
  /** The policy of virtual hosts that set no global policy of their own. */
  defaultGlobalRateLimitPolicy?: Record<string, unknown>;
}

import { isMapping, kind } from './global-ext-auth.ts';

type Fail = (message: string) => void;

const KEYS = ['extensionService', 'domain', 'failOpen', 'enableXRateLimitHeaders', 'enableResourceExhaustedCode', 'defaultGlobalRateLimitPolicy'];
const BOOLEANS = ['failOpen', 'enableXRateLimitHeaders', 'enableResourceExhaustedCode'] as const;

/** The parsed section, or undefined when it names no server or has an
 *  error (reported through `fail`, prefixed with "rateLimitService"). */
export function parseRateLimitService(v: unknown, fail: Fail): RateLimitService | undefined {
  if (!isMapping(v)) {
    fail(`must be a mapping (${KEYS.join(', ')}), found ${kind(v)}`);
    return undefined;
  }
  let ok = true;
  const bad = (message: string): void => {
    ok = false;
    fail(message);
  };
  for (const k of Object.keys(v)) if (!KEYS.includes(k)) bad(`unknown key "rateLimitService.${k}": allowed are ${KEYS.join(', ')}`);
  const out: RateLimitService = { extensionService: { namespace: '', name: '' }, domain: 'contour', failOpen: false, enableXRateLimitHeaders: false, enableResourceExhaustedCode: false };
  const es = v.extensionService;
  if (es !== undefined && es !== null && es !== '') {
    const m = typeof es === 'string' ? /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(es) : null;
    if (!m) bad(`extensionService must be "namespace/name" of an ExtensionService, found ${kind(es)}`);
    else out.extensionService = { namespace: m[1]!, name: m[3]! };
  }
  const d = v.domain;
  if (d !== undefined && d !== null && d !== '') {
    if (typeof d !== 'string') bad(`domain must be a string, found ${kind(d)}`);
    else out.domain = d;
  }
  for (const k of BOOLEANS) {
    const b = v[k];
    if (b === undefined || b === null) continue;
    if (typeof b !== 'boolean') bad(`${k} must be true or false, found ${kind(b)}`);
    else out[k] = b;
  }
  const p = v.defaultGlobalRateLimitPolicy;
  if (p !== undefined && p !== null) {
    if (!isMapping(p)) bad(`defaultGlobalRateLimitPolicy must be a mapping (disabled, descriptors), found ${kind(p)}`);
    else {
      for (const k of Object.keys(p)) if (k !== 'disabled' && k !== 'descriptors') bad(`unknown key "rateLimitService.defaultGlobalRateLimitPolicy.${k}": allowed are disabled, descriptors`);
      out.defaultGlobalRateLimitPolicy = p;
    }
  }
  if (!ok) return undefined;
  if (out.extensionService.name === '') {
    // Settings without a server would limit nothing: say so.
    if (Object.keys(v).some((k) => k !== 'extensionService' && v[k] !== null && v[k] !== undefined)) {
      fail('extensionService must be set ("namespace/name" of an ExtensionService) for the other rateLimitService settings to apply');
    }
    return undefined;
  }
  return out;
}
