// BackendTLSPolicy: TLS from the proxy to a Service's pods, validated
// against the policy's CA (a ConfigMap's or Secret's `ca.crt`, or the
// system's well-known CAs) and its hostname / subjectAltNames, the hostname
// sent as SNI. The standard form of HTTPProxy's upstream validation, and
// it reuses the same proxy TLS (UpstreamTls). A policy that cannot be
// applied as written makes its targets answer 500: a backend that asked for
// validation is never reached unvalidated.
import { rootCertificates } from 'node:tls';
import type { PolicyStatus } from '../status/index.ts';
import type { CacheView } from './cache-view.ts';
import { CONTROLLER_NAME, GATEWAY_GROUP, condition } from './gateway-conditions.ts';
import { caBundleError } from './secret.ts';
import { arr, int, rec, str } from './safe.ts';

/** An absolute URI, as the CRD's validation of subjectAltNames[].uri reads it (RFC 3986 scheme, then ':'). */
const URI_SAN = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/** The id of the system CA bundle in the ProxyConfig. */
export const SYSTEM_CA_ID = 'isobar/system-ca';

export type PolicyVerdict =
  | { ok: true; caBundleId: string; caPem: string; sni: string; subjectNames: string[]; uriSubjectNames: string[]; policy: PolicyEntry }
  | { ok: false; policy: PolicyEntry };

export interface PolicyEntry {
  namespace: string;
  name: string;
  generation: number;
  accepted: { ok: boolean; reason: string; message: string };
  resolved: { ok: boolean; reason: string; message: string };
  /** Gateways whose routes reach a target ("ns/name"), for the ancestors. */
  ancestors: Set<string>;
  verdict?: PolicyVerdict;
}

interface Target {
  service: string;
  sectionName: string;
}

/** "ns/name" -> a ConfigMap's string data. */
export type ConfigMaps = Map<string, Record<string, string>>;

export function readConfigMaps(configMapsRaw: unknown[]): ConfigMaps {
  const configMaps: ConfigMaps = new Map();
  for (const c of configMapsRaw) {
    const r = rec(c);
    const m = rec(r?.metadata);
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec(r?.data) ?? {})) if (typeof v === 'string') data[k] = v;
    configMaps.set(`${str(m?.namespace) || 'default'}/${str(m?.name)}`, data);
  }
  return configMaps;
}

/** The Secret or ConfigMap data a CA reference names, if any. */
function caData(view: CacheView, configMaps: ConfigMaps, ns: string, kind: string, name: string): string | undefined {
  if (kind === 'ConfigMap') return configMaps.get(`${ns}/${name}`)?.['ca.crt'];
  return view.secret(ns, name)?.data?.['ca.crt'];
}

/** A ConfigMap's or Secret's `ca.crt` as a CA bundle part, or why it is not one. */
export function resolveCa(view: CacheView, configMaps: ConfigMaps, ns: string, kind: 'ConfigMap' | 'Secret', name: string): { id: string; pem: string } | { problem: string } {
  const data = caData(view, configMaps, ns, kind, name);
  if (data === undefined) {
    const exists = kind === 'ConfigMap' ? configMaps.has(`${ns}/${name}`) : view.secret(ns, name) !== undefined;
    return { problem: `${kind} ${ns}/${name} ${exists ? 'has no ca.crt' : 'not found'}` };
  }
  const bad = caBundleError(data);
  if (bad) return { problem: `${kind} ${ns}/${name}: ca.crt ${bad}` };
  return { id: `${ns}/${kind.toLowerCase()}/${name}`, pem: data };
}

export class BackendTLSPolicies {
  readonly #entries: PolicyEntry[] = [];
  /** "ns/service/sectionName" -> the policy that wins ("" section: every port). */
  readonly #byTarget = new Map<string, PolicyEntry>();
  /** "ns/service/sectionName" -> the younger policies that conflict there. */
  readonly #conflicted = new Map<string, PolicyEntry[]>();
  readonly #view: CacheView;

