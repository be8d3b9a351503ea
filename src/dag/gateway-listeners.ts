// Gateways and their listeners: which listeners isobar serves, with the
// Gateway API's conditions (Accepted, Programmed, ResolvedRefs, Conflicted)
// per listener and per Gateway. Routes attach later (gateway-httproute.ts)
// and count into attachedRoutes.
//
// Ports, as Contour's Envoy has them: the first HTTP port and the first
// HTTPS/TLS port (in Gateway order) are the proxy's own two listeners
// (--http-port, --https-port); every further port, and every TCP port, is a
// port listener of its own (PortListener in the ProxyConfig), named as
// Contour names its Envoy listeners (http-81, https-444, tcp-5000) and bound
// where Contour's Envoy binds it (gatewayBindPort). Listeners of one port
// share it, across Gateways too, when their protocols go together.
import type { GatewayStatus, ListenerStatus } from '../status/index.ts';
import type { CacheView } from './cache-view.ts';
import type { ConfigMaps } from './gateway-backend-tls.ts';
import { ConditionSet, GATEWAY_GROUP, condition } from './gateway-conditions.ts';
import { readFrontend } from './gateway-frontend-tls.ts';
import type { ReferenceGrants } from './gateway-refs.ts';
import type { PortListener, SecureVirtualHost } from './proxy-config.ts';
import { pkey } from './refs.ts';
import { arr, int, rec, str, strMap, type Rec } from './safe.ts';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute';
const ROUTE_KINDS_FOR: Record<string, RouteKind[]> = { HTTP: ['HTTPRoute', 'GRPCRoute'], HTTPS: ['HTTPRoute', 'GRPCRoute'], TLS: ['TLSRoute'], TCP: ['TCPRoute'] };
/** The proxy listener a protocol is served on: TLS passthrough shares the
 *  TLS listener with HTTPS (told apart by SNI). */
const PROXY_LISTENER: Record<string, 'HTTP' | 'HTTPS' | 'TCP'> = { HTTP: 'HTTP', HTTPS: 'HTTPS', TLS: 'HTTPS', TCP: 'TCP' };

/** Where the proxy binds a port listener: Contour's container port (the
 *  Gateway port + 8000, wrapping past 65535 and skipping 1-1023), so port
 *  81 is served on 8081 as Contour's Envoy serves it. */
export function gatewayBindPort(port: number): number {
  let p = port + 8000;
  if (p > 65535) p -= 65535;
  if (p <= 1023) p += 1023;
  return p;
}
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
  /** Whether the listener is served (accepted, refs resolved, no conflict). */
  usable: boolean;
  /** Whether routes attach to it and count in attachedRoutes: accepted and
   *  not conflicted, even with refs that do not resolve (the spec: attachment
   *  depends on allowedRoutes and parentRefs only). Only a usable listener
   *  serves them. */
  attachable: boolean;
  allows: (routeNamespace: string) => boolean;
  /** A TLS listener with tls.mode Terminate (HTTPS listeners always end TLS). */
  terminates?: true;
  /** HTTPS and terminating TLS: the certificate Secret's id in the ProxyConfig. */
  secretId?: string;
  /** HTTPS: the client certificate validation of spec.tls.frontend. */
  clientValidation?: NonNullable<SecureVirtualHost['clientValidation']>;
  /** The port listener that serves this one (PortListener.name); absent:
   *  the proxy's own HTTP or HTTPS listener. */
  proxyListener?: string;
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
  /** A listener validates client certificates in AllowInsecureFallback mode. */
  insecureFrontend?: true;
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
  /** The port of the proxy's own HTTP and HTTPS listeners, fixed by the first listener asking. */
  ports: Map<string, number>;
  /** Every Gateway port served so far -> the proxy listener kind it is (HTTP, HTTPS, TCP). */
  portKinds: Map<number, string>;
  /** The port listeners, by name, and their bind ports. */
  portListeners: Map<string, PortListener>;
  bindPorts: Map<number, string>;
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
    attachable: false,
    allows: () => false,
    attachedRoutes: 0,
  };
  if (l.port < 1 || l.port > 65535) {
    conds.set('Accepted', 'UnsupportedValue', `port ${JSON.stringify(raw.port)} is not in 1-65535`);
    return l;
  }
  const kinds = ROUTE_KINDS_FOR[protocol];
  if (!kinds) {
    const why = KNOWN_PROTOCOLS.has(protocol) ? `isobar does not serve ${protocol} listeners` : `protocol "${protocol}" is not one isobar knows`;
    conds.set('Accepted', 'UnsupportedProtocol', `${why}; use HTTP, HTTPS, TLS or TCP`);
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
  } else if (tls) conds.set('Accepted', 'UnsupportedValue', `tls is set on a ${protocol} listener: use protocol HTTPS (or TLS) to terminate TLS`);
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

/** Which proxy listener serves `l`: the proxy's own HTTP or HTTPS one
 *  for the first port of its kind, else a port listener of its own. */
