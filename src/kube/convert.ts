// API objects -> the shapes in src/objects/types.ts. The object is trimmed to
// the fields isobar reads (no managedFields, no HTTPProxy status: our own
// status writes must not look like spec changes), checked by the same
// schema validator the manifest loader uses, and Secrets' base64 `data` is
// decoded. Never throws: a bad object becomes a RejectedObject.

import { validateObject } from '../objects/index.ts';
import type { AnyObject, FieldError, RejectedObject } from '../objects/index.ts';
import type { ResourceType } from './resources.ts';
import { apiVersionOf } from './resources.ts';

export type Converted =
  | { object: AnyObject; warnings: FieldError[] }
  | { rejected: RejectedObject; warnings: FieldError[] };

const META_FIELDS = ['name', 'namespace', 'uid', 'generation', 'resourceVersion', 'labels', 'annotations'] as const;
// Top-level fields other than spec that each kind carries.
const KEEP: Record<ResourceType['kind'], readonly string[]> = {
  HTTPProxy: ['spec'],
  TLSCertificateDelegation: ['spec'],
  ExtensionService: ['spec'],
  Service: ['spec', 'status'],
  Secret: ['type', 'data'],
  EndpointSlice: ['addressType', 'endpoints', 'ports'],
  Endpoints: ['subsets'],
  // Not status: the writer's own status writes must not look like changes.
  Ingress: ['spec'],
  IngressClass: ['spec'],
  GatewayClass: ['spec'],
  Gateway: ['spec'],
  HTTPRoute: ['spec'],
  GRPCRoute: ['spec'],
  TLSRoute: ['spec'],
  TCPRoute: ['spec'],
  ReferenceGrant: ['spec'],
  BackendTLSPolicy: ['spec'],
  Namespace: [],
  ConfigMap: ['data'],
};

export function convert(type: ResourceType, raw: Record<string, any>): Converted {
  const meta = (raw?.metadata ?? {}) as Record<string, unknown>;
  const name = typeof meta.name === 'string' ? meta.name : '';
  const namespace = type.clusterScoped ? '' : typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
  const metadata: Record<string, unknown> = {};
  for (const f of META_FIELDS) if (meta[f] !== undefined && meta[f] !== null) metadata[f] = meta[f];
  metadata.namespace = namespace;
  const envelope: Record<string, unknown> = { apiVersion: apiVersionOf(type), kind: type.kind, metadata };
  for (const f of KEEP[type.kind]) if (raw[f] !== undefined && raw[f] !== null) envelope[f] = raw[f];

  const reject = (errors: FieldError[], warnings: FieldError[] = []): Converted => ({
    rejected: { kind: type.kind, namespace, name, source: { origin: 'kubernetes' }, errors },
    warnings,
  });
  if (!name) return reject([{ path: 'metadata.name', message: 'missing' }]);

  let checked;
  try {
    checked = validateObject(type.kind, envelope);
  } catch (err) {
    return reject([{ path: '', message: `could not be validated: ${err instanceof Error ? err.message : String(err)}` }]);
  }
  if (checked.errors.length > 0) return reject(checked.errors, checked.warnings);
  const value = checked.value;
  value.metadata = { ...(value.metadata as object), name, namespace };
  if (type.kind === 'Secret') {
    const data: Record<string, string> = {};
    const errors: FieldError[] = [];
    for (const [k, v] of Object.entries((value.data ?? {}) as Record<string, unknown>)) {
      if (typeof v !== 'string') {
        errors.push({ path: `data[${k}]`, message: 'must be a base64 string' });
        continue;
      }
      data[k] = Buffer.from(v, 'base64').toString('utf8');
    }
    if (errors.length) return reject(errors, checked.warnings);
    value.data = data;
    value.type = typeof value.type === 'string' && value.type ? value.type : 'Opaque';
  }
  return { object: value as unknown as AnyObject, warnings: checked.warnings };
}
