// build(): Snapshot + IsobarConfig -> ProxyConfig + HTTPProxy statuses.
// Pure and deterministic: every index is keyed, every output sorted, and
// roots are processed in namespace/name order.
import type { IsobarConfig } from '../config/index.ts';
import type { Snapshot } from '../objects/index.ts';
import type { HTTPProxyStatus } from '../status/index.ts';
import type { ProxyConfig } from './proxy-config.ts';
import type { NProxy } from './model.ts';
import { CacheView, NsMap } from './cache-view.ts';
import { HTTPProxyProcessor } from './httpproxy-processor.ts';
import { Output } from './output.ts';
import { readProxy } from './read.ts';
import { pkey } from './refs.ts';
import { arr, rec, str } from './safe.ts';
import { Condition, toStatus, ORPHANED_MESSAGE, type StatusEntry } from './status.ts';

interface RejectedProxy {
  namespace: string;
  name: string;
  errors: { path: string; message: string }[];
}

export interface DagResult {
  proxyConfig: ProxyConfig;
  statuses: HTTPProxyStatus[];
}


function byKey(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Ingress class matching: a configured class must match exactly;
 *  without one, proxies with no class or class "contour" are ours. */
function classMatches(p: NProxy, configured: string | undefined): boolean {
  if (configured) return p.ingressClass === configured;
  return p.ingressClass === '' || p.ingressClass === 'contour';
}

export function build(snapshot: Snapshot, config: IsobarConfig): DagResult {
  const snap: Snapshot = {
    httpproxies: arr(snapshot?.httpproxies) as Snapshot['httpproxies'],
    delegations: arr(snapshot?.delegations) as Snapshot['delegations'],
    services: arr(snapshot?.services) as Snapshot['services'],
    secrets: arr(snapshot?.secrets) as Snapshot['secrets'],
    endpoints: arr(snapshot?.endpoints) as Snapshot['endpoints'],
    endpointSlices: arr(snapshot?.endpointSlices) as Snapshot['endpointSlices'],
    rejected: arr(snapshot?.rejected) as Snapshot['rejected'],
  };
  const view = new CacheView(snap);
  const out = new Output();

  const proxies = new NsMap<NProxy>();
  const proxyList: NProxy[] = [];
  for (const raw of snap.httpproxies) {
    const p = readProxy(raw);
    if (!p || !classMatches(p, config.ingressClassName)) continue;
    if (proxies.get(p.namespace, p.name) !== undefined) continue; // one object per identity
    proxies.set(p.namespace, p.name, p);
    proxyList.push(p);
  }
  const rejected = new NsMap<RejectedProxy>();
  const rejectedList: RejectedProxy[] = [];
  for (const raw of snap.rejected) {
    const r = rec(raw);
    if (!r || str(r.kind) !== 'HTTPProxy' || str(r.name) === '') continue;
    const namespace = str(r.namespace) || 'default';
    const name = str(r.name);
    if (proxies.get(namespace, name) !== undefined || rejected.get(namespace, name) !== undefined) continue;
    const rp = { namespace, name, errors: arr(r.errors).map((e) => ({ path: str(rec(e)?.path), message: str(rec(e)?.message) })) };
    rejected.set(namespace, name, rp);
    rejectedList.push(rp);
  }

  // One status entry per normalised proxy, held on the proxy itself.
  const entries: StatusEntry[] = [];
  const entry = (p: NProxy): StatusEntry => {
    let e = p.status;
    if (!e) {
      e = { namespace: p.namespace, name: p.name, generation: p.generation, fqdn: '', cond: new Condition() };
      if (p.virtualhost?.tls && p.virtualhost.tls.secretName !== '') e.tlsSecret = p.virtualhost.tls.secretName;
      p.status = e;
      entries.push(e);
    }
    return e;
  };

  const processor = new HTTPProxyProcessor(view, config, proxies, rejected, out, {
    cond: (p) => entry(p).cond,
    setFqdn: (p, fqdn) => {
      entry(p).fqdn = fqdn;
    },
  });

  const sorted = proxyList.sort(byKey);
  for (const p of sorted) entry(p);

  // (i) roots grouped by lower-cased fqdn; duplicates are never processed.
  const byFqdn = new Map<string, NProxy>();
  const duplicates = new Map<string, NProxy[]>();
  for (const p of sorted) {
    if (!p.virtualhost) {
      // (ii) every non-root is an orphan until an include reaches it.
      processor.orphaned.add(p);
      continue;
    }
    const f = p.virtualhost.fqdn.toLowerCase();
    const first = byFqdn.get(f);
    if (!first) byFqdn.set(f, p);
    else {
      const list = duplicates.get(f);
      if (list) list.push(p);
      else duplicates.set(f, [first, p]);
    }
  }
  const roots: NProxy[] = [];
  for (const [fqdn, p] of byFqdn) if (!duplicates.has(fqdn)) roots.push(p);
  for (const [fqdn, list] of duplicates) {
    const names = list.map((p) => pkey(p.namespace, p.name)).sort();
    const msg = `fqdn "${fqdn}" is used in multiple HTTPProxies: ${names.join(', ')}`;
    for (const p of list) {
      const e = entry(p);
      e.fqdn = fqdn;
      e.cond.addError('VirtualHostError', 'DuplicateVhost', msg);
    }
  }
  // roots are in namespace/name order: groups were created in that order.

  // (iii) roots, each include visited clears the orphan mark.
  for (const root of roots) {
    try {
      processor.computeHTTPProxy(root);
    } catch (err) {
      // A defect must cost one HTTPProxy, never the whole configuration.
      entry(root).cond.addError(
        'SpecError',
        'InternalError',
        `isobar could not process this HTTPProxy: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  // (iv) whatever is still unreached is orphaned.
  for (const p of processor.orphaned) entry(p).cond.addError('Orphaned', 'Orphaned', ORPHANED_MESSAGE);

  // Any error may have dropped routes after their clusters were registered.
  if (entries.some((e) => e.cond.errors.length > 0)) out.mayHaveUnreachable = true;
  const statuses: HTTPProxyStatus[] = [];
  for (const e of entries) statuses.push(toStatus(e));
  for (const r of rejectedList) {
    const cond = new Condition();
    const errors = r.errors.length > 0 ? r.errors : [{ path: 'spec', message: 'rejected by the schema' }];
    for (const fe of errors) {
      const text = fe.path !== '' ? `${fe.path}: ${fe.message}` : fe.message;
      cond.addError('SpecError', 'SchemaInvalid', text);
    }
    statuses.push(toStatus({ namespace: r.namespace, name: r.name, generation: 0, fqdn: '', cond }));
  }
  // Entries were created in namespace/name order; only rejected proxies interleave.
  if (rejectedList.length > 0) statuses.sort(byKey);
  return { proxyConfig: out.finish(), statuses };
}
