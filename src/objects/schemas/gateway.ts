// Gateway API (gateway.networking.k8s.io/v1, the Standard channel):
// GatewayClass, Gateway, HTTPRoute, ReferenceGrant. The fields and bounds of
// the upstream CRDs (apis/v1/*_types.go) that a manifest may set; parts the
// dag does not implement are kept as free-form objects so that it can name
// them in a status condition instead of the loader pruning them silently.

import type { JsonSchema } from './builders.ts';
import { arr, enumOf, int, kubeObject, obj, open, openWith, port, str, strMap } from './builders.ts';

// Hostname and PreciseHostname of the Gateway API (shared_types.go).
export const GATEWAY_HOSTNAME_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const PRECISE_HOSTNAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const hostname = () => str({ minLength: 1, maxLength: 253, pattern: GATEWAY_HOSTNAME_PATTERN });
const preciseHostname = () => str({ minLength: 1, maxLength: 253, pattern: PRECISE_HOSTNAME_PATTERN });
const objectName = () => str({ minLength: 1, maxLength: 253 });
const sectionName = () => str({ minLength: 1, maxLength: 253 });
const group = () => str({ maxLength: 253 });
const kind = () => str({ minLength: 1, maxLength: 63 });
const headerName = () => str({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$" });

const labelSelector = () =>
  obj({
    matchLabels: strMap(),
    matchExpressions: arr(obj({ key: str(), operator: enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: arr(str()) }, ['key', 'operator'])),
  });

const secretObjectReference = () => obj({ group: group(), kind: kind(), name: objectName(), namespace: str() }, ['name']);

// The free-form parts below stay open (the dag names what it does not
// support), but still require what the CRD requires in them.
/** ParametersRef, LocalParametersReference, LocalObjectReference: group, kind and name. */
const openGroupKindName = () => openWith({ group: group(), kind: kind(), name: objectName() }, ['group', 'kind', 'name']);
const openLabelSelector = () => openWith({ matchExpressions: arr(openWith({ key: str(), operator: str() }, ['key', 'operator'])) });
/** Gateway spec.tls.frontend's FrontendTLSValidation. */
const openFrontendValidation = () => openWith({ caCertificateRefs: arr(openGroupKindName()) }, ['caCertificateRefs']);

export const gatewayClassSpecSchema = obj(
  {
    controllerName: str({ minLength: 1, maxLength: 253 }),
    parametersRef: openGroupKindName(),
    description: str({ maxLength: 64 }),
  },
  ['controllerName'],
);
export const gatewayClassSchema: JsonSchema = kubeObject({ spec: gatewayClassSpecSchema }, ['spec']);

const listener = () =>
  obj(
    {
      name: sectionName(),
      hostname: hostname(),
      port: port(),
      protocol: str({ minLength: 1, maxLength: 255 }),
      tls: obj({
        mode: enumOf(['Terminate', 'Passthrough']),
        certificateRefs: arr(secretObjectReference(), { maxItems: 64 }),
        options: strMap(),
        frontendValidation: open(),
      }),
      allowedRoutes: obj({
        namespaces: obj({ from: enumOf(['All', 'Selector', 'Same', 'None']), selector: labelSelector() }),
        kinds: arr(obj({ group: group(), kind: kind() }, ['kind']), { maxItems: 8 }),
      }),
    },
    ['name', 'port', 'protocol'],
  );

export const gatewaySpecSchema = obj(
  {
    gatewayClassName: objectName(),
    listeners: arr(listener(), { minItems: 1, maxItems: 64 }),
    addresses: arr(obj({ type: str(), value: str({ maxLength: 253 }) }), { maxItems: 16 }),
    infrastructure: obj({ labels: strMap(), annotations: strMap(), parametersRef: openGroupKindName() }),
    backendTLS: obj({ clientCertificateRef: secretObjectReference() }),
    tls: openWith({
      backend: openWith({ clientCertificateRef: openWith({ name: objectName() }, ['name']) }),
      frontend: openWith(
        {
          default: openWith({ validation: openFrontendValidation() }),
          perPort: arr(openWith({ port: port(), tls: openWith({ validation: openFrontendValidation() }) }, ['port', 'tls'])),
        },
        ['default'],
      ),
    }),
    allowedListeners: openWith({ namespaces: openWith({ selector: openLabelSelector() }) }),
    defaultScope: str(),
  },
  ['gatewayClassName', 'listeners'],
);
export const gatewaySchema: JsonSchema = kubeObject({ spec: gatewaySpecSchema }, ['spec']);

const parentRef = () =>
  obj({ group: group(), kind: kind(), namespace: str(), name: objectName(), sectionName: sectionName(), port: port() }, ['name']);

const httpHeader = () => obj({ name: headerName(), value: str({ minLength: 1, maxLength: 4096 }) }, ['name', 'value']);
const headerFilter = () =>
  obj({ set: arr(httpHeader(), { maxItems: 16 }), add: arr(httpHeader(), { maxItems: 16 }), remove: arr(str(), { maxItems: 16 }) });
const pathModifier = () =>
  obj({ type: enumOf(['ReplaceFullPath', 'ReplacePrefixMatch']), replaceFullPath: str({ maxLength: 1024 }), replacePrefixMatch: str({ maxLength: 1024 }) }, ['type']);
const backendObjectReference = () => obj({ group: group(), kind: kind(), name: objectName(), namespace: str(), port: port() }, ['name']);

const requestMirror = () =>
  obj(
    {
      backendRef: backendObjectReference(),
      percent: int({ minimum: 0, maximum: 100 }),
      fraction: obj({ numerator: int({ minimum: 0 }), denominator: int({ minimum: 1 }) }, ['numerator']),
    },
    ['backendRef'],
  );

// Filter types of the Experimental channel's CRD (a superset of the
// Standard's); the dag reports the ones it does not support.
const HTTP_FILTER_TYPES = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'RequestRedirect', 'URLRewrite', 'ExtensionRef', 'CORS', 'ExternalAuth'];
const GRPC_FILTER_TYPES = ['ResponseHeaderModifier', 'RequestHeaderModifier', 'RequestMirror', 'ExtensionRef'];

/** A rule's sessionPersistence (Experimental channel): header.name. */
const sessionPersistence = () => openWith({ header: openWith({ name: headerName() }, ['name']) });

const httpRouteFilter = () =>
  obj(
    {
      type: enumOf(HTTP_FILTER_TYPES),
      requestHeaderModifier: headerFilter(),
      responseHeaderModifier: headerFilter(),
      requestMirror: requestMirror(),
      requestRedirect: obj({
        scheme: enumOf(['http', 'https']),
        hostname: preciseHostname(),
        path: pathModifier(),
        port: port(),
        statusCode: enumOf([301, 302, 303, 307, 308], 'integer'),
      }),
      urlRewrite: obj({ hostname: preciseHostname(), path: pathModifier() }),
      cors: open(),
      // Experimental channel: HTTPExternalAuthFilter.
      externalAuth: openWith({ backendRef: openWith({ name: objectName() }, ['name']), protocol: enumOf(['HTTP', 'GRPC']) }, ['backendRef', 'protocol']),
      extensionRef: openGroupKindName(),
    },
    ['type'],
  );

const httpRouteMatch = () =>
  obj({
    path: obj({ type: enumOf(['Exact', 'PathPrefix', 'RegularExpression']), value: str({ maxLength: 1024 }) }),
    headers: arr(obj({ type: enumOf(['Exact', 'RegularExpression']), name: headerName(), value: str({ minLength: 1, maxLength: 4096 }) }, ['name', 'value']), { maxItems: 16 }),
    queryParams: arr(obj({ type: enumOf(['Exact', 'RegularExpression']), name: headerName(), value: str({ minLength: 1, maxLength: 1024 }) }, ['name', 'value']), { maxItems: 16 }),
    method: enumOf(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']),
  });

const duration = () => str({ pattern: '^([0-9]{1,5}(h|m|s|ms)){1,4}$' });

export const httpRouteSpecSchema = obj({
  parentRefs: arr(parentRef(), { maxItems: 32 }),
  hostnames: arr(hostname(), { maxItems: 16 }),
  rules: arr(
    obj({
      name: sectionName(),
      matches: arr(httpRouteMatch(), { maxItems: 64 }),
      filters: arr(httpRouteFilter(), { maxItems: 16 }),
      backendRefs: arr(
        obj({ group: group(), kind: kind(), name: objectName(), namespace: str(), port: port(), weight: int({ minimum: 0, maximum: 1000000 }), filters: arr(httpRouteFilter(), { maxItems: 16 }) }, ['name']),
        { maxItems: 16 },
      ),
      timeouts: obj({ request: duration(), backendRequest: duration() }),
      retry: open(),
      sessionPersistence: sessionPersistence(),
    }),
    { maxItems: 16 },
  ),
  useDefaultGateways: str(),
});
export const httpRouteSchema: JsonSchema = kubeObject({ spec: httpRouteSpecSchema }, ['spec']);

export const referenceGrantSpecSchema = obj(
  {
    from: arr(obj({ group: group(), kind: kind(), namespace: str({ minLength: 1, maxLength: 63 }) }, ['group', 'kind', 'namespace']), { minItems: 1, maxItems: 16 }),
    to: arr(obj({ group: group(), kind: kind(), name: str({ maxLength: 253 }) }, ['group', 'kind']), { minItems: 1, maxItems: 16 }),
  },
  ['from', 'to'],
);
export const referenceGrantSchema: JsonSchema = kubeObject({ spec: referenceGrantSpecSchema }, ['spec']);

export const backendTLSPolicySpecSchema = obj(
  {
    targetRefs: arr(obj({ group: group(), kind: kind(), name: objectName(), sectionName: sectionName() }, ['group', 'kind', 'name']), { minItems: 1, maxItems: 16 }),
    validation: obj(
      {
        caCertificateRefs: arr(obj({ group: group(), kind: kind(), name: objectName() }, ['group', 'kind', 'name']), { maxItems: 8 }),
        wellKnownCACertificates: str(),
        hostname: preciseHostname(),
        subjectAltNames: arr(obj({ type: enumOf(['Hostname', 'URI']), hostname: hostname(), uri: str() }, ['type']), { maxItems: 5 }),
      },
      ['hostname'],
    ),
    options: strMap(),
  },
  ['targetRefs', 'validation'],
);
export const backendTLSPolicySchema: JsonSchema = kubeObject({ spec: backendTLSPolicySpecSchema }, ['spec']);

const grpcHeaderMatch = () => obj({ type: enumOf(['Exact', 'RegularExpression']), name: headerName(), value: str({ minLength: 1, maxLength: 4096 }) }, ['name', 'value']);
const grpcRouteFilter = () =>
  obj(
    {
      type: enumOf(GRPC_FILTER_TYPES),
      requestHeaderModifier: headerFilter(),
      responseHeaderModifier: headerFilter(),
      requestMirror: requestMirror(),
      extensionRef: openGroupKindName(),
    },
    ['type'],
  );

export const grpcRouteSpecSchema = obj({
  parentRefs: arr(parentRef(), { maxItems: 32 }),
  hostnames: arr(hostname(), { maxItems: 16 }),
  rules: arr(
    obj({
      name: sectionName(),
      matches: arr(
        obj({
          method: obj({ type: enumOf(['Exact', 'RegularExpression']), service: str({ maxLength: 1024 }), method: str({ maxLength: 1024 }) }),
          headers: arr(grpcHeaderMatch(), { maxItems: 16 }),
        }),
        { maxItems: 64 },
      ),
      filters: arr(grpcRouteFilter(), { maxItems: 16 }),
      backendRefs: arr(
        obj({ group: group(), kind: kind(), name: objectName(), namespace: str(), port: port(), weight: int({ minimum: 0, maximum: 1000000 }), filters: arr(grpcRouteFilter(), { maxItems: 16 }) }, ['name']),
        { maxItems: 16 },
      ),
      sessionPersistence: sessionPersistence(),
    }),
    { maxItems: 16 },
  ),
});
export const grpcRouteSchema: JsonSchema = kubeObject({ spec: grpcRouteSpecSchema }, ['spec']);

/** TLSRoute's and TCPRoute's rules: weighted backendRefs, nothing to match
 *  (v1alpha2 allows 16 rules, v1 one: see tlsRouteSchema). */
const streamRouteRules = () =>
  arr(
    obj(
      {
        name: sectionName(),
        backendRefs: arr(obj({ group: group(), kind: kind(), name: objectName(), namespace: str(), port: port(), weight: int({ minimum: 0, maximum: 1000000 }) }, ['name']), { minItems: 1, maxItems: 16 }),
      },
      ['backendRefs'],
    ),
    { minItems: 1, maxItems: 16 },
  );

export const tlsRouteSpecSchema = obj(
  {
    parentRefs: arr(parentRef(), { maxItems: 32 }),
    hostnames: arr(hostname(), { maxItems: 1024 }),
    rules: streamRouteRules(),
    useDefaultGateways: str(),
  },
  ['rules'],
);
// One schema reads every version: v1's own limits (at least one hostname,
// one rule) are not applied, since an object stored through v1alpha2 comes
// back at v1 without them; the dag reports a rule it does not serve.
export const tlsRouteSchema: JsonSchema = kubeObject({ spec: tlsRouteSpecSchema }, ['spec']);

/** TCPRoute (v1 in the Standard channel; v1alpha2 has the same fields):
 *  weighted backendRefs, no hostnames. */
export const tcpRouteSpecSchema = obj(
  {
    parentRefs: arr(parentRef(), { maxItems: 32 }),
    rules: streamRouteRules(),
    useDefaultGateways: str(),
  },
  ['rules'],
);
export const tcpRouteSchema: JsonSchema = kubeObject({ spec: tcpRouteSpecSchema }, ['spec']);
