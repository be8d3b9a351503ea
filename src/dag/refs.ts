// Object references as Contour writes them.

/** "namespace/name", the id of secrets, CA bundles and status paths. */
export function pkey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

/** `name` or `namespace/name`, split at the first `/`; a bare name is in `defaultNs`. */
export function splitRef(ref: string, defaultNs: string): { namespace: string; name: string } {
  const i = ref.indexOf('/');
  if (i < 0) return { namespace: defaultNs, name: ref };
  return { namespace: ref.slice(0, i), name: ref.slice(i + 1) };
}
