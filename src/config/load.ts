// The config file (`--config isobar.yaml`) -> IsobarConfig. Keys use
// Contour's spelling where Contour has one. Unknown keys are errors that
// name the key, the file and line, and suggest the closest known key; keys
// Contour has but isobar does not use are accepted with a warning, so an
// existing Contour config file still loads.

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { LineCounter, parseDocument, isMap, isNode, isScalar } from 'yaml';
import type { Document } from 'yaml';
import type { CircuitBreakerDefaults, IsobarConfig, NamespacedName } from './types.ts';
import { defaultConfig } from './types.ts';
import { parseDuration } from './duration.ts';
import { acmeBinding, acmeDns, acmeString } from './acme.ts';
import { parseGlobalExtAuth } from './global-ext-auth.ts';
import { parseRateLimitService } from './rate-limit-service.ts';
import { CONTOUR_IGNORED, ignoredWarning } from './contour-ignored.ts';
import { configMapContent } from './configmap.ts';
import { describe } from './describe.ts';
import { DOWNSTREAM_TIMEOUT_KEYS, LISTENER_LIMIT_KEYS, parseConnectionBalancer, parseDownstreamTimeout, parseListenerLimit, parseNumTrustedHops } from './listener.ts';
import { parseAccessLogFormat, parseAccessLogFormatString, parseAccessLogLevel, parseJsonFields } from './access-log.ts';
import { parseCipherSuites, parseListenerTlsVersion } from './downstream-tls.ts';

export interface ConfigProblem {
  file: string;
  line?: number;
  message: string;
}

export interface LoadedConfig {
  config: IsobarConfig;
  warnings: ConfigProblem[];
}

