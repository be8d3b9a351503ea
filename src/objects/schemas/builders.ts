// Small constructors for the OpenAPI v3 subset Kubernetes accepts in CRDs
// (structural schemas): the schemas stay plain JSON objects that both the
// validator (ajv) and deploy/ CRD manifests can use.

export type JsonSchema = Record<string, unknown>;

export const str = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', ...extra });
export const bool = (): JsonSchema => ({ type: 'boolean' });
export const int = (extra: JsonSchema = {}): JsonSchema => ({ type: 'integer', ...extra });
export const port = (): JsonSchema => int({ minimum: 1, maximum: 65535 });
export const arr = (items: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: 'array', items, ...extra });
export const strMap = (): JsonSchema => ({ type: 'object', additionalProperties: { type: 'string' } });
export const enumOf = (values: readonly (string | number)[], type: 'string' | 'integer' = 'string'): JsonSchema => ({ type, enum: [...values] });
export const intOrString = (): JsonSchema => ({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] });
/** A free-form object whose fields the API server keeps without checking. */
export const open = (type: 'object' | 'array' = 'object'): JsonSchema =>
  type === 'array'
    ? { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }
    : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

export function obj(properties: Record<string, JsonSchema>, required: string[] = [], extra: JsonSchema = {}): JsonSchema {
  const s: JsonSchema = { type: 'object', properties, ...extra };
  if (required.length) s['required'] = required;
  return s;
}

/** Go duration syntax as Contour's CRD patterns accept it. */
export const DURATION_PATTERN =
  '^(((\\d*(\\.\\d*)?h)|(\\d*(\\.\\d*)?m)|(\\d*(\\.\\d*)?s)|(\\d*(\\.\\d*)?ms)|(\\d*(\\.\\d*)?us)|(\\d*(\\.\\d*)?µs)|(\\d*(\\.\\d*)?ns))+|infinity|infinite)$';
export const duration = (): JsonSchema => str({ pattern: DURATION_PATTERN });

/** Patterns from Contour's CRD, each with the advice shown when it fails. */
export const FQDN_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const HOSTNAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const ABSOLUTE_PATH_PATTERN = '^\\/.*$';
export const PATTERN_ADVICE: Readonly<Record<string, string>> = {
  [DURATION_PATTERN]: 'use Go duration syntax such as "30s", "1m30s", "500ms" or "infinity"',
  [FQDN_PATTERN]: 'a host name in lower case letters, digits, \'-\' and \'.\', optionally starting with "*."',
  [HOSTNAME_PATTERN]: "a host name in lower case letters, digits, '-' and '.'",
  [ABSOLUTE_PATH_PATTERN]: 'must start with "/"',
};

/** ObjectMeta as a manifest may write it. */
export const objectMeta = (): JsonSchema =>
  obj({
    name: str(),
    generateName: str(),
    namespace: str(),
    uid: str(),
    resourceVersion: str(),
    generation: int(),
    selfLink: str(),
    creationTimestamp: str(),
    deletionTimestamp: str(),
    deletionGracePeriodSeconds: int(),
    labels: strMap(),
    annotations: strMap(),
    finalizers: arr(str()),
    ownerReferences: open('array'),
    managedFields: open('array'),
  });

/** The envelope every object shares; `status` is kept as written. */
export function kubeObject(spec: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return obj({ apiVersion: str(), kind: str(), metadata: objectMeta(), ...spec, status: open() }, ['apiVersion', 'kind', 'metadata', ...required]);
}
