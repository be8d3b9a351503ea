// Schema validation: what the API server would reject (the CRD schema for
// HTTPProxy / TLSCertificateDelegation, core validation for Service, Secret,
// Endpoints, EndpointSlice). Unknown fields are pruned with a warning, as
// the API server prunes them from structural CRDs; null fields are dropped,
// as the API server does before validating.

import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { FieldError, Kind } from './types.ts';
import type { JsonSchema } from './schemas/builders.ts';
import { DURATION_PATTERN, PATTERN_ADVICE } from './schemas/builders.ts';
import { coreRules } from './core-rules.ts';
import { httpProxySchema, tlsCertificateDelegationSchema } from './schemas/httpproxy.ts';
import { extensionServiceSchema } from './schemas/extensionservice.ts';
import { backendTLSPolicySchema, gatewayClassSchema, gatewaySchema, grpcRouteSchema, httpRouteSchema, referenceGrantSchema, tcpRouteSchema, tlsRouteSchema } from './schemas/gateway.ts';
import { configMapSchema, endpointSliceSchema, endpointsSchema, namespaceSchema, secretSchema, serviceSchema } from './schemas/core.ts';
import { ingressClassSchema, ingressSchema } from './schemas/ingress.ts';

export { httpProxySchema, httpProxySpecSchema, tlsCertificateDelegationSchema, RETRY_ON } from './schemas/httpproxy.ts';
export { extensionServiceSchema, extensionServiceSpecSchema } from './schemas/extensionservice.ts';
export { backendTLSPolicySchema, gatewayClassSchema, gatewaySchema, grpcRouteSchema, httpRouteSchema, referenceGrantSchema, tcpRouteSchema, tlsRouteSchema } from './schemas/gateway.ts';
export { configMapSchema, endpointSliceSchema, endpointsSchema, namespaceSchema, secretSchema, serviceSchema } from './schemas/core.ts';
export { ingressClassSchema, ingressSchema } from './schemas/ingress.ts';
export type { JsonSchema, ShapeOf } from './schemas/builders.ts';
export { isNotEnforced, isNotImplemented } from './schemas/builders.ts';

/** The JSON schema of each kind (OpenAPI v3, structural, CRD-ready). */
export const SCHEMAS: Readonly<Record<Kind, JsonSchema>> = {
  HTTPProxy: httpProxySchema,
  TLSCertificateDelegation: tlsCertificateDelegationSchema,
  ExtensionService: extensionServiceSchema,
  GatewayClass: gatewayClassSchema,
  Gateway: gatewaySchema,
  HTTPRoute: httpRouteSchema,
  ReferenceGrant: referenceGrantSchema,
  BackendTLSPolicy: backendTLSPolicySchema,
  GRPCRoute: grpcRouteSchema,
  TLSRoute: tlsRouteSchema,
  TCPRoute: tcpRouteSchema,
  Service: serviceSchema,
  Secret: secretSchema,
  Endpoints: endpointsSchema,
  EndpointSlice: endpointSliceSchema,
  Namespace: namespaceSchema,
  Ingress: ingressSchema,
  IngressClass: ingressClassSchema,
  ConfigMap: configMapSchema,
};

export interface SchemaResult {
  errors: FieldError[];
  warnings: FieldError[];
  /** The input without unknown fields and nulls (a new object). */
  value: Record<string, unknown>;
}

/** The CRD's CEL rules, implemented by hand (keyed by rule text). */
const CEL_RULES: Record<string, (self: Record<string, unknown>) => boolean> = {
  'has(self.subjectNames) ? self.subjectNames[0] == self.subjectName : true': (self) => {
    const names = self['subjectNames'];
    if (!Array.isArray(names) || names.length === 0) return true;
    return names[0] === self['subjectName'];
  },
  "!has(self.httpSettings) || self.serviceType == 'http'": (self) => self['httpSettings'] === undefined || self['serviceType'] === 'http',
  '(has(self.remoteJWKS) && !has(self.localJWKS)) || (!has(self.remoteJWKS) && has(self.localJWKS))': (self) =>
    (self['remoteJWKS'] !== undefined) !== (self['localJWKS'] !== undefined),
};

let ajv: Ajv | undefined;
const compiled = new Map<Kind, ValidateFunction>();

function validatorFor(kind: Kind): ValidateFunction {
  let v = compiled.get(kind);
  if (!v) {
    if (!ajv) {
      ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, unicodeRegExp: true });
      ajv.addVocabulary(['x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations']);
    }
    v = ajv.compile(SCHEMAS[kind]);
    compiled.set(kind, v);
  }
  return v;
}

export function validateObject(kind: Kind, raw: Record<string, unknown>): SchemaResult {
  const warnings: FieldError[] = [];
  const ruleErrors: FieldError[] = [];
  const value = prune(raw, SCHEMAS[kind], [], warnings, ruleErrors) as Record<string, unknown>;
  const validate = validatorFor(kind);
  const errors: FieldError[] = [];
  if (!validate(value)) errors.push(...mapErrors(validate.errors ?? [], value));
  errors.push(...ruleErrors);
  errors.push(...nameErrors(kind, value));
  // Code-level rules only on objects whose types are right.
  if (errors.length === 0) errors.push(...coreRules(kind, value));
  return { errors: dedupe(errors), warnings, value };
}

// ---- pruning ------------------------------------------------------------

