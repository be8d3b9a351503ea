// An Ingress as the processor reads it: every field present with Go's zero
// value, so mangled input (a caller of build() may skip the schema) reads
// as empty, never as an exception. The default backend becomes a first
// rule without a host, as Contour's rulesFromSpec prepends it so later
// rules can override it.
import { arr, int, rec, str, strMap } from './safe.ts';

export interface NIngressBackend {
  serviceName: string;
  portName: string;
  portNumber: number;
  /** "kind/name" of a resource backend, "" when it is a Service. */
  resource: string;
}

export interface NIngressPath {
  path: string;
  /** Exact | Prefix | ImplementationSpecific (the default) */
  pathType: string;
  backend: NIngressBackend;
  /** Where it is written, for problems: "spec.rules[0].http.paths[1]". */
  field: string;
}

export interface NIngress {
  namespace: string;
  name: string;
  generation: number;
  annotations: Record<string, string>;
  tls: { hosts: string[]; secretName: string }[];
  rules: { host: string; paths: NIngressPath[] }[];
}

function readBackend(v: unknown): NIngressBackend {
  const b = rec(v);
  const svc = rec(b?.service);
  const port = rec(svc?.port);
  const res = rec(b?.resource);
  return {
    serviceName: str(svc?.name),
    portName: str(port?.name),
    portNumber: int(port?.number),
    resource: res && !svc ? `${str(res.kind)}/${str(res.name)}` : '',
  };
}

export function readIngress(raw: unknown): NIngress | null {
  const o = rec(raw);
  const m = rec(o?.metadata);
  const name = str(m?.name);
  if (!o || name === '') return null;
  const spec = rec(o.spec);
  const rules: NIngress['rules'] = [];
  const dflt = rec(spec?.defaultBackend);
  if (dflt) {
    rules.push({ host: '', paths: [{ path: '', pathType: 'ImplementationSpecific', backend: readBackend(dflt), field: 'spec.defaultBackend' }] });
  }
  arr(spec?.rules).forEach((r, i) => {
    const rule = rec(r);
    const paths = arr(rec(rule?.http)?.paths).map((p, j) => {
      const x = rec(p);
      return {
        path: str(x?.path),
        pathType: str(x?.pathType) || 'ImplementationSpecific',
        backend: readBackend(x?.backend),
        field: `spec.rules[${i}].http.paths[${j}]`,
      };
    });
    rules.push({ host: str(rule?.host).toLowerCase(), paths });
  });
  return {
    namespace: str(m?.namespace) || 'default',
    name,
    generation: int(m?.generation),
    annotations: strMap(m?.annotations),
    tls: arr(spec?.tls).map((t) => ({ hosts: arr(rec(t)?.hosts).map(str).filter((h) => h !== ''), secretName: str(rec(t)?.secretName) })),
    rules,
  };
}
