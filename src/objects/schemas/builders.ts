// Small constructors for the OpenAPI v3 subset Kubernetes accepts in CRDs
// (structural schemas): the schemas stay plain JSON objects that both the
// validator (ajv) and deploy/ CRD manifests can use. Each constructor also
// records, in the type system only, what its node describes (Shape), so the
// TypeScript type of a manifest (ValueOf) and the dag's zero-value model are
// derived from the schema instead of being written again beside it.

export type JsonSchema = Record<string, unknown>;

declare const SHAPE: unique symbol;

/** What a schema node describes; never present at run time. */
export type Shape =
  | { kind: 'scalar'; value: unknown }
  | { kind: 'open'; value: unknown }
  | { kind: 'array'; items: Schema }
  | { kind: 'object'; props: Record<string, Schema>; required: string };

/** A schema node, typed by what it describes. */
export type Schema<S = Shape> = JsonSchema & { readonly [SHAPE]?: S };

export type ShapeOf<N> = N extends { readonly [SHAPE]?: infer S } ? NonNullable<S> : never;

type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The TypeScript type of a value the node accepts. Enums are typed by
 *  their base type: the validator, not the compiler, checks the values. */
export type ValueOf<N> = ValueOfShape<ShapeOf<N>>;
type ValueOfShape<S> = S extends { kind: 'scalar' | 'open'; value: infer V }
  ? V
  : S extends { kind: 'array'; items: infer I }
    ? ValueOf<I>[]
    : S extends { kind: 'object'; props: infer P; required: infer R }
      ? Flat<{ [K in Extract<keyof P, R>]: ValueOf<P[K]> } & { [K in Exclude<keyof P, R>]?: ValueOf<P[K]> }>
      : never;

type Scalar<V> = { kind: 'scalar'; value: V };
type Open = { kind: 'open'; value: Record<string, unknown> };

export const str = (extra: JsonSchema = {}): Schema<Scalar<string>> => ({ type: 'string', ...extra });
export const bool = (): Schema<Scalar<boolean>> => ({ type: 'boolean' });
export const int = (extra: JsonSchema = {}): Schema<Scalar<number>> => ({ type: 'integer', ...extra });
export const port = (): Schema<Scalar<number>> => int({ minimum: 1, maximum: 65535 });
export const arr = <I extends Schema>(items: I, extra: JsonSchema = {}): Schema<{ kind: 'array'; items: I }> => ({ type: 'array', items, ...extra });
export const strMap = (): Schema<{ kind: 'open'; value: Record<string, string> }> => ({ type: 'object', additionalProperties: { type: 'string' } });
export const enumOf = <T extends 'string' | 'integer' = 'string'>(
  values: readonly (string | number)[],
  type?: T,
): Schema<Scalar<T extends 'integer' ? number : string>> => ({ type: type ?? 'string', enum: [...values] });
export const intOrString = (): Schema<Scalar<number | string>> => ({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] });

/** A free-form object whose fields the API server keeps without checking. */
export function open(): Schema<Open>;
export function open(type: 'array'): Schema<{ kind: 'array'; items: Schema<Open> }>;
export function open(type: 'object' | 'array' = 'object'): Schema {
  return type === 'array'
    ? { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }
    : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
}

/** A free-form object, as open(), in which the fields the upstream CRD
 *  requires are still required (an API server rejects the object without
 *  them): `properties` names those fields and the paths down to deeper
 *  required ones; every other field is kept unchecked, not pruned. Typed
 *  as open(). */
export function openWith(properties: Record<string, Schema>, required: readonly string[] = []): Schema<Open> {
  const s: JsonSchema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties };
  if (required.length) s['required'] = [...required];
  return s;
}

export function obj<P extends Record<string, Schema>, R extends keyof P & string = never>(
  properties: P,
  required: readonly R[] = [],
  extra: JsonSchema = {},
): Schema<{ kind: 'object'; props: P; required: NoInfer<R> }> {
  const s: JsonSchema = { type: 'object', properties, ...extra };
  if (required.length) s['required'] = [...required];
  return s;
}

// A fact about a field that is not a JSON Schema keyword: kept beside the
// nodes (not in them), so the CRD manifests stay plain.
const notImplementedNodes = new WeakSet<object>();

/** A field isobar accepts, so that manifests using it load, but does not
 *  act on: the dag leaves it out of its model and reports it as ignored
 *  wherever it is set. */
export function notImplemented<N extends Schema>(node: N): Schema<ShapeOf<N> & { notImplemented: true }> {
  notImplementedNodes.add(node);
  const plain: JsonSchema = node;
  return plain;
}

