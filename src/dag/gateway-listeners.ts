// Gateways and their listeners: which listeners isobar serves, with the
// Gateway API's conditions (Accepted, Programmed, ResolvedRefs, Conflicted)
// per listener and per Gateway. Routes attach later (gateway-httproute.ts)
// and count into attachedRoutes.
//
// isobar's proxy has one plain and one TLS listener, so every HTTP listener
// of the Gateways it serves shares one port, as every HTTPS listener does:
// the first port of each protocol (in Gateway order) is served, a listener
// asking for another port is refused with PortUnavailable.
import type { GatewayStatus, ListenerStatus } from '../status/index.ts';
import type { CacheView } from './cache-view.ts';
import type { ConfigMaps } from './gateway-backend-tls.ts';
import { ConditionSet, GATEWAY_GROUP, condition } from './gateway-conditions.ts';
import { readFrontend } from './gateway-frontend-tls.ts';
import type { ReferenceGrants } from './gateway-refs.ts';
import type { SecureVirtualHost } from './proxy-config.ts';
import { pkey } from './refs.ts';
import { arr, int, rec, str, strMap, type Rec } from './safe.ts';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';
const ROUTE_KINDS_FOR: Record<string, RouteKind[]> = { HTTP: ['HTTPRoute', 'GRPCRoute'], HTTPS: ['HTTPRoute', 'GRPCRoute'], TLS: ['TLSRoute'] };
/** The proxy listener a protocol is served on: TLS passthrough shares the
 *  TLS listener with HTTPS (told apart by SNI). */
const PROXY_LISTENER: Record<string, string> = { HTTP: 'HTTP', HTTPS: 'HTTPS', TLS: 'HTTPS' };
/** Protocols the Gateway API defines that isobar does not serve yet. */
const KNOWN_PROTOCOLS = new Set(['HTTP', 'HTTPS', 'TLS', 'TCP', 'UDP']);

export interface ListenerState {
  gateway: GatewayState;
  name: string;
  /** Lower-cased; "" for none. */
  hostname: string;
  port: number;
  protocol: 'HTTP' | 'HTTPS' | string;
  conds: ConditionSet;
  supportedKinds: RouteKind[];
  /** Whether routes may attach (accepted, refs resolved, no conflict). */
  usable: boolean;
  allows: (routeNamespace: string) => boolean;
  /** A TLS listener with tls.mode Terminate (HTTPS listeners always end TLS). */
  terminates?: true;
  /** HTTPS and terminating TLS: the certificate Secret's id in the ProxyConfig. */
  secretId?: string;
  /** HTTPS: the client certificate validation of spec.tls.frontend. */
  clientValidation?: NonNullable<SecureVirtualHost['clientValidation']>;
  attachedRoutes: number;
}

export interface GatewayState {
  namespace: string;
  name: string;
  generation: number;
  conds: ConditionSet;
  listeners: ListenerState[];
  /** spec.backendTLS.clientCertificateRef, as a TlsSecret id. */
  clientCertificateId?: string;
}

export interface GatewayContext {
  view: CacheView;
  grants: ReferenceGrants;
  /** Namespace name -> its labels (Namespaces the snapshot holds). */
  namespaceLabels: Map<string, Record<string, string>>;
  /** Adds a certificate Secret to the output. */
  addSecret: (id: string, certPem: string, keyPem: string) => void;
  /** Adds a CA bundle (client validation) to the output. */
  addCaBundle: (id: string, caPem: string) => void;
  configMaps: ConfigMaps;
  /** The port served for each protocol, fixed by the first listener asking. */
  ports: Map<string, number>;
}

