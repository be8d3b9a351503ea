// ObjectCache: the one store both sources (manifest folder, Kubernetes API)
// feed and the builders read through snapshot(). It keeps objects by
// (kind, namespace, name) and tells listeners when something changed.

import type { AnyObject, ObjectKey, RejectedObject, Snapshot, SourceRef } from './types.ts';
import { keyOf, objectKey } from './types.ts';

export interface CachedObject {
  object: AnyObject;
  source: SourceRef;
}

export type ChangeListener = () => void;

export class ObjectCache {
  #objects = new Map<ObjectKey, CachedObject>();
  #rejected = new Map<ObjectKey, RejectedObject>();
  #listeners = new Set<ChangeListener>();
  #version = 0;

  /** Monotonic counter, bumped on every change. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#objects.size;
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(kind: string, namespace: string, name: string): CachedObject | undefined {
    return this.#objects.get(objectKey(kind, namespace, name));
  }

  /** Insert or replace one object. Returns false when nothing changed. */
  upsert(object: AnyObject, source: SourceRef): boolean {
    const key = keyOf(object);
    const hadRejection = this.#rejected.delete(key);
    const prev = this.#objects.get(key);
    if (!hadRejection && prev && sameObject(prev.object, object)) return false;
    this.#objects.set(key, { object, source });
    this.#changed();
    return true;
  }

  /** Record an object the schema rejected; any valid version is dropped. */
  reject(rejected: RejectedObject): boolean {
    const key = keyOf(rejected);
    const hadObject = this.#objects.delete(key);
    const prev = this.#rejected.get(key);
    if (!hadObject && prev && JSON.stringify(prev) === JSON.stringify(rejected)) return false;
    this.#rejected.set(key, rejected);
    this.#changed();
    return true;
  }

  remove(kind: string, namespace: string, name: string): boolean {
    const key = objectKey(kind, namespace, name);
    const a = this.#objects.delete(key);
    const b = this.#rejected.delete(key);
    if (a || b) this.#changed();
    return a || b;
  }

  /** Replace everything at once (the folder source does this after each
   *  load); fires one change notification if anything differs. */
  replaceAll(objects: CachedObject[], rejected: RejectedObject[]): boolean {
    const next = new Map<ObjectKey, CachedObject>();
    for (const o of objects) {
      next.set(keyOf(o.object), o);
    }
    const nextRejected = new Map<ObjectKey, RejectedObject>();
    for (const r of rejected) nextRejected.set(keyOf(r), r);
    let changed = next.size !== this.#objects.size || nextRejected.size !== this.#rejected.size;
    if (!changed) {
      for (const [k, v] of next) {
        const prev = this.#objects.get(k);
        if (!prev || !sameObject(prev.object, v.object)) {
          changed = true;
          break;
        }
      }
    }
    if (!changed) {
      for (const [k, v] of nextRejected) {
        const prev = this.#rejected.get(k);
        if (!prev || JSON.stringify(prev) !== JSON.stringify(v)) {
          changed = true;
          break;
        }
      }
    }
    this.#objects = next;
    this.#rejected = nextRejected;
    if (changed) this.#changed();
    return changed;
  }

  /** A consistent view for the builders, each array sorted by namespace
   *  then name. Objects are shared, not copied: builders must not mutate. */
  snapshot(): Snapshot {
    const snap: Snapshot = {
      httpproxies: [],
      delegations: [],
      services: [],
      secrets: [],
      endpoints: [],
      endpointSlices: [],
      extensionServices: [],
      gatewayClasses: [],
      gateways: [],
      httpRoutes: [],
      referenceGrants: [],
      namespaces: [],
      ingresses: [],
      ingressClasses: [],
      backendTLSPolicies: [],
      configMaps: [],
      grpcRoutes: [],
      tlsRoutes: [],
      tcpRoutes: [],
      rejected: [...this.#rejected.values()].sort(byNamespaceName),
    };
    for (const { object } of this.#objects.values()) {
      switch (object.kind) {
        case 'HTTPProxy':
          snap.httpproxies.push(object);
          break;
        case 'TLSCertificateDelegation':
          snap.delegations.push(object);
          break;
        case 'Service':
          snap.services.push(object);
          break;
        case 'Secret':
          snap.secrets.push(object);
          break;
        case 'Endpoints':
          snap.endpoints.push(object);
          break;
        case 'EndpointSlice':
          snap.endpointSlices.push(object);
          break;
        case 'ExtensionService':
          snap.extensionServices!.push(object);
          break;
        case 'GatewayClass':
          snap.gatewayClasses!.push(object);
          break;
        case 'Gateway':
          snap.gateways!.push(object);
          break;
        case 'HTTPRoute':
          snap.httpRoutes!.push(object);
          break;
        case 'ReferenceGrant':
          snap.referenceGrants!.push(object);
          break;
        case 'Namespace':
          snap.namespaces!.push(object);
          break;
        case 'Ingress':
          snap.ingresses!.push(object);
          break;
        case 'IngressClass':
          snap.ingressClasses!.push(object);
          break;
        case 'BackendTLSPolicy':
          snap.backendTLSPolicies!.push(object);
          break;
        case 'GRPCRoute':
          snap.grpcRoutes!.push(object);
          break;
        case 'TLSRoute':
          snap.tlsRoutes!.push(object);
          break;
        case 'TCPRoute':
          snap.tcpRoutes!.push(object);
          break;
        case 'ConfigMap':
          snap.configMaps!.push(object);
          break;
      }
    }
    for (const list of [snap.httpproxies, snap.delegations, snap.services, snap.secrets, snap.endpoints, snap.endpointSlices, snap.extensionServices!, snap.gatewayClasses!, snap.gateways!, snap.httpRoutes!, snap.referenceGrants!, snap.namespaces!, snap.ingresses!, snap.ingressClasses!, snap.backendTLSPolicies!, snap.configMaps!, snap.grpcRoutes!, snap.tlsRoutes!, snap.tcpRoutes!]) {
      list.sort((a, b) => byNamespaceName(a.metadata, b.metadata));
    }
    return snap;
  }

  #changed(): void {
    this.#version++;
    for (const l of this.#listeners) l();
  }
}

export function byNamespaceName(
  a: { namespace: string; name: string },
  b: { namespace: string; name: string },
): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

function sameObject(a: AnyObject, b: AnyObject): boolean {
  if (a === b) return true; // the folder source re-sends unchanged files' objects as is
  // resourceVersion alone can differ for identical content (a re-list), and
  // identical resourceVersions mean identical content on the API source.
  const ra = a.metadata.resourceVersion;
  const rb = b.metadata.resourceVersion;
  if (ra !== undefined && ra === rb) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}