export function isNotImplemented(node: JsonSchema): boolean {
  return notImplementedNodes.has(node);
}

const notEnforcedNodes = new WeakSet<object>();

/** A field isobar does not act on yet that restricts who may reach what,
 *  or how much (a rate limit): the dag fails closed, making an object that
 *  sets it invalid rather than serving it unrestricted. */
export function notEnforced<N extends Schema>(node: N): Schema<ShapeOf<N> & { notImplemented: true }> {
  notEnforcedNodes.add(node);
  return notImplemented(node);
}

export function isNotEnforced(node: JsonSchema): boolean {
  return notEnforcedNodes.has(node);
}

/** A field whose absence means something other than its zero value
 *  (Contour's pointer fields, such as a service's protocol): read as null
 *  when unset. It marks the type only; the JSON is unchanged. */
export function nullWhenUnset<N extends Schema<Scalar<unknown>>>(node: N): Schema<ShapeOf<N> & { nullWhenUnset: true }> {
  const plain: JsonSchema = node;
  return plain;
}

/** Go duration syntax as Contour's CRD patterns accept it. */
export const DURATION_PATTERN =
  '^(((\\d*(\\.\\d*)?h)|(\\d*(\\.\\d*)?m)|(\\d*(\\.\\d*)?s)|(\\d*(\\.\\d*)?ms)|(\\d*(\\.\\d*)?us)|(\\d*(\\.\\d*)?µs)|(\\d*(\\.\\d*)?ns))+|infinity|infinite)$';
export const duration = () => str({ pattern: DURATION_PATTERN });
/** Go duration syntax without "infinity" (the JWKS timeout and cache duration). */
export const GO_DURATION_PATTERN =
  '^(((\\d*(\\.\\d*)?h)|(\\d*(\\.\\d*)?m)|(\\d*(\\.\\d*)?s)|(\\d*(\\.\\d*)?ms)|(\\d*(\\.\\d*)?us)|(\\d*(\\.\\d*)?µs)|(\\d*(\\.\\d*)?ns))+)$';
export const goDuration = () => str({ pattern: GO_DURATION_PATTERN });

/** Patterns from Contour's CRD, each with the advice shown when it fails.
 *  The fqdn's also bounds each label to 63 characters, as DNS does (with the
 *  schema's 253-character limit, a fqdn is a DNS name; Contour's pattern
 *  alone accepts labels of any length). */
export const FQDN_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$';
export const HOSTNAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const ABSOLUTE_PATH_PATTERN = '^\\/.*$';
// Contour's CookieRewritePolicy name (a cookie-name token) and Path value.
export const COOKIE_NAME_PATTERN = '^[^()<>@,;:\\\\"\\/[\\]?={} \\t\\x7f\\x00-\\x1f]+$';
export const COOKIE_PATH_PATTERN = '^[^;\\x7f\\x00-\\x1f]+$';
export const CORS_HEADER_PATTERN = "^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$";
export const CORS_MAX_AGE_PATTERN =
  '^(((\\d*(\\.\\d*)?h)|(\\d*(\\.\\d*)?m)|(\\d*(\\.\\d*)?s)|(\\d*(\\.\\d*)?ms)|(\\d*(\\.\\d*)?us)|(\\d*(\\.\\d*)?µs)|(\\d*(\\.\\d*)?ns))+|0)$';
export const PATTERN_ADVICE: Readonly<Record<string, string>> = {
  [DURATION_PATTERN]: 'use Go duration syntax such as "30s", "1m30s", "500ms" or "infinity"',
  [GO_DURATION_PATTERN]: 'use Go duration syntax such as "1s", "500ms" or "5m"',
  [FQDN_PATTERN]: 'a DNS name: labels of lower case letters, digits and \'-\' (at most 63 characters each) joined by \'.\', optionally starting with "*."',
  [HOSTNAME_PATTERN]: "a host name in lower case letters, digits, '-' and '.'",
  [ABSOLUTE_PATH_PATTERN]: 'must start with "/"',
  [COOKIE_NAME_PATTERN]: 'a cookie name: no control characters, spaces or ()<>@,;:\\"/[]?={}',
  [COOKIE_PATH_PATTERN]: 'a cookie path: no ";" or control characters',
  [CORS_HEADER_PATTERN]: 'a header name or method: letters, digits and !#$%&\'*+.^_`|~-',
  [CORS_MAX_AGE_PATTERN]: 'use Go duration syntax such as "10m", "1h30m" or "0"',
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
  const properties: Record<string, JsonSchema> = { apiVersion: str(), kind: str(), metadata: objectMeta(), ...spec, status: open() };
  return obj(properties, ['apiVersion', 'kind', 'metadata', ...required]);
}
