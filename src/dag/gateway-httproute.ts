// HTTPRoutes attached to the Gateways isobar serves: for each parentRef,
// which listeners take the route (sectionName, port, allowedRoutes,
// hostname intersection), the parent's Accepted and ResolvedRefs
// conditions with the spec's reasons, and the proxy routes per host name.
import type { RouteParentStatus, RouteStatus } from '../status/index.ts';
import type { BackendContext } from './gateway-backends.ts';
import { CONTROLLER_NAME, GATEWAY_GROUP, condition } from './gateway-conditions.ts';
import { routeHostnames } from './gateway-hostnames.ts';
import type { GatewayState, ListenerState } from './gateway-listeners.ts';
import { ruleRoutes, type RouteRank, type RuleProblems } from './gateway-rules.ts';
import type { Route } from './proxy-config.ts';
import { arr, int, rec, str } from './safe.ts';

/** A proxy route placed on one host of one listener kind. */
export interface Placement {
  secure: boolean;
  fqdn: string;
  /** HTTPS: the listener's certificate. */
  secretId?: string;
  route: Route;
  rank: RouteRank;
  /** Orders routes of equal rank: the older route, then namespace/name. */
  creation: string;
  key: string;
}

export interface RouteResult {
  status: RouteStatus;
  placements: Placement[];
}

export function processHTTPRoute(raw: unknown, gateways: Map<string, GatewayState>, ctx: Omit<BackendContext, 'gateway' | 'clientCertificateId'>): RouteResult {
  const r = rec(raw) ?? {};
  const meta = rec(r.metadata) ?? {};
  const namespace = str(meta.namespace) || 'default';
  const name = str(meta.name);
  const generation = int(meta.generation);
  const creation = str(meta.creationTimestamp);
  const spec = rec(r.spec) ?? {};
  const hostnames = arr(spec.hostnames).map(str);
  const status: RouteStatus = { namespace, name, parents: [] };
  const placements: Placement[] = [];

  // Rules once per Gateway: their proxy routes are the same on every
  // listener of it (a Gateway's backend client certificate shapes its clusters).
  const rulesBy = new Map<GatewayState, ReturnType<typeof ruleRoutes>['routes']>();
  const problems: RuleProblems = {};
  const computeRules = (gw: GatewayState) => {
    let rules = rulesBy.get(gw);
    if (rules) return rules;
    rules = [];
    const gctx: BackendContext = { ...ctx, gateway: `${gw.namespace}/${gw.name}` };
    if (gw.clientCertificateId !== undefined) gctx.clientCertificateId = gw.clientCertificateId;
    for (const [ruleIndex, rule] of arr(spec.rules).entries()) {
      rules.push(...ruleRoutes({ rule: rec(rule) ?? {}, ruleIndex, routeNs: namespace, routeName: name }, gctx, problems).routes);
    }
    rulesBy.set(gw, rules);
    return rules;
  };

  for (const pr of arr(spec.parentRefs)) {
    const ref = rec(pr) ?? {};
    const group = typeof ref.group === 'string' ? ref.group : GATEWAY_GROUP;
    const kind = typeof ref.kind === 'string' ? ref.kind : 'Gateway';
    if (group !== GATEWAY_GROUP || kind !== 'Gateway') continue; // another controller's parent kind
    const gwNs = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : namespace;
    const gw = gateways.get(`${gwNs}/${str(ref.name)}`);
    if (!gw) continue; // not a Gateway isobar serves
    const parentRef: RouteParentStatus['parentRef'] = { group, kind, namespace: gwNs, name: str(ref.name) };
    const section = typeof ref.sectionName === 'string' ? ref.sectionName : undefined;
    const port = typeof ref.port === 'number' ? int(ref.port) : undefined;
    if (section !== undefined) parentRef.sectionName = section;
    if (port !== undefined) parentRef.port = port;
    const parent: RouteParentStatus = { parentRef, controllerName: CONTROLLER_NAME, conditions: [] };
    status.parents.push(parent);

    const rulesOut = computeRules(gw);
    const refs = problems.refs;
    const resolved = refs
      ? condition('ResolvedRefs', false, refs.reason, refs.message, generation)
      : condition('ResolvedRefs', true, 'ResolvedRefs', 'All references resolved', generation);
    const reject = (reason: string, message: string) => {
      parent.conditions = [condition('Accepted', false, reason, message, generation), resolved];
    };

    const candidates = gw.listeners.filter((l) => (section === undefined || l.name === section) && (port === undefined || l.port === port));
    if (candidates.length === 0) {
      const what = [section !== undefined ? `named "${section}"` : '', port !== undefined ? `on port ${port}` : ''].filter(Boolean).join(' ');
      reject('NoMatchingParent', `Gateway ${gwNs}/${gw.name} has no listener ${what}`);
      continue;
    }
    const allowed = candidates.filter((l) => l.usable && l.supportedKinds.includes('HTTPRoute') && l.allows(namespace));
    if (allowed.length === 0) {
      reject('NotAllowedByListeners', `no listener of Gateway ${gwNs}/${gw.name} that this parentRef names accepts HTTPRoutes from namespace ${namespace}`);
      continue;
    }
    const hosts = new Map<ListenerState, string[]>();
    for (const l of allowed) {
      const names = routeHostnames(l.hostname, hostnames);
      if (names.length > 0) hosts.set(l, names);
    }
    if (hosts.size === 0) {
      reject('NoMatchingListenerHostname', `no hostname of this HTTPRoute matches a listener hostname of Gateway ${gwNs}/${gw.name}`);
      continue;
    }
    if (problems.accepted) {
      reject(problems.accepted.reason, problems.accepted.message);
      continue;
    }
    parent.conditions = [condition('Accepted', true, 'Accepted', 'Accepted HTTPRoute', generation), resolved];
    for (const [l, names] of hosts) {
      l.attachedRoutes++;
      const secure = l.protocol === 'HTTPS';
      for (const fqdn of names) {
        for (const { route, rank } of rulesOut) {
          const p: Placement = { secure, fqdn, route: { ...route }, rank, creation, key: `${namespace}/${name}` };
          if (secure && l.secretId !== undefined) p.secretId = l.secretId;
          placements.push(p);
        }
      }
    }
  }
  return { status, placements };
}
