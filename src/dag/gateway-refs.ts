// ReferenceGrant: a reference from one namespace to an object in another is
// allowed only when a ReferenceGrant in the target's namespace lists the
// referrer's (group, kind, namespace) in `from` and the target's (group,
// kind[, name]) in `to`. Same-namespace references need none.
import { arr, rec, str } from './safe.ts';

interface Grant {
  from: { group: string; kind: string; namespace: string }[];
  to: { group: string; kind: string; name: string }[];
}

export interface RefFrom {
  group: string;
  kind: string;
  namespace: string;
}

export interface RefTo {
  group: string; // "" for the core group
  kind: string;
  namespace: string;
  name: string;
}

export class ReferenceGrants {
  readonly #byNamespace = new Map<string, Grant[]>();

  constructor(grants: unknown[]) {
    for (const g of grants) {
      const r = rec(g);
      const ns = str(rec(r?.metadata)?.namespace) || 'default';
      const spec = rec(r?.spec);
      if (!spec) continue;
      const grant: Grant = {
        from: arr(spec.from).map((f) => ({ group: str(rec(f)?.group), kind: str(rec(f)?.kind), namespace: str(rec(f)?.namespace) })),
        to: arr(spec.to).map((t) => ({ group: str(rec(t)?.group), kind: str(rec(t)?.kind), name: str(rec(t)?.name) })),
      };
      const list = this.#byNamespace.get(ns);
      if (list) list.push(grant);
      else this.#byNamespace.set(ns, [grant]);
    }
  }

  permitted(from: RefFrom, to: RefTo): boolean {
    if (from.namespace === to.namespace) return true;
    for (const g of this.#byNamespace.get(to.namespace) ?? []) {
      const fromOk = g.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace);
      if (!fromOk) continue;
      if (g.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === '' || t.name === to.name))) return true;
    }
    return false;
  }
}