/** A metav1.LabelSelector as a predicate; null when it cannot be read. */
export function labelSelector(raw: unknown): ((labels: Record<string, string>) => boolean) | null {
  const sel = rec(raw);
  if (!sel) return () => true;
  const matchLabels = strMap(sel.matchLabels);
  const exprs: ((l: Record<string, string>) => boolean)[] = [];
  for (const e of arr(sel.matchExpressions)) {
    const r = rec(e);
    const key = str(r?.key);
    const values = arr(r?.values).map(str);
    switch (str(r?.operator)) {
      case 'In':
        exprs.push((l) => Object.hasOwn(l, key) && values.includes(l[key]!));
        break;
      case 'NotIn':
        exprs.push((l) => !Object.hasOwn(l, key) || !values.includes(l[key]!));
        break;
      case 'Exists':
        exprs.push((l) => Object.hasOwn(l, key));
        break;
      case 'DoesNotExist':
        exprs.push((l) => !Object.hasOwn(l, key));
        break;
      default:
        return null;
    }
  }
  return (labels) => {
    for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
    return exprs.every((f) => f(labels));
  };
}

function readListener(gw: GatewayState, raw: Rec, ctx: GatewayContext): ListenerState {
  const conds = new ConditionSet();
  const protocol = str(raw.protocol);
  const l: ListenerState = {
    gateway: gw,
    name: str(raw.name),
    hostname: str(raw.hostname).toLowerCase(),
    port: int(raw.port),
    protocol,
    conds,
    supportedKinds: [],
    usable: false,
    allows: () => false,
    attachedRoutes: 0,
  };
  if (l.port < 1 || l.port > 65535) {
    conds.set('Accepted', 'UnsupportedValue', `port ${String(raw.port)} is not in 1-65535`);
    return l;
  }
  const kinds = ROUTE_KINDS_FOR[protocol];
  if (!kinds) {
    const why = KNOWN_PROTOCOLS.has(protocol) ? `isobar does not serve ${protocol} listeners yet` : `protocol "${protocol}" is not one isobar knows`;
    conds.set('Accepted', 'UnsupportedProtocol', `${why}; use HTTP, HTTPS or TLS`);
    return l;
  }

  // allowedRoutes.kinds: the kinds asked for that the protocol carries.
  const allowed = rec(raw.allowedRoutes);
  const askedKinds = arr(allowed?.kinds).map(rec);
  if (askedKinds.length === 0) l.supportedKinds = [...kinds];
  else {
    const bad: string[] = [];
    for (const k of askedKinds) {
      const group = rec(k) && Object.hasOwn(k!, 'group') ? str(k!.group) : GATEWAY_GROUP;
      const kind = str(k?.kind);
      if (group === GATEWAY_GROUP && (kinds as string[]).includes(kind)) {
        if (!l.supportedKinds.includes(kind as RouteKind)) l.supportedKinds.push(kind as RouteKind);
      } else bad.push(`${group}/${kind}`);
    }
    if (bad.length > 0) conds.set('ResolvedRefs', 'InvalidRouteKinds', `route kinds not supported on a ${protocol} listener: ${bad.join(', ')}`);
  }

  // allowedRoutes.namespaces
  const nsRule = rec(allowed?.namespaces);
  const from = nsRule && typeof nsRule.from === 'string' ? nsRule.from : 'Same';
  switch (from) {
    case 'All':
      l.allows = () => true;
      break;
    case 'Same':
      l.allows = (ns) => ns === gw.namespace;
      break;
    case 'None':
      l.allows = () => false;
      break;
    case 'Selector': {
      const match = labelSelector(nsRule?.selector);
      if (!match) conds.set('Accepted', 'UnsupportedValue', 'allowedRoutes.namespaces.selector has an operator that is not In, NotIn, Exists or DoesNotExist');
      else l.allows = (ns) => match(ctx.namespaceLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns });
      break;
    }
    default:
      conds.set('Accepted', 'UnsupportedValue', `allowedRoutes.namespaces.from "${from}" is not All, Same, Selector or None`);
  }

  const tls = rec(raw.tls);
  if (protocol === 'HTTPS') readTls(l, tls, ctx);
  else if (protocol === 'TLS') {
    const mode = typeof tls?.mode === 'string' ? tls.mode : 'Terminate';
    if (mode === 'Terminate') {
      // TLS ends here and the TLSRoute's backends get the decrypted stream.
      l.terminates = true;
      readTls(l, tls, ctx);
    } else if (mode !== 'Passthrough') conds.set('Accepted', 'UnsupportedValue', `tls.mode "${mode}" is not Terminate or Passthrough`);
  } else if (tls) conds.set('Accepted', 'UnsupportedValue', 'tls is set on an HTTP listener: use protocol HTTPS to terminate TLS');
  return l;
}

