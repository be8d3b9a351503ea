// HTTPProxy (projectcontour.io/v1) and TLSCertificateDelegation, written
// from Contour's CRDs: the same types, enums, bounds and required fields.
// Fields isobar does not implement (a route's slowStartPolicy, which
// Contour's Route does not have) are accepted, mostly as free-form
// objects, so manifests that use them still load; each
// is marked notImplemented, and the dag warns where one is set or, for a
// field that restricts access (notEnforced), makes the HTTPProxy invalid.
// This file is the one description of an HTTPProxy: its TypeScript type (objects/types.ts)
// and the dag's model of it (dag/model.ts) are derived from it.

import type { JsonSchema } from './builders.ts';
import {
  ABSOLUTE_PATH_PATTERN,
  arr,
  COOKIE_NAME_PATTERN,
  COOKIE_PATH_PATTERN,
  CORS_HEADER_PATTERN,
  CORS_MAX_AGE_PATTERN,
  bool,
  duration,
  enumOf,
  FQDN_PATTERN,
  goDuration,
  HOSTNAME_PATTERN,
  int,
  kubeObject,
  notEnforced,
  notImplemented,
  nullWhenUnset,
  obj,
  open,
  port,
  str,
} from './builders.ts';
import { authorizationPolicy, authorizationServer } from './extensionservice.ts';
import { upstreamValidation } from './upstream-validation.ts';

const headerMatch = () =>
  obj(
    {
      name: str(),
      present: bool(),
      notpresent: bool(),
      contains: str(),
      notcontains: str(),
      exact: str(),
      notexact: str(),
      regex: str(),
      ignoreCase: bool(),
      treatMissingAsEmpty: bool(),
    },
    ['name'],
  );

const queryMatch = () =>
  obj(
    {
      name: str(),
      exact: str(),
      prefix: str(),
      suffix: str(),
      regex: str(),
      contains: str(),
      present: bool(),
      ignoreCase: bool(),
    },
    ['name'],
  );

const matchCondition = () =>
  obj({ prefix: str(), exact: str(), regex: str(), header: headerMatch(), queryParameter: queryMatch() });

// Contour's CookieRewritePolicy: the Set-Cookie attributes a route or a
// service rewrites (Contour's CRD patterns and bounds).
const cookieRewritePolicies = () =>
  arr(
    obj(
      {
        name: str({ minLength: 1, maxLength: 4096, pattern: COOKIE_NAME_PATTERN }),
        pathRewrite: obj({ value: str({ minLength: 1, maxLength: 4096, pattern: COOKIE_PATH_PATTERN }) }, ['value']),
        domainRewrite: obj({ value: str({ minLength: 1, maxLength: 4096, pattern: HOSTNAME_PATTERN }) }, ['value']),
        secure: nullWhenUnset(bool()),
        sameSite: nullWhenUnset(enumOf(['Strict', 'Lax', 'None'])),
      },
      ['name'],
    ),
  );

// Contour's HTTPInternalRedirectPolicy.
const internalRedirectPolicy = () =>
  obj({
    maxInternalRedirects: int({ minimum: 0, maximum: 4294967295 }),
    redirectResponseCodes: arr(enumOf([301, 302, 303, 307, 308], 'integer')),
    allowCrossSchemeRedirect: enumOf(['Always', 'Never', 'SafeOnly']),
    denyRepeatedRouteRedirect: bool(),
  });

const headersPolicy = () =>
  obj({
    set: arr(obj({ name: str({ minLength: 1 }), value: str({ minLength: 1 }) }, ['name', 'value'])),
    remove: arr(str()),
  });


// A route's filters replace the virtual host's (Contour's IPFilterPolicy).
const ipFilterPolicy = () => arr(obj({ source: enumOf(['Peer', 'Remote']), cidr: str() }, ['source', 'cidr']));

// Contour's RateLimitDescriptorEntry: exactly one kind per entry (the dag
// reports Contour's error otherwise); each kind's fields required as its
// CRD requires them.
const rateLimitDescriptorEntry = () =>
  obj({
    genericKey: obj({ key: str(), value: str({ minLength: 1 }) }, ['value']),
    requestHeader: obj({ headerName: str({ minLength: 1 }), descriptorKey: str({ minLength: 1 }) }, ['descriptorKey', 'headerName']),
    requestHeaderValueMatch: obj({ headers: arr(headerMatch(), { minItems: 1 }), expectMatch: bool(), value: str({ minLength: 1 }) }, ['value']),
    remoteAddress: obj({}),
  });