function prune(
  value: unknown,
  schema: JsonSchema | undefined,
  at: (string | number)[],
  warnings: FieldError[],
  ruleErrors: FieldError[],
): unknown {
  if (Array.isArray(value)) {
    const items = schema?.['items'] as JsonSchema | undefined;
    return value.map((v, i) => (v === null ? v : prune(v, items, [...at, i], warnings, ruleErrors)));
  }
  if (typeof value !== 'object' || value === null) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const preserve = schema?.['x-kubernetes-preserve-unknown-fields'] === true;
  const props = schema?.['properties'] as Record<string, JsonSchema> | undefined;
  const additional = schema?.['additionalProperties'];
  for (const [k, v] of Object.entries(src)) {
    if (v === null) continue;
    if (props && Object.hasOwn(props, k)) {
      out[k] = prune(v, props[k], [...at, k], warnings, ruleErrors);
    } else if (additional && typeof additional === 'object') {
      out[k] = prune(v, additional as JsonSchema, [...at, k], warnings, ruleErrors);
    } else if (preserve || !schema || !props || schema['type'] !== 'object') {
      out[k] = v;
    } else {
      warnings.push({ path: pathText([...at, k]), message: 'unknown field, ignored (check the spelling and the indentation)' });
    }
  }
  const rules = schema?.['x-kubernetes-validations'] as { rule: string; message: string }[] | undefined;
  if (rules && schema?.['type'] === 'object') {
    for (const r of rules) {
      const check = CEL_RULES[r.rule];
      if (check && !safe(() => check(out))) ruleErrors.push({ path: pathText(at), message: r.message });
    }
  }
  return out;
}

function safe(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return true; // a rule that cannot evaluate leaves the type checks to speak
  }
}

// ---- error messages -----------------------------------------------------

function mapErrors(errs: ErrorObject[], root: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errs) {
    // int-or-string: report the anyOf once, not each branch
    if (e.schemaPath.includes('/anyOf/')) continue;
    const at = pointerPath(e.instancePath, root);
    const data = e.data;
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        out.push({ path: pathText([...at, missing]), message: 'is required' });
        break;
      }
      case 'type':
        out.push({ path: pathText(at), message: `must be of type ${(e.params as { type: string }).type}, found ${describeValue(data)}` });
        break;
      case 'anyOf':
        out.push({ path: pathText(at), message: `must be an integer or a string, found ${describeValue(data)}` });
        break;
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
        out.push({ path: pathText(at), message: `unsupported value ${quoted(data)}: supported values: ${allowed}` });
        break;
      }
      case 'minLength':
        out.push({ path: pathText(at), message: `must be at least ${(e.params as { limit: number }).limit} characters long` });
        break;
      case 'maxLength':
        out.push({ path: pathText(at), message: `must be at most ${(e.params as { limit: number }).limit} characters long` });
        break;
      case 'minItems':
        out.push({ path: pathText(at), message: `must have at least ${(e.params as { limit: number }).limit} item(s)` });
        break;
      case 'maxItems':
        out.push({ path: pathText(at), message: `must have at most ${(e.params as { limit: number }).limit} items` });
        break;
      case 'pattern': {
        const pattern = (e.params as { pattern: string }).pattern;
        const advice = PATTERN_ADVICE[pattern];
        out.push({
          path: pathText(at),
          message:
            pattern === DURATION_PATTERN
              ? `invalid duration ${quoted(data)}: ${advice}`
              : `invalid value ${quoted(data)}: ${advice ?? `must match ${pattern}`}`,
        });
        break;
      }
      default:
        // minimum / maximum and the rest: ajv's text ("must be <= 65535")
        out.push({ path: pathText(at), message: e.message ?? `failed ${e.keyword}` });
    }
  }
  return out;
}

/** JSON pointer -> path segments, using the data to tell list indexes from
 *  map keys that happen to be digits. */
function pointerPath(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const segs = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: (string | number)[] = [];
  let node: unknown = root;
  for (const s of segs) {
    if (Array.isArray(node)) {
      const i = Number(s);
      out.push(i);
      node = node[i];
    } else {
      out.push(s);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[s] : undefined;
    }
  }
  return out;
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** metadata.name / namespace formats the API server enforces. */
function nameErrors(kind: Kind, obj: Record<string, unknown>): FieldError[] {
  const meta = obj['metadata'] as Record<string, unknown> | undefined;
  if (!meta) return [];
  const errors: FieldError[] = [];
  const name = meta['name'];
  if (typeof name === 'string' && name !== '') {
    if (kind === 'Service') {
      if (name.length > 63 || !LABEL_1035.test(name)) {
        errors.push({
          path: 'metadata.name',
          message: `invalid name ${quoted(name)}: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with a letter, end with an alphanumeric character and be at most 63 characters`,
        });
      }
    } else if (name.length > 253 || !SUBDOMAIN.test(name)) {
      errors.push({
        path: 'metadata.name',
        message: `invalid name ${quoted(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', start and end with an alphanumeric character and be at most 253 characters`,
      });
    }
  }
  const ns = meta['namespace'];
  if (typeof ns === 'string' && ns !== '' && (ns.length > 63 || !LABEL_1123.test(ns))) {
    errors.push({
      path: 'metadata.namespace',
      message: `invalid namespace ${quoted(ns)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character and be at most 63 characters`,
    });
  }
  return errors;
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}\0${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A value quoted in a message: a long one is cut, so a megabyte of input
 *  never becomes a megabyte of status and log. */
function quoted(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 100 ? `${text.slice(0, 80)}..." (${typeof v === 'string' ? v.length : text.length} characters)` : text;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)})`;
  return `${typeof v === 'number' ? (Number.isInteger(v) ? 'an integer' : 'a number') : `a ${typeof v}`} (${String(v)})`;
}

/** ['spec', 'routes', 0, 'port'] -> "spec.routes[0].port"; map keys that are
 *  not plain identifiers are bracketed: data[tls.crt]. */
export function pathText(segs: readonly (string | number)[]): string {
  let s = '';
  for (const seg of segs) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) s += s === '' ? seg : `.${seg}`;
    else s += `[${seg}]`;
  }
  return s;
}