/** An HTTPS (or terminating TLS) listener's tls: Terminate with the first certificateRef. */
function readTls(l: ListenerState, tls: Rec | null, ctx: GatewayContext): void {
  const conds = l.conds;
  if (!tls) {
    conds.set('Accepted', 'UnsupportedValue', `a ${l.protocol} listener that terminates TLS needs tls.certificateRefs`);
    return;
  }
  const mode = typeof tls.mode === 'string' ? tls.mode : 'Terminate';
  if (mode !== 'Terminate') {
    conds.set('Accepted', 'UnsupportedValue', `tls.mode "${mode}" is not supported on an HTTPS listener (TLS passthrough needs protocol TLS)`);
    return;
  }
  if (Object.keys(strMap(tls.options)).length > 0) {
    conds.set('Accepted', 'UnsupportedValue', 'tls.options are not supported: isobar would not apply them');
    return;
  }
  if (tls.frontendValidation !== undefined) {
    // Client certificate validation restricts who may connect: never served without it.
    conds.set('Accepted', 'UnsupportedValue', 'tls.frontendValidation on a listener is not supported: client certificate validation is the Gateway\'s spec.tls.frontend');
    return;
  }
  const refs = arr(tls.certificateRefs).map(rec);
  if (refs.length === 0) {
    conds.set('ResolvedRefs', 'InvalidCertificateRef', 'tls.certificateRefs is empty: name a kubernetes.io/tls Secret');
    return;
  }
  const ref = refs[0] ?? {};
  const group = str(ref.group);
  const kind = typeof ref.kind === 'string' ? ref.kind : 'Secret';
  const name = str(ref.name);
  const namespace = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : l.gateway.namespace;
  if (group !== '' || kind !== 'Secret') {
    conds.set('ResolvedRefs', 'InvalidCertificateRef', `certificateRefs[0] names ${group === '' ? 'core' : group}/${kind}: only core Secrets are supported`);
    return;
  }
  if (!ctx.grants.permitted({ group: GATEWAY_GROUP, kind: 'Gateway', namespace: l.gateway.namespace }, { group: '', kind: 'Secret', namespace, name })) {
    conds.set('ResolvedRefs', 'RefNotPermitted', `Secret ${namespace}/${name} is in another namespace and no ReferenceGrant there allows this Gateway to use it`);
    return;
  }
  const secret = ctx.view.tlsSecret(namespace, name);
  if (!secret.ok) {
    conds.set('ResolvedRefs', 'InvalidCertificateRef', `Secret ${namespace}/${name}: ${secret.error}`);
    return;
  }
  const id = pkey(namespace, name);
  ctx.addSecret(id, secret.value.certPem, secret.value.keyPem);
  l.secretId = id;
}

/** spec.backendTLS.clientCertificateRef: the certificate the proxy shows
 *  backends that a BackendTLSPolicy validates (Contour's envoy-client-certificate). */
function readClientCertificate(gw: GatewayState, ref: Rec, ctx: GatewayContext): void {
  const group = str(ref.group);
  const kind = typeof ref.kind === 'string' ? ref.kind : 'Secret';
  const name = str(ref.name);
  const namespace = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : gw.namespace;
  if (group !== '' || kind !== 'Secret') {
    gw.conds.set('ResolvedRefs', 'InvalidClientCertificateRef', `spec.backendTLS.clientCertificateRef names ${group === '' ? 'core' : group}/${kind}: only core Secrets are supported`);
    return;
  }
  if (!ctx.grants.permitted({ group: GATEWAY_GROUP, kind: 'Gateway', namespace: gw.namespace }, { group: '', kind: 'Secret', namespace, name })) {
    gw.conds.set('ResolvedRefs', 'RefNotPermitted', `client certificate Secret ${namespace}/${name} is in another namespace and no ReferenceGrant there allows this Gateway to use it`);
    return;
  }
  const secret = ctx.view.tlsSecret(namespace, name);
  if (!secret.ok) {
    gw.conds.set('ResolvedRefs', 'InvalidClientCertificateRef', `client certificate Secret ${namespace}/${name}: ${secret.error}`);
    return;
  }
  const id = pkey(namespace, name);
  ctx.addSecret(id, secret.value.certPem, secret.value.keyPem);
  gw.clientCertificateId = id;
}