  constructor(policies: unknown[], configMaps: ConfigMaps, view: CacheView) {
    this.#view = view;
    // Oldest first, then namespace/name: the older policy wins a conflict (spec).
    const sorted = [...policies].sort((a, b) => {
      const x = rec(rec(a)?.metadata) ?? {};
      const y = rec(rec(b)?.metadata) ?? {};
      const cx = str(x.creationTimestamp);
      const cy = str(y.creationTimestamp);
      if (cx !== cy) return cx === '' ? 1 : cy === '' ? -1 : cx < cy ? -1 : 1;
      const kx = `${str(x.namespace)}/${str(x.name)}`;
      const ky = `${str(y.namespace)}/${str(y.name)}`;
      return kx < ky ? -1 : kx > ky ? 1 : 0;
    });
    for (const p of sorted) this.#read(p, configMaps);
  }

  #read(raw: unknown, configMaps: ConfigMaps): void {
    const r = rec(raw) ?? {};
    const m = rec(r.metadata) ?? {};
    const ns = str(m.namespace) || 'default';
    const e: PolicyEntry = {
      namespace: ns,
      name: str(m.name),
      generation: int(m.generation),
      accepted: { ok: true, reason: 'Accepted', message: 'Policy accepted' },
      resolved: { ok: true, reason: 'ResolvedRefs', message: 'All references resolved' },
      ancestors: new Set(),
    };
    this.#entries.push(e);
    const spec = rec(r.spec) ?? {};
    const v = rec(spec.validation) ?? {};
    const reject = (reason: string, message: string) => {
      if (e.accepted.ok) e.accepted = { ok: false, reason, message };
    };
    const unresolved = (reason: string, message: string) => {
      if (e.resolved.ok) e.resolved = { ok: false, reason, message };
    };
    const hostname = str(v.hostname);
    if (hostname === '') reject('Invalid', 'validation.hostname is required');
    if (Object.keys(rec(spec.options) ?? {}).length > 0) reject('Invalid', 'options are not supported: isobar would not apply them');
    // With subjectAltNames, the certificate must carry one of them (the
    // hostname is then only the SNI); without, it must carry the hostname.
    const subjectNames: string[] = [];
    const uriSubjectNames: string[] = [];
    const sans = arr(v.subjectAltNames);
    for (const san of sans) {
      const s = rec(san) ?? {};
      if (str(s.type) === 'Hostname' && str(s.hostname) !== '') subjectNames.push(str(s.hostname));
      else if (str(s.type) === 'URI' && URI_SAN.test(str(s.uri))) uriSubjectNames.push(str(s.uri));
      else reject('Invalid', `subjectAltNames: type ${str(s.type) || '(none)'} needs ${str(s.type) === 'URI' ? 'a uri of the form scheme:...' : str(s.type) === 'Hostname' ? 'a hostname' : 'to be Hostname or URI'}`);
    }
    const refs = arr(v.caCertificateRefs).map((x) => rec(x) ?? {});
    const wellKnown = str(v.wellKnownCACertificates);
    let caPem = '';
    let caId = '';
    if (refs.length > 0 && wellKnown !== '') reject('Invalid', 'validation names both caCertificateRefs and wellKnownCACertificates');
    else if (wellKnown !== '') {
      if (wellKnown !== 'System') reject('Invalid', `wellKnownCACertificates "${wellKnown}" is not supported: only System`);
      else {
        caPem = rootCertificates.join('\n');
        caId = SYSTEM_CA_ID;
      }
    } else if (refs.length === 0) reject('Invalid', 'validation needs caCertificateRefs or wellKnownCACertificates');
    else {
      const good: { id: string; pem: string }[] = [];
      for (const ref of refs) {
        const group = str(ref.group);
        const kind = str(ref.kind);
        const name = str(ref.name);
        if (group !== '' || (kind !== 'ConfigMap' && kind !== 'Secret')) {
          unresolved('InvalidKind', `caCertificateRefs names ${group === '' ? 'core' : group}/${kind} "${name}": only ConfigMaps and Secrets are supported`);
          continue;
        }
        const ca = resolveCa(this.#view, configMaps, ns, kind, name);
        if ('problem' in ca) unresolved('InvalidCACertificateRef', ca.problem);
        else good.push(ca);
      }
      if (good.length === 0) reject('NoValidCACertificate', 'no caCertificateRef names a valid CA certificate');
      else {
        caPem = good.map((g) => g.pem.trim()).join('\n') + '\n';
        caId = `backendtlspolicy:${good.map((g) => g.id).join('+')}`;
      }
    }
    const targets: Target[] = [];
    for (const t of arr(spec.targetRefs)) {
      const tr = rec(t) ?? {};
      if (str(tr.group) !== '' || str(tr.kind) !== 'Service') {
        reject('Invalid', `targetRefs names ${str(tr.group) || 'core'}/${str(tr.kind)}: only core Services are supported`);
        continue;
      }
      targets.push({ service: str(tr.name), sectionName: str(tr.sectionName) });
    }
    e.verdict = e.accepted.ok ? { ok: true, caBundleId: caId, caPem, sni: hostname, subjectNames: sans.length > 0 ? subjectNames : [hostname], uriSubjectNames, policy: e } : { ok: false, policy: e };
    for (const t of targets) {
      const key = `${ns}/${t.service}/${t.sectionName}`;
      const holder = this.#byTarget.get(key);
      if (holder) {
        // The older policy keeps the target; this one is conflicted.
        if (e.accepted.ok) e.accepted = { ok: false, reason: 'Conflicted', message: `BackendTLSPolicy ${holder.namespace}/${holder.name} already targets Service ${t.service}${t.sectionName ? ` port ${t.sectionName}` : ''}` };
        const losers = this.#conflicted.get(key);
        if (losers) losers.push(e);
        else this.#conflicted.set(key, [e]);
        continue;
      }
      this.#byTarget.set(key, e);
    }
    // A conflicted policy applies to none of its targets: everything it
    // targets is held by the older one.
  }