/** Contour's GlobalRateLimitPolicy (also the config file's defaultGlobalRateLimitPolicy). */
export const globalRateLimitPolicy = () =>
  obj({
    disabled: bool(),
    descriptors: arr(obj({ entries: arr(rateLimitDescriptorEntry(), { minItems: 1 }) }, ['entries']), { minItems: 1 }),
  });

// Contour's RateLimitPolicy; a route's limits replace the virtual host's.
const rateLimitPolicy = () =>
  obj({
    local: obj(
      {
        requests: int({ minimum: 1, maximum: 4294967295 }),
        unit: enumOf(['second', 'minute', 'hour']),
        burst: int({ minimum: 0, maximum: 4294967295 }),
        responseStatusCode: int({ minimum: 400, maximum: 599 }),
        responseHeadersToAdd: arr(obj({ name: str({ minLength: 1 }), value: str({ minLength: 1 }) }, ['name', 'value'])),
      },
      ['requests', 'unit'],
    ),
    global: globalRateLimitPolicy(),
  });

const corsHeaderValues = () => arr(str({ pattern: CORS_HEADER_PATTERN }), { minItems: 1 });

const corsPolicy = () =>
  obj(
    {
      allowCredentials: bool(),
      allowOrigin: arr(str(), { minItems: 1 }),
      allowMethods: corsHeaderValues(),
      allowHeaders: corsHeaderValues(),
      exposeHeaders: corsHeaderValues(),
      maxAge: str({ pattern: CORS_MAX_AGE_PATTERN }),
      allowPrivateNetwork: bool(),
    },
    ['allowOrigin', 'allowMethods'],
  );

// Exactly one JWKS source; the CEL rule is checked by hand in schema.ts.
const jwtProvider = () =>
  obj(
    {
      name: str({ minLength: 1 }),
      default: bool(),
      issuer: str(),
      audiences: arr(str()),
      remoteJWKS: obj(
        {
          uri: str({ minLength: 1 }),
          validation: upstreamValidation(),
          timeout: goDuration(),
          cacheDuration: goDuration(),
          dnsLookupFamily: enumOf(['auto', 'v4', 'v6']),
        },
        ['uri'],
      ),
      localJWKS: obj({ secretName: str({ minLength: 1 }), key: str({ minLength: 1 }) }, ['key', 'secretName']),
      forwardJWT: bool(),
    },
    ['name'],
    {
      'x-kubernetes-validations': [
        {
          rule: '(has(self.remoteJWKS) && !has(self.localJWKS)) || (!has(self.remoteJWKS) && has(self.localJWKS))',
          message: 'exactly one of remoteJWKS or localJWKS must be set',
        },
      ],
    },
  );

const service = () =>
  obj(
    {
      name: str(),
      port: port(),
      healthPort: port(),
      protocol: nullWhenUnset(enumOf(['h2', 'h2c', 'tls'])),
      weight: int({ minimum: 0 }),
      mirror: bool(),
      validation: upstreamValidation(),
      requestHeadersPolicy: headersPolicy(),
      responseHeadersPolicy: headersPolicy(),
      cookieRewritePolicies: cookieRewritePolicies(),
      slowStartPolicy: obj(
        {
          window: goDuration(),
          aggression: str({ pattern: '^([0-9]+([.][0-9]+)?|[.][0-9]+)$', default: '1.0' }),
          minWeightPercent: nullWhenUnset(int({ minimum: 0, maximum: 100, default: 10 })),
        },
        ['window'],
      ),
    },
    ['name', 'port'],
  );

const loadBalancerPolicy = () =>
  obj({
    strategy: str(),
    requestHashPolicies: arr(
      obj({
        terminal: bool(),
        headerHashOptions: obj({ headerName: str({ minLength: 1 }) }, ['headerName']),
        queryParameterHashOptions: obj({ parameterName: str({ minLength: 1 }) }, ['parameterName']),
        hashSourceIP: bool(),
      }),
    ),
  });

// A function, not a shared object: generated CRD YAML stays free of anchors.
const healthThresholds = () => ({
  intervalSeconds: int(),
  timeoutSeconds: int(),
  unhealthyThresholdCount: int({ minimum: 0 }),
  healthyThresholdCount: int({ minimum: 0 }),
});

export const RETRY_ON = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