function assignPort(l: ListenerState, ctx: GatewayContext): void {
  const kind = PROXY_LISTENER[l.protocol]!;
  const claimed = ctx.portKinds.get(l.port);
  if (claimed !== undefined && claimed !== kind) {
    l.conds.set('Accepted', 'PortUnavailable', `port ${l.port} is already served as ${claimed} for a listener of an older Gateway; a ${l.protocol} listener cannot share it`);
    return;
  }
  const own = kind === 'TCP' ? undefined : ctx.ports.get(kind);
  if (kind !== 'TCP' && (own === undefined || own === l.port)) {
    ctx.ports.set(kind, l.port);
    ctx.portKinds.set(l.port, kind);
    return;
  }
  const name = `${kind.toLowerCase()}-${l.port}`;
  const bindPort = gatewayBindPort(l.port);
  const holder = ctx.bindPorts.get(bindPort);
  if (holder !== undefined && holder !== name) {
    // Contour's words: two Gateway ports with one container port.
    l.conds.set('Accepted', 'PortUnavailable', `Listener port conflicts with a previous Listener's port: ports ${l.port} and ${holder.slice(holder.indexOf('-') + 1)} are both served on ${bindPort}`);
    return;
  }
  ctx.portKinds.set(l.port, kind);
  ctx.bindPorts.set(bindPort, name);
  if (!ctx.portListeners.has(name)) ctx.portListeners.set(name, { name, port: l.port, bindPort, protocol: kind === 'HTTP' ? 'http' : kind === 'HTTPS' ? 'https' : 'tcp' });
  l.proxyListener = name;
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
  for (const l of gw.listeners) if (!l.conds.has('Accepted') && !l.conds.has('Conflicted')) assignPort(l, ctx);

  // spec.addresses as Contour reads them: the Gateway is served whatever
  // they say, and is Programmed only once one of them is among its status
  // addresses (the edge checks that: gatewayAddressAssigned). A type
  // isobar does not know cannot ever be assigned: UnsupportedAddress.
  for (const a of arr(spec.addresses)) {
    const type = str(rec(a)?.type) || 'IPAddress';
    if (type !== 'IPAddress' && type !== 'Hostname') gw.conds.set('Accepted', 'UnsupportedAddress', `spec.addresses: type "${type}" is not supported: only IPAddress and Hostname`);
  }
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
    l.attachable = gatewayOk && !l.conds.has('Accepted') && !l.conds.has('Conflicted');
    l.usable = l.attachable && !(endsTls && l.secretId === undefined);
  }
  // The spec's reading (GatewayInvalidListenersUnsupportedProtocol checks
  // it), not Contour's (Accepted whatever the listeners, Programmed False):
  // Accepted names ListenersNotValid, False when no listener is left.
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
    if (v.insecureFallback) gw.insecureFrontend = true;
    l.clientValidation = v.insecureFallback
      ? { caBundleId: v.ca.id, skipVerification: true, optional: true }
      : { caBundleId: v.ca.id, skipVerification: false, optional: false };
  }
}

const KIND_REFS: Record<RouteKind, { group: string; kind: string }> = {
  HTTPRoute: { group: GATEWAY_GROUP, kind: 'HTTPRoute' },
  GRPCRoute: { group: GATEWAY_GROUP, kind: 'GRPCRoute' },
  TLSRoute: { group: GATEWAY_GROUP, kind: 'TLSRoute' },
  TCPRoute: { group: GATEWAY_GROUP, kind: 'TCPRoute' },
};

function listenerStatus(l: ListenerState, gen: number): ListenerStatus {
  const c = l.conds;
  const accepted = c.get('Accepted', 'Accepted', 'Listener accepted', gen);
  const conflicted = c.has('Conflicted') ? c.get('Conflicted', '', '', gen) : condition('Conflicted', false, 'NoConflicts', 'No conflicts', gen);
  // Contour's messages.
  const resolved = c.get('ResolvedRefs', 'ResolvedRefs', 'Listener references resolved', gen);
  const programmed = l.usable ? condition('Programmed', true, 'Programmed', 'Valid listener', gen) : condition('Programmed', false, 'Invalid', 'Invalid listener, see other listener conditions for details', gen);
  return {
    name: l.name,
    supportedKinds: l.supportedKinds.map((k) => KIND_REFS[k]),
    attachedRoutes: l.attachedRoutes,
    conditions: [accepted, programmed, resolved, conflicted],
  };
}

/** The TLS group of an HTTPS listener's hosts (SecureVirtualHost.tlsGroup). */
export function tlsGroupOf(gw: GatewayState, l: ListenerState): string {
  return `${gw.namespace}/${gw.name}/${l.name}`;
}

export function gatewayStatus(gw: GatewayState): GatewayStatus {
  const gen = gw.generation;
  const accepted = gw.conds.get('Accepted', 'Accepted', 'Gateway is accepted', gen);
  const programmed =
    accepted.status !== 'True'
      ? condition('Programmed', false, 'Invalid', 'Gateway is not programmed: see its Accepted condition', gen)
      : gw.conds.has('Programmed')
        ? gw.conds.get('Programmed', '', '', gen)
        : condition('Programmed', true, 'Programmed', 'Valid Gateway', gen);
  const conditions = [accepted, programmed];
  if (gw.conds.has('ResolvedRefs') || gw.clientCertificateId !== undefined) conditions.push(gw.conds.get('ResolvedRefs', 'ResolvedRefs', 'All references resolved', gen));
  // The spec's warning that a listener lets clients without a valid
  // certificate in; it goes away with AllowValidOnly.
  if (gw.insecureFrontend) {
    conditions.push(condition('InsecureFrontendValidationMode', true, 'ConfigurationChanged', 'a listener validates client certificates in AllowInsecureFallback mode: clients without a valid certificate are let in', gen));
  }
  return { namespace: gw.namespace, name: gw.name, addresses: [], conditions, listeners: gw.listeners.map((l) => listenerStatus(l, gen)) };
}