/** Conflicts inside one Gateway: two listeners on one port with different
 *  protocols, or with the same protocol and hostname. */
function markConflicts(listeners: ListenerState[]): void {
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const a = listeners[i]!;
      const b = listeners[j]!;
      if (a.port !== b.port) continue;
      if (PROXY_LISTENER[a.protocol] !== PROXY_LISTENER[b.protocol]) {
        for (const l of [a, b]) l.conds.set('Conflicted', 'ProtocolConflict', `port ${a.port} is used by listeners of protocols ${a.protocol} and ${b.protocol}`, true);
      } else if (a.hostname === b.hostname) {
        const h = a.hostname === '' ? 'no hostname' : `hostname "${a.hostname}"`;
        for (const l of [a, b]) l.conds.set('Conflicted', 'HostnameConflict', `listeners "${a.name}" and "${b.name}" share port ${a.port} and ${h}`, true);
      }
    }
  }
}

/** A Gateway of an accepted class: its listeners and conditions. */
export function readGateway(raw: unknown, ctx: GatewayContext): GatewayState {
  const r = rec(raw) ?? {};
  const meta = rec(r.metadata);
  const spec = rec(r.spec) ?? {};
  const gw: GatewayState = {
    namespace: str(meta?.namespace) || 'default',
    name: str(meta?.name),
    generation: int(meta?.generation),
    conds: new ConditionSet(),
    listeners: [],
  };
  for (const lr of arr(spec.listeners)) gw.listeners.push(readListener(gw, rec(lr) ?? {}, ctx));
  markConflicts(gw.listeners);
  for (const l of gw.listeners) {
    if (l.conds.has('Accepted')) continue;
    const proxyListener = PROXY_LISTENER[l.protocol] ?? l.protocol;
    const served = ctx.ports.get(proxyListener);
    if (served === undefined) ctx.ports.set(proxyListener, l.port);
    else if (served !== l.port) {
      const which = proxyListener === 'HTTP' ? 'HTTP' : 'HTTPS and TLS';
      l.conds.set('Accepted', 'PortUnavailable', `isobar serves every ${which} listener on one port, ${served}; move this listener to port ${served}`);
    }
  }

  if (arr(spec.addresses).length > 0) gw.conds.set('Accepted', 'UnsupportedAddress', 'spec.addresses is not supported: isobar does not assign addresses to Gateways');
  if (rec(rec(spec.infrastructure)?.parametersRef)) gw.conds.set('Accepted', 'InvalidParameters', 'spec.infrastructure.parametersRef is not supported');
  const tls = spec.tls === undefined ? {} : rec(spec.tls);
  if (!tls) gw.conds.set('Accepted', 'ListenersNotValid', 'spec.tls must be an object');
  for (const k of Object.keys(tls ?? {})) if (k !== 'backend' && k !== 'frontend') gw.conds.set('Accepted', 'ListenersNotValid', `spec.tls.${k} is not supported`);
  // spec.tls.backend is the standard place; spec.backendTLS an earlier experimental one.
  const clientRef = rec(rec(tls?.backend)?.clientCertificateRef) ?? rec(rec(spec.backendTLS)?.clientCertificateRef);
  if (clientRef) readClientCertificate(gw, clientRef, ctx);
  applyFrontend(gw, tls?.frontend, ctx);
  const gatewayOk = !gw.conds.has('Accepted');
  for (const l of gw.listeners) {
    // A listener that ends TLS is served only with its certificate.
    const endsTls = l.protocol === 'HTTPS' || l.terminates === true;
    l.usable = gatewayOk && !l.conds.has('Accepted') && !l.conds.has('Conflicted') && !(endsTls && l.secretId === undefined);
  }
  if (gatewayOk && gw.listeners.some((l) => !l.usable)) {
    const valid = gw.listeners.some((l) => l.usable);
    gw.conds.set('Accepted', 'ListenersNotValid', 'one or more listeners are not valid: see their conditions', valid);
  }
  return gw;
}

