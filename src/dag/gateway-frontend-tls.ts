// A Gateway's spec.tls.frontend: client certificate validation for its
// HTTPS listeners, the default and per port (a perPort entry replaces the
// default on its port), as the proxy's client validation of HTTPProxy
// (clientValidation). Validation restricts who may connect, so a listener
// it names is served only with it: references that do not resolve make the
// listener's ResolvedRefs False (InvalidCACertificateRef,
// InvalidCACertificateKind, RefNotPermitted), and when none resolves the
// listener is not accepted (NoValidCACertificate) rather than served without.
import type { ConfigMaps } from './gateway-backend-tls.ts';
import { resolveCa } from './gateway-backend-tls.ts';
import { GATEWAY_GROUP } from './gateway-conditions.ts';
import type { ReferenceGrants } from './gateway-refs.ts';
import type { CacheView } from './cache-view.ts';
import { arr, int, rec, str, type Rec } from './safe.ts';

/** What the listeners on one port get. */
export interface FrontendValidation {
  /** Absent when no reference resolved (the listener is then not accepted). */
  ca?: { id: string; pem: string };
  /** AllowInsecureFallback: a client certificate is asked for, not required nor checked. */
  insecureFallback: boolean;
  /** The first reference that did not resolve. */
  problem?: { reason: string; message: string };
  /** Where it was written, for messages: "spec.tls.frontend.default" or "...perPort[port 443]". */
  where: string;
}

export interface FrontendContext {
  view: CacheView;
  grants: ReferenceGrants;
  configMaps: ConfigMaps;
}

function readValidation(raw: Rec | null, where: string, gwNs: string, ctx: FrontendContext): FrontendValidation | string {
  const v = rec(raw?.validation);
  if (!v) return `${where}.validation is required`;
  const mode = v.mode === undefined ? 'AllowValidOnly' : v.mode;
  if (mode !== 'AllowValidOnly' && mode !== 'AllowInsecureFallback') return `${where}.validation.mode ${JSON.stringify(mode)} is not AllowValidOnly or AllowInsecureFallback`;
  const out: FrontendValidation = { insecureFallback: mode === 'AllowInsecureFallback', where };
  const refs = arr(v.caCertificateRefs).map((x) => rec(x) ?? {});
  if (refs.length === 0) return `${where}.validation.caCertificateRefs is empty: name a ConfigMap with ca.crt`;
  const good: { id: string; pem: string }[] = [];
  const unresolved = (reason: string, message: string) => {
    out.problem ??= { reason, message: `${where}: ${message}` };
  };
  for (const ref of refs) {
    const group = str(ref.group);
    const kind = str(ref.kind);
    const name = str(ref.name);
    const ns = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : gwNs;
    if (group !== '' || (kind !== 'ConfigMap' && kind !== 'Secret')) {
      unresolved('InvalidCACertificateKind', `caCertificateRefs names ${group === '' ? 'core' : group}/${kind} "${name}": only ConfigMaps and Secrets are supported`);
      continue;
    }
    if (!ctx.grants.permitted({ group: GATEWAY_GROUP, kind: 'Gateway', namespace: gwNs }, { group: '', kind, namespace: ns, name })) {
      unresolved('RefNotPermitted', `${kind} ${ns}/${name} is in another namespace and no ReferenceGrant there allows this Gateway to use it`);
      continue;
    }
    const ca = resolveCa(ctx.view, ctx.configMaps, ns, kind, name);
    if ('problem' in ca) unresolved('InvalidCACertificateRef', ca.problem);
    else good.push(ca);
  }
  if (good.length > 0) out.ca = { id: `gateway-frontend:${good.map((g) => g.id).join('+')}`, pem: good.map((g) => g.pem.trim()).join('\n') + '\n' };
  return out;
}

/** spec.tls.frontend of a Gateway: the validation for a port, undefined
 *  for none; a string is a problem that makes the Gateway not accepted. */
export function readFrontend(raw: unknown, gwNs: string, ctx: FrontendContext): ((port: number) => FrontendValidation | undefined) | string {
  if (raw === undefined) return () => undefined;
  const f = rec(raw);
  if (!f) return 'spec.tls.frontend must be an object';
  let fallback: FrontendValidation | undefined;
  if (f.default !== undefined) {
    const d = readValidation(rec(f.default), 'spec.tls.frontend.default', gwNs, ctx);
    if (typeof d === 'string') return d;
    fallback = d;
  }
  const perPort = new Map<number, FrontendValidation>();
  for (const p of arr(f.perPort)) {
    const r = rec(p) ?? {};
    const port = int(r.port);
    if (port < 1 || port > 65535) return `spec.tls.frontend.perPort: port ${JSON.stringify(r.port)} is not in 1-65535`;
    if (perPort.has(port)) return `spec.tls.frontend.perPort names port ${port} twice`;
    const v = readValidation(rec(r.tls), `spec.tls.frontend.perPort[port ${port}].tls`, gwNs, ctx);
    if (typeof v === 'string') return v;
    perPort.set(port, v);
  }
  return (port) => perPort.get(port) ?? fallback;
}
