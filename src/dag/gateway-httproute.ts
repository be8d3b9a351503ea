// Routes attached to the Gateways isobar serves (HTTPRoute, GRPCRoute,
// TLSRoute): for each parentRef, which listeners take the route
// (sectionName, port, allowedRoutes, hostname intersection), the parent's
// Accepted and ResolvedRefs conditions with the spec's reasons, and what
// the route becomes per host name: proxy routes (HTTP and gRPC) or a TLS
// passthrough forward (TLSRoute).
import type { RouteParentStatus, RouteStatus } from '../status/index.ts';
import { resolveBackend, type BackendContext } from './gateway-backends.ts';
import { CONTROLLER_NAME, GATEWAY_GROUP, condition } from './gateway-conditions.ts';
import { grpcRuleAsHttp } from './gateway-grpc.ts';
import { routeHostnames } from './gateway-hostnames.ts';
import { tlsGroupOf, type GatewayState, type ListenerState, type RouteKind } from './gateway-listeners.ts';
import { ruleRoutes, type RouteRank, type RuleProblems } from './gateway-rules.ts';
import type { Route, TcpForward, WeightedCluster } from './proxy-config.ts';
import { arr, int, rec, str, type Rec } from './safe.ts';

/** What a route puts on one host of one proxy listener. */
export interface Placement {
  secure: boolean;
  fqdn: string;
  /** The port listener of the host (ListenerState.proxyListener); absent: the proxy's own. */
  listener?: string;
  /** HTTPS: the listener's certificate and client validation. */
  secretId?: string;
  clientValidation?: ListenerState['clientValidation'];
  /** HTTPS: the Gateway listener (SecureVirtualHost.tlsGroup). */
  tlsGroup?: string;
  /** A proxy route (HTTPRoute, GRPCRoute), with its precedence facts... */
  route?: Route;
  rank?: RouteRank;
  /** ...or the TLS passthrough forward of a TLSRoute, or its forward of
   *  the decrypted stream on a listener that terminates TLS... */
  passthrough?: TcpForward;
  tcpProxy?: TcpForward;
  /** ...or a TCPRoute's forward of every connection to its TCP listener. */
  tcp?: TcpForward;
  /** Orders routes of equal rank: the older route, then namespace/name. */
  creation: string;
  key: string;
  /** The route's status for the parentRef that placed it (a host it is
   *  kept off is said there). */
  parent?: RouteParentStatus;
}

export interface RouteResult {
  status: RouteStatus;
  placements: Placement[];
}

type Ctx = Omit<BackendContext, 'gateway' | 'clientCertificateId'>;

/** What a route of one kind becomes on the listeners of one Gateway. */
type Content = { routes: { route: Route; rank: RouteRank }[] } | { forward: TcpForward | null };

function contentFor(kind: RouteKind, spec: Rec, namespace: string, name: string, ctx: BackendContext, problems: RuleProblems, terminated: boolean): Content {
  if (kind === 'TLSRoute') return { forward: streamForward(kind, spec, namespace, ctx, problems, terminated ? undefined : 'passthrough') };
  // TCPRoute: the bytes as they come, to plain TCP backends (Contour applies
  // no BackendTLSPolicy to them).
  if (kind === 'TCPRoute') return { forward: streamForward(kind, spec, namespace, ctx, problems, 'passthrough') };
  const routes: { route: Route; rank: RouteRank }[] = [];
  for (const [ruleIndex, raw] of arr(spec.rules).entries()) {
    const rule = kind === 'GRPCRoute' ? grpcRuleAsHttp(rec(raw) ?? {}, ruleIndex, problems) : (rec(raw) ?? {});
    routes.push(...ruleRoutes({ rule, ruleIndex, routeNs: namespace, routeName: name, routeKind: kind }, ctx, problems).routes);
  }
  return { routes };
}

/** A TLSRoute's or TCPRoute's backends (the first rule's; the spec allows
 *  one): for a TLSRoute the client's TLS passed through, or, `mode`
 *  undefined, the decrypted stream (TLS again to a backend a
 *  BackendTLSPolicy targets); for a TCPRoute the connection's bytes. */
function streamForward(kind: RouteKind, spec: Rec, namespace: string, ctx: BackendContext, problems: RuleProblems, mode: 'passthrough' | undefined): TcpForward | null {
  const rules = arr(spec.rules);
  if (rules.length > 1) problems.accepted ??= { reason: 'UnsupportedValue', message: `a ${kind} has one rule` };
  const clusters: WeightedCluster[] = [];
  for (const raw of arr(rec(rules[0])?.backendRefs)) {
    const b = rec(raw) ?? {};
    const weight = typeof b.weight === 'number' ? int(b.weight) : 1;
    const r = resolveBackend(ctx, b, namespace, kind, mode);
    if ('reason' in r) {
      problems.refs ??= r;
      continue;
    }
    if ('unreachable' in r || weight === 0) continue;
    clusters.push({ cluster: r.cluster, weight, requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] } });
  }
  // No backend that resolves: the connection is refused (no passthrough).
  return clusters.length > 0 ? { clusters } : null;
}