/** spec.tls.frontend onto the Gateway's HTTPS listeners, port by port. */
function applyFrontend(gw: GatewayState, raw: unknown, ctx: GatewayContext): void {
  const forPort = readFrontend(raw, gw.namespace, ctx);
  if (typeof forPort === 'string') {
    gw.conds.set('Accepted', 'ListenersNotValid', forPort);
    return;
  }
  for (const l of gw.listeners) {
    if (l.protocol !== 'HTTPS') continue;
    const v = forPort(l.port);
    if (!v) continue;
    if (v.problem) l.conds.set('ResolvedRefs', v.problem.reason, v.problem.message);
    if (!v.ca) {
      l.conds.set('Accepted', 'NoValidCACertificate', `${v.where}: no caCertificateRef names a valid CA certificate, and client certificate validation is never left out`);
      continue;
    }
    ctx.addCaBundle(v.ca.id, v.ca.pem);
    l.clientValidation = v.insecureFallback
      ? { caBundleId: v.ca.id, skipVerification: true, optional: true }
      : { caBundleId: v.ca.id, skipVerification: false, optional: false };
  }
}

const KIND_REFS: Record<RouteKind, { group: string; kind: string }> = {
  HTTPRoute: { group: GATEWAY_GROUP, kind: 'HTTPRoute' },
  GRPCRoute: { group: GATEWAY_GROUP, kind: 'GRPCRoute' },
  TLSRoute: { group: GATEWAY_GROUP, kind: 'TLSRoute' },
};

function listenerStatus(l: ListenerState, gen: number): ListenerStatus {
  const c = l.conds;
  const accepted = c.get('Accepted', 'Accepted', 'Listener accepted', gen);
  const conflicted = c.has('Conflicted') ? c.get('Conflicted', '', '', gen) : condition('Conflicted', false, 'NoConflicts', 'No conflicts', gen);
  const resolved = c.get('ResolvedRefs', 'ResolvedRefs', 'All references resolved', gen);
  const programmed = l.usable ? condition('Programmed', true, 'Programmed', 'Listener programmed', gen) : condition('Programmed', false, 'Invalid', 'Listener is not programmed: see its other conditions', gen);
  return {
    name: l.name,
    supportedKinds: l.supportedKinds.map((k) => KIND_REFS[k]),
    attachedRoutes: l.attachedRoutes,
    conditions: [accepted, programmed, resolved, conflicted],
  };
}

export function gatewayStatus(gw: GatewayState): GatewayStatus {
  const gen = gw.generation;
  const accepted = gw.conds.get('Accepted', 'Accepted', 'Gateway accepted', gen);
  const programmed =
    accepted.status !== 'True'
      ? condition('Programmed', false, 'Invalid', 'Gateway is not programmed: see its Accepted condition', gen)
      : gw.conds.has('Programmed')
        ? gw.conds.get('Programmed', '', '', gen)
        : condition('Programmed', true, 'Programmed', 'Gateway programmed', gen);
  const conditions = [accepted, programmed];
  if (gw.conds.has('ResolvedRefs') || gw.clientCertificateId !== undefined) conditions.push(gw.conds.get('ResolvedRefs', 'ResolvedRefs', 'All references resolved', gen));
  return { namespace: gw.namespace, name: gw.name, addresses: [], conditions, listeners: gw.listeners.map((l) => listenerStatus(l, gen)) };
}
