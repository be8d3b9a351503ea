// Hostname intersection of the Gateway API (listener hostname x route
// hostnames): a wildcard `*.example.com` stands for any name with at least
// one more label; an empty hostname stands for every name.

/** Whether `name` falls under the wildcard `wild` ("*.example.com"). */
function underWildcard(name: string, wild: string): boolean {
  const suffix = wild.slice(1); // ".example.com"
  return name.length > suffix.length && name.endsWith(suffix);
}

/** The names a route with `routeHost` serves on a listener with
 *  `listenerHost` ("" for none), or null when they do not intersect. */
export function intersectHostname(listenerHost: string, routeHost: string): string | null {
  const l = listenerHost.toLowerCase();
  const r = routeHost.toLowerCase();
  if (l === '') return r;
  if (r === '') return l;
  if (l === r) return l;
  const lw = l.startsWith('*.');
  const rw = r.startsWith('*.');
  if (lw && !rw) return underWildcard(r, l) ? r : null;
  if (rw && !lw) return underWildcard(l, r) ? l : null;
  if (lw && rw) {
    // The narrower wildcard is the intersection.
    if (underWildcard(r.slice(2), l)) return r;
    if (underWildcard(l.slice(2), r)) return l;
  }
  return null;
}

/** Every name the route serves on the listener: "*" for every name. */
export function routeHostnames(listenerHost: string, routeHosts: string[]): string[] {
  if (routeHosts.length === 0) return [listenerHost === '' ? '*' : listenerHost.toLowerCase()];
  const out: string[] = [];
  for (const h of routeHosts) {
    const x = intersectHostname(listenerHost, h);
    if (x !== null && !out.includes(x)) out.push(x);
  }
  return out;
}