export function processRoute(kind: RouteKind, raw: unknown, gateways: Map<string, GatewayState>, ctx: Ctx): RouteResult {
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

  // Content once per Gateway: it is the same on every listener of it (a
  // Gateway's backend client certificate shapes its clusters).
  // A TLSRoute's content depends on the listener too: passed through or
  // terminated.
  const contentBy = new Map<string, Content>();
  const problems: RuleProblems = {};
  const computeContent = (gw: GatewayState, terminated = false): Content => {
    const key = `${gw.namespace}/${gw.name}${terminated ? '/terminated' : ''}`;
    let c = contentBy.get(key);
    if (c) return c;
    const gctx: BackendContext = { ...ctx, gateway: `${gw.namespace}/${gw.name}` };
    if (gw.clientCertificateId !== undefined) gctx.clientCertificateId = gw.clientCertificateId;
    c = contentFor(kind, spec, namespace, name, gctx, problems, terminated);
    contentBy.set(key, c);
    return c;
  };

  for (const pr of arr(spec.parentRefs)) {
    const ref = rec(pr) ?? {};
    const group = typeof ref.group === 'string' ? ref.group : GATEWAY_GROUP;
    const parentKind = typeof ref.kind === 'string' ? ref.kind : 'Gateway';
    if (group !== GATEWAY_GROUP || parentKind !== 'Gateway') continue; // another controller's parent kind
    const gwNs = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : namespace;
    const gw = gateways.get(`${gwNs}/${str(ref.name)}`);
    if (!gw) continue; // not a Gateway isobar serves
    const parentRef: RouteParentStatus['parentRef'] = { group, kind: parentKind, namespace: gwNs, name: str(ref.name) };
    const section = typeof ref.sectionName === 'string' ? ref.sectionName : undefined;
    const port = typeof ref.port === 'number' ? int(ref.port) : undefined;
    if (section !== undefined) parentRef.sectionName = section;
    if (port !== undefined) parentRef.port = port;
    const parent: RouteParentStatus = { parentRef, controllerName: CONTROLLER_NAME, conditions: [] };
    status.parents.push(parent);

    const candidates = gw.listeners.filter((l) => (section === undefined || l.name === section) && (port === undefined || l.port === port));
    const content = computeContent(gw);
    if (kind === 'TLSRoute' && candidates.some((l) => l.terminates)) computeContent(gw, true);
    const refs = problems.refs;
    const resolved = refs
      ? condition('ResolvedRefs', false, refs.reason, refs.message, generation)
      : condition('ResolvedRefs', true, 'ResolvedRefs', 'All references resolved', generation);
    const reject = (reason: string, message: string) => {
      parent.conditions = [condition('Accepted', false, reason, message, generation), resolved];
    };

    if (candidates.length === 0) {
      const what = [section !== undefined ? `named "${section}"` : '', port !== undefined ? `on port ${port}` : ''].filter(Boolean).join(' ');
      reject('NoMatchingParent', `Gateway ${gwNs}/${gw.name} has no listener ${what}`);
      continue;
    }
    const allowed = candidates.filter((l) => l.attachable && l.supportedKinds.includes(kind) && l.allows(namespace));
    if (allowed.length === 0) {
      reject('NotAllowedByListeners', `no listener of Gateway ${gwNs}/${gw.name} that this parentRef names accepts ${kind}s from namespace ${namespace}`);
      continue;
    }
    const hosts = new Map<ListenerState, string[]>();
    for (const l of allowed) {
      // A TCPRoute has no hostnames: it takes the whole listener.
      const names = kind === 'TCPRoute' ? ['*'] : routeHostnames(l.hostname, hostnames);
      if (names.length > 0) hosts.set(l, names);
    }
    if (hosts.size === 0) {
      reject('NoMatchingListenerHostname', `no hostname of this ${kind} matches a listener hostname of Gateway ${gwNs}/${gw.name}`);
      continue;
    }
    if (problems.accepted) {
      reject(problems.accepted.reason, problems.accepted.message);
      continue;
    }
    parent.conditions = [condition('Accepted', true, 'Accepted', `Accepted ${kind}`, generation), resolved];
    for (const [l, names] of hosts) {
      l.attachedRoutes++;
      if (!l.usable) continue; // attached, not served: its certificate does not resolve
      const secure = l.protocol !== 'HTTP';
      for (const fqdn of names) {
        const base: Placement = { secure, fqdn, creation, key: `${namespace}/${name}`, parent };
        if (l.proxyListener !== undefined) base.listener = l.proxyListener;
        if (kind === 'TCPRoute') {
          if ('forward' in content && content.forward) placements.push({ ...base, tcp: content.forward });
          continue;
        }
        if (l.terminates) {
          const c = computeContent(gw, true);
          if ('forward' in c && c.forward && l.secretId !== undefined) placements.push({ ...base, tcpProxy: c.forward, secretId: l.secretId });
          continue;
        }
        if ('forward' in content) {
          if (content.forward) placements.push({ ...base, passthrough: content.forward });
          continue;
        }
        for (const { route, rank } of content.routes) {
          const p: Placement = { ...base, route: { ...route }, rank };
          // A redirect naming neither scheme nor port goes to the port of the
          // Gateway listener the request came in on (the spec's rule;
          // HTTPRouteRedirectPortAndScheme), whatever port the proxy binds.
          const a = route.action;
          if (a.kind === 'redirect' && a.scheme === undefined && a.port === undefined) p.route!.action = { ...a, port: l.port };
          if (secure && l.secretId !== undefined) p.secretId = l.secretId;
          if (secure && l.clientValidation) p.clientValidation = l.clientValidation;
          if (secure) p.tlsGroup = tlsGroupOf(gw, l);
          placements.push(p);
        }
      }
    }
  }
  return { status, placements };
}