  /** A Gateway's route reaches this Service port: the policy applied there
   *  and the ones conflicting with it there get that Gateway as an ancestor,
   *  so a conflicted policy's status says so (GEP-713; the conformance test
   *  BackendTLSPolicyConflictResolution reads it under the Gateway). */
  reached(ns: string, service: string, portName: string, gateway: string): void {
    const key = this.#targetOf(ns, service, portName);
    this.#byTarget.get(key)?.ancestors.add(gateway);
    for (const e of this.#conflicted.get(key) ?? []) e.ancestors.add(gateway);
  }

  /** The policy for a Service port (by port name, else for every port). */
  forService(ns: string, service: string, portName: string): PolicyVerdict | undefined {
    return this.#byTarget.get(this.#targetOf(ns, service, portName))?.verdict;
  }

  /** The target key whose policy applies to a Service port: the port's own, else the whole Service's. */
  #targetOf(ns: string, service: string, portName: string): string {
    const exact = `${ns}/${service}/${portName}`;
    return portName !== '' && this.#byTarget.has(exact) ? exact : `${ns}/${service}/`;
  }

  statuses(): PolicyStatus[] {
    return this.#entries
      .map((e) => ({
        namespace: e.namespace,
        name: e.name,
        ancestors: [...e.ancestors].sort().map((a) => {
          const [namespace, name] = a.split('/') as [string, string];
          return {
            ancestorRef: { group: GATEWAY_GROUP, kind: 'Gateway', namespace, name },
            controllerName: CONTROLLER_NAME,
            conditions: [condition('Accepted', e.accepted.ok, e.accepted.reason, e.accepted.message, e.generation), condition('ResolvedRefs', e.resolved.ok, e.resolved.reason, e.resolved.message, e.generation)],
          };
        }),
      }))
      .sort((a, b) => {
        const x = `${a.namespace}/${a.name}`;
        const y = `${b.namespace}/${b.name}`;
        return x < y ? -1 : x > y ? 1 : 0;
      });
  }
}