const route = () =>
  obj({
    conditions: arr(matchCondition()),
    services: arr(service()),
    enableWebsockets: bool(),
    permitInsecure: bool(),
    authPolicy: authorizationPolicy(),
    timeoutPolicy: obj({ response: duration(), idle: duration(), idleConnection: duration() }),
    retryPolicy: obj({
      count: int({ minimum: -1 }),
      perTryTimeout: duration(),
      retryOn: arr(enumOf(RETRY_ON)),
      retriableStatusCodes: arr(int()),
    }),
    healthCheckPolicy: obj(
      {
        path: str(),
        host: str(),
        ...healthThresholds(),
        expectedStatuses: arr(obj({ start: int({ minimum: 100, maximum: 599 }), end: int({ minimum: 101, maximum: 600 }) }, ['start', 'end'])),
      },
      ['path'],
    ),
    loadBalancerPolicy: loadBalancerPolicy(),
    pathRewritePolicy: obj({
      replacePrefix: arr(obj({ prefix: str({ minLength: 1 }), replacement: str({ minLength: 1 }) }, ['replacement'])),
    }),
    requestHeadersPolicy: headersPolicy(),
    responseHeadersPolicy: headersPolicy(),
    cookieRewritePolicies: cookieRewritePolicies(),
    rateLimitPolicy: rateLimitPolicy(),
    requestRedirectPolicy: obj({
      scheme: enumOf(['http', 'https']),
      hostname: str({ minLength: 1, maxLength: 253, pattern: HOSTNAME_PATTERN }),
      port: port(),
      statusCode: enumOf([301, 302, 303, 307, 308], 'integer'),
      path: nullWhenUnset(str({ pattern: ABSOLUTE_PATH_PATTERN })),
      prefix: nullWhenUnset(str({ pattern: ABSOLUTE_PATH_PATTERN })),
    }),
    directResponsePolicy: obj({ statusCode: int({ minimum: 200, maximum: 599 }), body: str() }, ['statusCode']),
    internalRedirectPolicy: internalRedirectPolicy(),
    jwtVerificationPolicy: obj({ require: str(), disabled: bool() }),
    ipAllowPolicy: ipFilterPolicy(),
    ipDenyPolicy: ipFilterPolicy(),
    slowStartPolicy: notImplemented(open()),
  });

const virtualHostTls = () =>
  obj({
    secretName: str(),
    minimumProtocolVersion: str(),
    maximumProtocolVersion: str(),
    passthrough: bool(),
    enableFallbackCertificate: bool(),
    clientValidation: obj({
      caSecret: str({ minLength: 1 }),
      skipClientCertValidation: bool(),
      crlSecret: str({ minLength: 1 }),
      crlOnlyVerifyLeafCert: bool(),
      optionalClientCertificate: bool(),
      forwardClientCertificate: obj({ cert: bool(), chain: bool(), dns: bool(), subject: bool(), uri: bool() }),
    }),
  });

export const httpProxySpecSchema = obj({
  virtualhost: obj(
    {
      fqdn: str({ maxLength: 253, pattern: FQDN_PATTERN }),
      tls: virtualHostTls(),
      authorization: authorizationServer(),
      jwtProviders: arr(jwtProvider()),
      corsPolicy: corsPolicy(),
      rateLimitPolicy: rateLimitPolicy(),
      ipAllowPolicy: ipFilterPolicy(),
      ipDenyPolicy: ipFilterPolicy(),
    },
    ['fqdn'],
  ),
  routes: arr(route()),
  includes: arr(obj({ name: str(), namespace: str(), conditions: arr(matchCondition()) }, ['name'])),
  tcpproxy: obj({
    services: arr(service()),
    include: obj({ name: str(), namespace: str() }, ['name']),
    includes: obj({ name: str(), namespace: str() }, ['name']),
    loadBalancerPolicy: loadBalancerPolicy(),
    healthCheckPolicy: obj(healthThresholds()),
  }),
  ingressClassName: str(),
});

export const httpProxySchema: JsonSchema = kubeObject({ spec: httpProxySpecSchema }, ['spec']);

export const tlsCertificateDelegationSpecSchema = obj(
  {
    delegations: arr(obj({ secretName: str(), targetNamespaces: arr(str()) }, ['secretName', 'targetNamespaces'])),
  },
  ['delegations'],
);

export const tlsCertificateDelegationSchema: JsonSchema = kubeObject({ spec: tlsCertificateDelegationSpecSchema }, ['spec']);
