// Which Secrets isobar must hold in memory: those an HTTPProxy names (TLS
// certificate, client-validation CA and CRL, upstream validation CA) or an
// Ingress names (TLS certificates), plus
// the config's client and fallback certificates and any the caller adds.
// Everything else stays a tiny index entry, so memory follows what is used,
// not how many Secrets the cluster has.

import type { BackendTLSPolicy, Gateway, HTTPProxy, HTTPProxyService, Ingress } from '../objects/index.ts';

/** "namespace/name" */
export type SecretKey = string;

/** A reference as written: "name" (the proxy's namespace) or "ns/name". */
export function resolveRef(ref: string | undefined, namespace: string): SecretKey | undefined {
  if (typeof ref !== 'string' || ref === '') return undefined;
  const i = ref.indexOf('/');
  return i >= 0 ? `${ref.slice(0, i)}/${ref.slice(i + 1)}` : `${namespace}/${ref}`;
}

export function secretsOfProxy(p: HTTPProxy): Set<SecretKey> {
  const ns = p.metadata.namespace;
  const out = new Set<SecretKey>();
  const add = (ref: string | undefined) => {
    const k = resolveRef(ref, ns);
    if (k) out.add(k);
  };
  const tls = p.spec?.virtualhost?.tls;
  if (tls) {
    add(tls.secretName);
    add(tls.clientValidation?.caSecret);
    add(tls.clientValidation?.crlSecret);
  }
  const services: HTTPProxyService[] = [];
  for (const r of p.spec?.routes ?? []) services.push(...(r.services ?? []));
  services.push(...(p.spec?.tcpproxy?.services ?? []));
  for (const s of services) add(s.validation?.caSecret);
  return out;
}

/** The TLS Secrets of an Ingress: "name" in its own namespace, or in the
 *  one projectcontour.io/tls-cert-namespace names, or "ns/name". */
export function secretsOfIngress(i: Ingress): Set<SecretKey> {
  const ns = i.metadata.annotations?.['projectcontour.io/tls-cert-namespace'] || i.metadata.namespace;
  const out = new Set<SecretKey>();
  for (const t of i.spec?.tls ?? []) {
    const k = resolveRef(t.secretName, ns);
    if (k) out.add(k);
  }
  return out;
}

/** Reference counts: a Secret is wanted while any holder names it. */
export class SecretRefs {
  #byHolder = new Map<string, Set<SecretKey>>();
  #counts = new Map<SecretKey, number>();

  /** Set what one holder references; returns the keys that became wanted
   *  and those no longer wanted by anyone. */
  set(holder: string, keys: Set<SecretKey>): { added: SecretKey[]; removed: SecretKey[] } {
    const prev = this.#byHolder.get(holder) ?? new Set<SecretKey>();
    const added: SecretKey[] = [];
    const removed: SecretKey[] = [];
    for (const k of keys) {
      if (prev.has(k)) continue;
      const n = (this.#counts.get(k) ?? 0) + 1;
      this.#counts.set(k, n);
      if (n === 1) added.push(k);
    }
    for (const k of prev) {
      if (keys.has(k)) continue;
      const n = (this.#counts.get(k) ?? 1) - 1;
      if (n <= 0) {
        this.#counts.delete(k);
        removed.push(k);
      } else this.#counts.set(k, n);
    }
    if (keys.size) this.#byHolder.set(holder, new Set(keys));
    else this.#byHolder.delete(holder);
    return { added, removed };
  }

  wanted(key: SecretKey): boolean {
    return this.#counts.has(key);
  }

  get size(): number {
    return this.#counts.size;
  }
}

/** A Gateway's listener certificates and its backend client certificate
 *  (core Secrets: in the Gateway's namespace unless one is named). */
export function secretsOfGateway(g: Gateway): Set<SecretKey> {
  const out = new Set<SecretKey>();
  const add = (ref: { group?: string; kind?: string; name?: string; namespace?: string } | undefined) => {
    if (!ref || (ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret' || !ref.name) return;
    out.add(`${ref.namespace || g.metadata.namespace}/${ref.name}`);
  };
  for (const l of g.spec?.listeners ?? []) for (const r of l.tls?.certificateRefs ?? []) add(r);
  add(g.spec?.backendTLS?.clientCertificateRef);
  return out;
}

/** The CA Secrets a BackendTLSPolicy names (its own namespace). */
export function secretsOfPolicy(p: BackendTLSPolicy): Set<SecretKey> {
  const out = new Set<SecretKey>();
  for (const r of p.spec?.validation?.caCertificateRefs ?? []) if (r.group === '' && r.kind === 'Secret' && r.name) out.add(`${p.metadata.namespace}/${r.name}`);
  return out;
}
