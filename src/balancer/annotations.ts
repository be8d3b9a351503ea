// Service annotation names the balancer reads, and strict parsers for their
// value syntaxes. Parsers return a value or a message; they never throw.

export const SBK = 'service.beta.kubernetes.io/';
export const A = {
  type: `${SBK}aws-load-balancer-type`,
  targetType: `${SBK}aws-load-balancer-nlb-target-type`,
  name: `${SBK}aws-load-balancer-name`,
  scheme: `${SBK}aws-load-balancer-scheme`,
  internal: `${SBK}aws-load-balancer-internal`,
  sslCert: `${SBK}aws-load-balancer-ssl-cert`,
  sslPorts: `${SBK}aws-load-balancer-ssl-ports`,
  sslPolicy: `${SBK}aws-load-balancer-ssl-negotiation-policy`,
  alpnPolicy: `${SBK}aws-load-balancer-alpn-policy`,
  backendProtocol: `${SBK}aws-load-balancer-backend-protocol`,
  proxyProtocol: `${SBK}aws-load-balancer-proxy-protocol`,
  proxyProtocolPerTg: `${SBK}aws-load-balancer-proxy-protocol-per-target-group`,
  tgAttributes: `${SBK}aws-load-balancer-target-group-attributes`,
  /** + `.<TCP|TLS>-<port>`, e.g. `...-listener-attributes.TLS-443`. */
  listenerAttributes: `${SBK}aws-load-balancer-listener-attributes`,
  hcProtocol: `${SBK}aws-load-balancer-healthcheck-protocol`,
  hcPort: `${SBK}aws-load-balancer-healthcheck-port`,
  hcPath: `${SBK}aws-load-balancer-healthcheck-path`,
  hcInterval: `${SBK}aws-load-balancer-healthcheck-interval`,
  hcTimeout: `${SBK}aws-load-balancer-healthcheck-timeout`,
  hcHealthy: `${SBK}aws-load-balancer-healthcheck-healthy-threshold`,
  hcUnhealthy: `${SBK}aws-load-balancer-healthcheck-unhealthy-threshold`,
  hcSuccessCodes: `${SBK}aws-load-balancer-healthcheck-success-codes`,
  /** Not an aws-load-balancer-* key: the cloud-provider-wide one. */
  sourceRanges: `${SBK}load-balancer-source-ranges`,
  backendCaSecret: 'isobar.dev/backend-ca-secret',
  proxyProtocolTlvs: 'isobar.dev/proxy-protocol-tlvs',
  targetSelection: 'isobar.dev/target-selection',
} as const;

export const NLB_CLASS = 'service.k8s.aws/nlb';

/** A Service's annotations as the model builders read them. */
export type Annotations = Record<string, string>;

/** The value of an annotation when it is set to a string (a hand-written
 *  manifest may put anything there; anything else counts as unset). */
export function annotation(ann: Annotations, key: string): string | undefined {
  const v = ann[key];
  return typeof v === 'string' ? v : undefined;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(message: string): Parsed<T> => ({ ok: false, message });

/** Comma list, items trimmed, empty items dropped. */
export function splitList(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** "true" / "false" exactly (as Go's strconv.ParseBool would also accept
 *  1/0/t/f/TRUE...: accept those too, refuse anything else). */
export function parseBool(v: string): Parsed<boolean> {
  const t = v.trim();
  if (['true', 'True', 'TRUE', 't', 'T', '1'].includes(t)) return ok(true);
  if (['false', 'False', 'FALSE', 'f', 'F', '0'].includes(t)) return ok(false);
  return bad(`"${v}" is not a boolean (use true or false)`);
}

/** A decimal integer (optional sign), within [min, max]. */
export function parseInt32(v: string, min: number, max: number): Parsed<number> {
  const t = v.trim();
  if (!/^[+-]?\d{1,10}$/.test(t)) return bad(`"${v}" is not an integer`);
  const n = Number(t);
  if (n < min || n > max) return bad(`${n} is out of range (${min}-${max})`);
  return ok(n);
}

/** `k=v,k=v` with `\,` escaping a comma inside a value (as the controller
 *  parses string maps). An item without `=` or with an empty key is an error. */
export function parseStringMap(v: string): Parsed<Map<string, string>> {
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\\' && v[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      items.push(cur);
      cur = '';
    } else cur += c;
  }
  items.push(cur);
  const out = new Map<string, string>();
  for (const raw of items) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) return bad(`item "${item}" has no "=" (expected key=value,key=value)`);
    const key = item.slice(0, eq).trim();
    if (key === '') return bad(`item "${item}" has an empty key (expected key=value,key=value)`);
    out.set(key, item.slice(eq + 1).trim());
  }
  return ok(out);
}

/** ACM certificate ARN: arn:<partition>:acm:<region>:<12-digit account>:certificate/<id>. */
const ARN_RE = /^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]{1,128}$/;
export function isCertificateArn(v: string): boolean {
  return ARN_RE.test(v);
}

/** NLB target group success codes: "200", "200,202", "200-299", within 200-599. */
export function parseSuccessCodes(v: string): Parsed<string> {
  const t = v.trim();
  const parts = t.split(',');
  for (const p of parts) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(p.trim());
    if (!m) return bad(`"${v}" is not a list of HTTP codes or ranges (e.g. "200-399" or "200,204")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 200 || hi > 599 || lo > hi) return bad(`"${p.trim()}" is outside 200-599 or reversed`);
  }
  return ok(parts.map((p) => p.trim()).join(','));
}

/** Whether an HTTP status matches a success-codes string as parsed above. */
export function matchesSuccessCodes(codes: string, status: number): boolean {
  for (const p of codes.split(',')) {
    const [lo, hi] = p.split('-').map(Number);
    if (status >= lo && status <= (hi ?? lo)) return true;
  }
  return false;
}
