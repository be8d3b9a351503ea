// Normalised HTTPProxy shapes the processor works on. Every field has a
// definite type with a zero value ("" / 0 / false / null / []), the way the
// Go structs Contour reads behave, so rules written against Contour's
// zero-value checks translate directly and mangled input cannot reach the
// processor as anything but a zero value.

export interface NHeaderCond {
  name: string;
  present: boolean;
  notpresent: boolean;
  contains: string;
  notcontains: string;
  exact: string;
  notexact: string;
  regex: string;
  ignoreCase: boolean;
  treatMissingAsEmpty: boolean;
}

export interface NQueryCond {
  name: string;
  exact: string;
  prefix: string;
  suffix: string;
  regex: string;
  contains: string;
  present: boolean;
  ignoreCase: boolean;
}

export interface NCond {
  prefix: string;
  exact: string;
  regex: string;
  header: NHeaderCond | null;
  queryParameter: NQueryCond | null;
}

export interface NHeaders {
  set: { name: string; value: string }[];
  remove: string[];
}

export interface NValidation {
  caSecret: string;
  subjectName: string;
  subjectNames: string[];
}

export interface NService {
  name: string;
  port: number;
  protocol: string | null; // null: not set
  weight: number;
  mirror: boolean;
  validation: NValidation | null;
  requestHeadersPolicy: NHeaders | null;
  responseHeadersPolicy: NHeaders | null;
  /** Recognised but not implemented: reported as warnings. */
  unsupported: string[];
}

export interface NHashPolicy {
  headerName: string | null;
  queryParameterName: string | null;
  hashSourceIP: boolean;
  terminal: boolean;
}

export interface NLoadBalancerPolicy {
  strategy: string;
  requestHashPolicies: NHashPolicy[];
}

export interface NHealthCheck {
  path: string;
  host: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  unhealthyThresholdCount: number;
  healthyThresholdCount: number;
  expectedStatuses: { start: number; end: number }[];
}

export interface NRoute {
  conditions: NCond[];
  services: NService[];
  enableWebsockets: boolean;
  permitInsecure: boolean;
  timeoutPolicy: { response: string; idle: string; idleConnection: string } | null;
  retryPolicy: { count: number; perTryTimeout: string; retryOn: string[]; retriableStatusCodes: number[] } | null;
  healthCheckPolicy: NHealthCheck | null;
  loadBalancerPolicy: NLoadBalancerPolicy | null;
  replacePrefix: { prefix: string; replacement: string }[];
  requestHeadersPolicy: NHeaders | null;
  responseHeadersPolicy: NHeaders | null;
  requestRedirectPolicy: {
    scheme: string;
    hostname: string;
    port: number;
    statusCode: number;
    path: string | null;
    prefix: string | null;
  } | null;
  directResponsePolicy: { statusCode: number; body: string } | null;
  /** Recognised but not implemented: reported as warnings. */
  unsupported: string[];
}

export interface NInclude {
  name: string;
  namespace: string;
  conditions: NCond[];
}

export interface NTCPProxy {
  services: NService[];
  include: { name: string; namespace: string } | null;
  loadBalancerPolicy: NLoadBalancerPolicy | null;
  healthCheckPolicy: { intervalSeconds: number; timeoutSeconds: number; unhealthyThresholdCount: number; healthyThresholdCount: number } | null;
}

export interface NClientValidation {
  caSecret: string;
  skipClientCertValidation: boolean;
  crlSecret: string;
  optionalClientCertificate: boolean;
}

export interface NTls {
  secretName: string;
  minimumProtocolVersion: string;
  maximumProtocolVersion: string;
  passthrough: boolean;
  enableFallbackCertificate: boolean;
  clientValidation: NClientValidation | null;
}

export interface NVirtualHost {
  fqdn: string;
  /** fqdn lower-cased: roots are told apart by it (made once per object). */
  fqdnKey: string;
  tls: NTls | null;
  /** authorization.extensionRef.name set */
  authorization: boolean;
  jwtProviders: number;
  ipAllow: number;
  ipDeny: number;
  /** Recognised but not implemented: reported as warnings. */
  unsupported: string[];
  /** spec.virtualhost.corsPolicy, checked for Contour's errors only. */
  corsPolicy: { allowOrigin: string[]; allowMethods: string[]; maxAge: string } | null;
}

export interface NProxy {
  namespace: string;
  name: string;
  generation: number;
  ingressClass: string;
  virtualhost: NVirtualHost | null;
  routes: NRoute[];
  includes: NInclude[];
  tcpproxy: NTCPProxy | null;
}