/** The config file cannot be used; the CLI exits 2. */
export class ConfigError extends Error {
  readonly file: string;
  readonly problems: ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`;
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/** The config for `--config FILE`: defaults when no file is given. Warnings
 *  (Contour keys isobar ignores) go to `onWarning`. Throws ConfigError. */
export async function loadConfigFile(
  file: string | undefined,
  opts: { onWarning?: (p: ConfigProblem) => void } = {},
): Promise<IsobarConfig> {
  if (file === undefined) return defaultConfig();
  const { config, warnings } = await readConfigFile(file);
  for (const w of warnings) opts.onWarning?.(w);
  return config;
}

/** Read and parse a config file, returning its warnings too. */
export async function readConfigFile(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    const buf = await readFile(file);
    if (buf.length > MAX_CONFIG_BYTES) throw new ConfigError(file, [{ file, message: 'config file is over 1 MiB; is this the right file?' }]);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder, not a file' : String((err as Error).message);
    throw new ConfigError(file, [{ file, message: `cannot read config file: ${why}` }]);
  }
  return parseConfig(text, file);
}

type Handler = (value: unknown, ctx: Ctx) => void;

interface Ctx {
  config: IsobarConfig;
  path: string;
  fail(message: string): void;
  /** Accepted, with a warning saying what isobar does instead. */
  warn(message: string): void;
}

const HANDLERS: Record<string, Handler> = {
  'compression.algorithm': (v, c) => {
    // Contour's CompressionAlgorithm.Validate; "" is the default.
    if (v === '') return;
    if (v !== 'gzip' && v !== 'brotli' && v !== 'zstd' && v !== 'disabled') return c.fail(`invalid compression type: ${JSON.stringify(String(v))}`);
    c.config.compression = { algorithm: v };
  },
  'cluster.dns-lookup-family': (v, c) => {
    // Contour's ClusterDNSFamilyType.Validate.
    if (v !== 'auto' && v !== 'v4' && v !== 'v6' && v !== 'all') return c.fail(`invalid cluster DNS lookup family ${goQuoted(v)}`);
    c.config.cluster.dnsLookupFamily = v;
  },
  'cluster.max-requests-per-connection': (v, c) => {
    const n = uint32(v, c);
    // Contour's ClusterParameters.Validate wording.
    if (n !== undefined && n < 1) return c.fail(`invalid max connections per request value ${n} set on cluster, minimum value is 1`);
    if (n !== undefined) c.config.cluster.maxRequestsPerConnection = n;
  },
  'cluster.per-connection-buffer-limit-bytes': (v, c) => {
    const n = uint32(v, c);
    if (n !== undefined && n < 1) return c.fail(`invalid per connections buffer limit bytes value ${n} set on cluster, minimum value is 1`);
    if (n !== undefined) c.config.cluster.perConnectionBufferLimitBytes = n;
  },
  'cluster.circuit-breakers': (v, c) => {
    const cb = circuitBreakers(v, c);
    if (cb) c.config.circuitBreakers = cb;
  },
  'network.num-trusted-hops': (v, c) => {
    const n = parseNumTrustedHops(v, c.fail);
    if (n !== undefined) c.config.numTrustedHops = n;
  },
  'listener.connection-balancer': (v, c) => parseConnectionBalancer(v, c.config.listener, c.fail),
  ...Object.fromEntries(LISTENER_LIMIT_KEYS.map((k): [string, Handler] => [`listener.${k}`, (v, c) => parseListenerLimit(k, v, c.config.listener, c.fail)])),
  ...Object.fromEntries(DOWNSTREAM_TIMEOUT_KEYS.map((k): [string, Handler] => [`timeouts.${k}`, (v, c) => parseDownstreamTimeout(k, v, c.config.timeouts, c.fail)])),
  'accesslog-format': (v, c) => {
    const f = parseAccessLogFormat(v, c.fail);
    if (f) c.config.accessLog.format = f;
  },
  'accesslog-format-string': (v, c) => {
    const f = parseAccessLogFormatString(v, c.fail);
    if (f !== undefined) c.config.accessLog.formatString = f;
  },
  'json-fields': (v, c) => {
    const f = parseJsonFields(v, c.fail);
    if (f) c.config.accessLog.jsonFields = f;
  },
  'accesslog-level': (v, c) => {
    const l = parseAccessLogLevel(v, c.fail);
    if (l) c.config.accessLog.level = l;
  },
  'tls.minimum-protocol-version': (v, c) => {
    const t = parseListenerTlsVersion(v, 'minimum', c.fail);
    if (t) c.config.tls.minimumProtocolVersion = t;
  },
  'tls.maximum-protocol-version': (v, c) => {
    const t = parseListenerTlsVersion(v, 'maximum', c.fail);
    if (t) c.config.tls.maximumProtocolVersion = t;
  },
  'tls.cipher-suites': (v, c) => {
    const l = parseCipherSuites(v, c.fail);
    if (l) c.config.tls.cipherSuites = l;
  },
  rateLimitService: (v, c) => {
    const r = parseRateLimitService(v, c.fail);
    if (r) c.config.rateLimitService = r;
  },
  'tls.envoy-client-certificate': (v, c) => {
    const n = namespacedName(v, c, 'invalid TLS client certificate');
    if (n) c.config.tls.envoyClientCertificate = n;
  },
  'tls.fallback-certificate': (v, c) => {
    const n = namespacedName(v, c, 'invalid TLS fallback certificate');
    if (n) c.config.tls.fallbackCertificate = n;
  },
  'cluster.upstream-tls.minimum-protocol-version': (v, c) => {
    const t = tlsVersion(v, c);
    if (t) c.config.upstreamTls.minimumProtocolVersion = t;
  },
  'cluster.upstream-tls.maximum-protocol-version': (v, c) => {
    const t = tlsVersion(v, c);
    if (t) c.config.upstreamTls.maximumProtocolVersion = t;
  },
  'upstream-tls.require-validation': (v, c) => {
    const b = bool(v, c);
    if (b !== undefined) c.config.upstreamTls.requireValidation = b;
  },
  'timeouts.connect-timeout': (v, c) => {
    if (typeof v !== 'string') return c.fail(`must be a Go duration string such as "2s", found ${describe(v)}`);
    let ms: number;
    try {
      ms = parseDuration(v);
    } catch (err) {
      return c.fail((err as Error).message);
    }
    if (!(ms > 0)) return c.fail(`must be greater than 0, found ${JSON.stringify(v)}`);
    c.config.timeouts.connectTimeoutMs = ms;
  },
  enableExternalNameService: (v, c) => {
    const b = bool(v, c);
    if (b !== undefined) c.config.enableExternalNameService = b;
  },
  disableMergeSlashes: (v, c) => {
    const b = bool(v, c);
    if (b !== undefined) c.config.disableMergeSlashes = b;
  },
  disablePermitInsecure: (v, c) => {
    const b = bool(v, c);
    if (b !== undefined) c.config.disablePermitInsecure = b;
  },
  'ingress-class-name': (v, c) => {
    if (typeof v !== 'string') return c.fail(`must be a string, found ${describe(v)}`);
    if (v !== '') c.config.ingressClassName = v;
  },
  // Contour's flags for the Service whose addresses go into Ingress status:
  // in isobar that Service is the ingress Service (ingress.service).
  'envoy-service-namespace': (v, c) => {
    const s = dnsLabel(v, c);
    if (s) c.config.ingressService = { ...c.config.ingressService, namespace: s };
  },
  'envoy-service-name': (v, c) => {
    const s = dnsLabel(v, c);
    if (s) c.config.ingressService = { ...c.config.ingressService, name: s };
  },
  'ingress-status-address': (v, c) => {
    if (typeof v !== 'string') return c.fail(`must be a string, found ${describe(v)}`);
    // Contour's parseStatusFlag: a comma-separated list, each an IP if it parses as one.
    const entries = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
    if (entries.length > 0) c.config.ingressStatusAddress = entries.map((x) => (isIP(x) ? { ip: x } : { hostname: x }));
  },
  'ingress.service': (v, c) => {
    if (typeof v !== 'string') return c.fail(`must be "namespace/name", found ${describe(v)}`);
    const i = v.indexOf('/');
    const ns = i > 0 ? v.slice(0, i) : '';
    const name = i > 0 ? v.slice(i + 1) : '';
    if (!ns || !name || name.includes('/')) return c.fail(`must be "namespace/name", found ${JSON.stringify(v)}`);
    c.config.ingressService = { namespace: ns, name };
  },
  'gateway.gatewayRef': (v, c) => {
    // Contour's GatewayParameters.Validate(), word for word.
    const invalid = 'invalid Gateway parameters specified: gateway ref namespace and name must be provided';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return c.fail(`${invalid} (a mapping, found ${describe(v)})`);
    const ref = v as Record<string, unknown>;
    const extra = Object.keys(ref).find((k) => k !== 'namespace' && k !== 'name');
    if (extra !== undefined) return c.fail(`unknown key "${extra}" (namespace, name)`);
    if (typeof ref.namespace !== 'string' || ref.namespace === '' || typeof ref.name !== 'string' || ref.name === '') return c.fail(invalid);
    const namespace = dnsLabel(ref.namespace, c);
    if (namespace !== undefined) c.config.gatewayRef = { namespace, name: ref.name };
  },
  'aws.region': (v, c) => {
    if (typeof v !== 'string' || !/^[a-z0-9-]+$/.test(v)) return c.fail(`must be a region name such as "us-east-1", found ${describe(v)}`);
    c.config.aws.region = v;
  },
  'aws.account': (v, c) => {
    const s = typeof v === 'number' && Number.isInteger(v) ? String(v).padStart(12, '0') : v;
    if (typeof s !== 'string' || !/^\d{12}$/.test(s)) return c.fail(`must be a 12-digit account id (quote it: "123456789012"), found ${describe(v)}`);
    c.config.aws.account = s;
  },
  'aws.cluster-name': (v, c) => {
    if (typeof v !== 'string' || v === '') return c.fail(`must be a non-empty string, found ${describe(v)}`);
    c.config.aws.clusterName = v;
  },
  'policy.request-headers.set': (v, c) => {
    const m = headerMap(v, c);
    if (m) c.config.policy.requestHeaders.set = m;
  },
  'policy.request-headers.remove': (v, c) => {
    const l = stringList(v, c);
    if (l) c.config.policy.requestHeaders.remove = l;
  },
  'policy.response-headers.set': (v, c) => {
    const m = headerMap(v, c);
    if (m) c.config.policy.responseHeaders.set = m;
  },
  'policy.response-headers.remove': (v, c) => {
    const l = stringList(v, c);
    if (l) c.config.policy.responseHeaders.remove = l;
  },
  globalExtAuth: (v, c) => {
    const g = parseGlobalExtAuth(v, c.fail);
    if (g) c.config.globalExtAuth = g;
  },
  'acme.directory': (v, c) => {
    const s = acmeString(v, c.fail);
    if (s) c.config.acme.directory = s;
  },
  'acme.email': (v, c) => {
    const s = acmeString(v, c.fail);
    if (s) c.config.acme.email = s;
  },
  'acme.keyType': (v, c) => {
    const s = acmeString(v, c.fail);
    if (s) c.config.acme.keyType = s;
  },
  'acme.caBundle': (v, c) => {
    const s = acmeString(v, c.fail);
    if (s) c.config.acme.caBundle = s;
  },
  'acme.challenges': (v, c) => {
    const l = stringList(v, c);
    if (l) c.config.acme.challenges = l;
  },
  'acme.dns': (v, c) => {
    const d = acmeDns(v, c.fail);
    if (d) c.config.acme.dns = d;
  },
  'acme.externalAccountBinding': (v, c) => {
    const b = acmeBinding(v, c.fail);
    if (b) c.config.acme.externalAccountBinding = b;
  },
  'root-namespaces': (v, c) => {
    // Contour takes a comma-separated flag; accept that spelling too.
    const l = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : stringList(v, c);
    if (l) c.config.rootNamespaces = l;
  },
};

/** Sections: keys whose value is a mapping of further keys. */
const SECTIONS = new Set<string>();
for (const key of [...Object.keys(HANDLERS), ...CONTOUR_IGNORED.keys()]) {
  const parts = key.split('.');
  for (let i = 1; i < parts.length; i++) SECTIONS.add(parts.slice(0, i).join('.'));
}

export const CONFIG_KEYS: readonly string[] = Object.keys(HANDLERS);

/** Parse config file text. Throws ConfigError listing every problem. */
export function parseConfig(text: string, file: string): LoadedConfig {
  return parseText(text, file, 0, true);
}

function parseText(text: string, file: string, lineOffset: number, mayBeConfigMap: boolean): LoadedConfig {
  const config = defaultConfig();
  const warnings: ConfigProblem[] = [];
  const problems: ConfigProblem[] = [];
  const lc = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    throw new ConfigError(file, [{ file, message: `config file is not valid YAML: ${(err as Error).message}` }]);
  }
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    throw new ConfigError(file, [{ file, line: pos.line + lineOffset, message: `config file is not valid YAML (column ${pos.col}): ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` }]);
  }
  const lineOf = (node: unknown): number | undefined => (isNode(node) && node.range ? lc.linePos(node.range[0]).line + lineOffset : undefined);
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) return { config, warnings };
  if (!isMap(root)) throw new ConfigError(file, [{ file, line: lineOf(root), message: 'config file must be a mapping of keys (for example "tls:" or "timeouts:")' }]);
  // Contour's config usually ships as a ConfigMap holding contour.yaml.
  const inner = mayBeConfigMap ? configMapContent(root, lineOf) : undefined;
  if (inner !== undefined) {
    if ('problem' in inner) throw new ConfigError(file, [{ file, line: inner.line, message: inner.problem }]);
    return parseText(inner.text, file, inner.line, false);
  }
  const seen = new Set<string>();

  const walk = (map: typeof root, prefix: string): void => {
    for (const pair of map.items) {
      const keyNode = pair.key;
      const rawKey = isScalar(keyNode) ? keyNode.value : keyNode;
      const key = prefix + String(rawKey);
      const line = lineOf(keyNode);
      const valueNode = pair.value;
      if (Object.hasOwn(HANDLERS, key)) {
        const value = isNode(valueNode) ? valueNode.toJSON() : valueNode;
        if (value === null || value === undefined) continue; // "key:" with nothing = default
        seen.add(key);
        HANDLERS[key]!(value, {
          config,
          path: key,
          fail: (message) => problems.push({ file, line: lineOf(valueNode) ?? line, message: `${key}: ${message}` }),
          warn: (message) => warnings.push({ file, line: lineOf(valueNode) ?? line, message: `${key}: ${message}` }),
        });
      } else if (SECTIONS.has(key)) {
        if (isMap(valueNode)) walk(valueNode, `${key}.`);
        else if (!(isScalar(valueNode) && valueNode.value === null) && valueNode !== null) {
          problems.push({ file, line, message: `${key}: must be a mapping of keys (${childKeys(key).join(', ')})` });
        }
      } else if (CONTOUR_IGNORED.has(key) || [...CONTOUR_IGNORED.keys()].some((k) => key.startsWith(`${k}.`))) {
        if (!CONTOUR_IGNORED.has(key)) continue; // inside an ignored section: already warned
        warnings.push({ file, line, message: ignoredWarning(key) });
      } else {
        const hint = closest(key);
        problems.push({ file, line, message: `unknown key "${key}"${hint ? `: did you mean "${hint}"?` : ''}` });
      }
    }
  };
  walk(root, '');

  if (seen.has('ingress.service') && (seen.has('envoy-service-name') || seen.has('envoy-service-namespace'))) {
    problems.push({ file, message: 'ingress.service and envoy-service-name/envoy-service-namespace name the same Service: set one of them' });
  }

  if (config.tls.minimumProtocolVersion > config.tls.maximumProtocolVersion) {
    problems.push({ file, message: 'tls: invalid TLS Protocol Parameters: the minimum TLS protocol version is greater than the maximum TLS protocol version' });
  }
  const t = config.upstreamTls;
  if (t.minimumProtocolVersion > t.maximumProtocolVersion) {
    problems.push({
      file,
      message: `cluster.upstream-tls: minimum-protocol-version ${t.minimumProtocolVersion} is greater than maximum-protocol-version ${t.maximumProtocolVersion}`,
    });
  }
  if (problems.length) throw new ConfigError(file, problems);
  return { config, warnings };
}

function childKeys(section: string): string[] {
  const out = new Set<string>();
  for (const k of [...Object.keys(HANDLERS), ...CONTOUR_IGNORED.keys()]) {
    if (k.startsWith(`${section}.`)) out.add(k.slice(section.length + 1).split('.')[0]!);
  }
  return [...out];
}

function namespacedName(v: unknown, c: Ctx, what: string): NamespacedName | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    c.fail(`must be a mapping with name and namespace, found ${describe(v)}`);
    return undefined;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'name' && k !== 'namespace') {
      c.fail(`unknown key "${c.path}.${k}": only name and namespace are allowed`);
      return undefined;
    }
  }
  const name = o['name'] ?? '';
  const namespace = o['namespace'] ?? '';
  if (typeof name !== 'string' || typeof namespace !== 'string') {
    c.fail(`name and namespace must be strings`);
    return undefined;
  }
  if (name === '' && namespace === '') return undefined; // neither: not configured
  // Contour's wording (pkg/config NamespacedName.Validate)
  if (namespace === '') {
    c.fail(`${what}: namespace must be defined`);
    return undefined;
  }
  if (name === '') {
    c.fail(`${what}: name must be defined`);
    return undefined;
  }
  return { namespace, name };
}

const CIRCUIT_BREAKER_KEYS: Record<string, keyof CircuitBreakerDefaults> = {
  'max-connections': 'maxConnections',
  'max-pending-requests': 'maxPendingRequests',
  'max-requests': 'maxRequests',
  'max-retries': 'maxRetries',
  'per-host-max-connections': 'perHostMaxConnections',
};

/** Contour's v1alpha1.CircuitBreakers in the config file's spelling: each a
 *  uint32, 0 meaning unset. */
function circuitBreakers(v: unknown, c: Ctx): Partial<CircuitBreakerDefaults> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    c.fail(`must be a mapping of ${Object.keys(CIRCUIT_BREAKER_KEYS).join(', ')}, found ${describe(v)}`);
    return undefined;
  }
  const out: Partial<CircuitBreakerDefaults> = {};
  let ok = true;
  for (const [k, n] of Object.entries(v as Record<string, unknown>)) {
    const field = CIRCUIT_BREAKER_KEYS[k];
    if (field === undefined || !Object.hasOwn(CIRCUIT_BREAKER_KEYS, k)) {
      c.fail(`unknown key "${c.path}.${k}": the keys are ${Object.keys(CIRCUIT_BREAKER_KEYS).join(', ')}`);
      ok = false;
    } else if (n === null) continue;
    else if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
      c.fail(`${k}: must be a whole number from 0 to 4294967295, found ${describe(n)}`);
      ok = false;
    } else if (n > 0) out[field] = n;
  }
  return ok ? out : undefined;
}

/** A YAML uint32 (Contour reads these keys as *uint32). */
function uint32(v: unknown, c: Ctx): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff) return v;
  c.fail(`must be a whole number from 0 to 4294967295, found ${describe(v)}`);
  return undefined;
}

/** A value as Go's %q prints a string (other values as JSON). */
function goQuoted(v: unknown): string {
  return JSON.stringify(typeof v === 'string' ? v : String(v));
}

function dnsLabel(v: unknown, c: Ctx): string | undefined {
  if (typeof v === 'string' && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) return v;
  c.fail(`must be a Kubernetes name (lower case letters, digits and '-'), found ${describe(v)}`);
  return undefined;
}

function tlsVersion(v: unknown, c: Ctx): '1.2' | '1.3' | undefined {
  // Unquoted 1.2 in YAML is a number; accept it as the user meant it.
  const s = typeof v === 'number' ? v.toFixed(1) : v;
  if (s === '1.2' || s === '1.3') return s;
  c.fail(`unsupported TLS version ${JSON.stringify(v)}: use "1.2" or "1.3"`);
  return undefined;
}

function bool(v: unknown, c: Ctx): boolean | undefined {
  if (typeof v === 'boolean') return v;
  c.fail(`must be true or false, found ${describe(v)}`);
  return undefined;
}

function stringList(v: unknown, c: Ctx): string[] | undefined {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    c.fail(`must be a list of strings, found ${describe(v)}`);
    return undefined;
  }
  return v as string[];
}

function headerMap(v: unknown, c: Ctx): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    c.fail(`must be a mapping of header name to value, found ${describe(v)}`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string') {
      c.fail(`header ${JSON.stringify(k)}: value must be a string, found ${describe(val)}`);
      return undefined;
    }
    out[k] = val;
  }
  return out;
}


/** The known key nearest by edit distance (on the full dotted path, then
 *  on the last segment), or undefined when nothing is close. */
function closest(key: string): string | undefined {
  const candidates = [...Object.keys(HANDLERS), ...SECTIONS];
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of candidates) {
    const d = Math.min(editDistance(key, k), editDistance(key.split('.').pop()!, k.split('.').pop()!) + 1);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(3, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
