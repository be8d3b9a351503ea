// Shapes of external authorization in the proxy: the authorization server
// as the runtime dials it (certificates resolved from the config's ids),
// the settings of one virtual host, the facts of one request, and the
// decision the exchange acts on.

export type TlsVersion = '1.2' | '1.3';

export interface AuthzEndpoint {
  address: string; // IP literal
  port: number;
}

/** One Kubernetes Service of an ExtensionService's `services[]`. */
export interface AuthzServiceGroup {
  /** Relative weight; 0 for every group means equal shares. */
  weight: number;
  endpoints: AuthzEndpoint[];
}

export type AuthzLoadBalancer = 'RoundRobin' | 'WeightedLeastRequest' | 'Random';

/** An ExtensionService, ready to dial. */
export interface AuthzTarget {
  /** "extension/<namespace>/<name>", Contour's cluster name. */
  name: string;
  protocol: 'h2' | 'h2c';
  services: AuthzServiceGroup[];
  loadBalancer: AuthzLoadBalancer;
  /** Present iff protocol is h2. */
  tls?: {
    /** SNI, and the name the :authority carries (Contour: the subject name). */
    sni?: string;
    /** When present, the server certificate must chain to caPem and carry a
     *  DNS SAN equal to one of subjectNames; absent: encrypt, do not verify. */
    validation?: { caPem: string; subjectNames: string[] };
    clientCertPem?: string;
    clientKeyPem?: string;
    minVersion: TlsVersion;
    maxVersion: TlsVersion;
  };
}

export interface BodySettings {
  maxRequestBytes: number;
  allowPartialMessage: boolean;
  packAsBytes: boolean;
}

/** The ext_authz filter of one virtual host (Envoy's ExtAuthz as Contour
 *  configures it: status_on_error 403, include_peer_certificate). */
export interface AuthzSettings {
  /** Deadline of one Check; null: none. */
  timeoutMs: number | null;
  /** failure_mode_allow: an unreachable or failing server lets requests through. */
  failOpen: boolean;
  withRequestBody?: BodySettings;
}

export interface PeerFacts {
  address: string;
  port: number;
  /** PEM of the certificate this side presented, if any. */
  certificatePem?: string;
}

/** What the CheckRequest is built from. */
export interface RequestFacts {
  /** Envoy's stream id: any string unique enough to correlate logs. */
  id: string;
  method: string;
  /** The request target as received: path and query. */
  path: string;
  /** :authority (Host). */
  host: string;
  scheme: 'http' | 'https';
  protocol: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';
  /** Request headers as a flat [name, value, name, value, ...] list with
   *  lower-case names, as the proxy would send them upstream before route
   *  header policies (x-forwarded-for, x-request-id ... included). */
  headers: string[];
  /** The client (after the PROXY header) and the listener address it reached. */
  source: PeerFacts;
  destination: PeerFacts;
  /** When the first byte of the request arrived (epoch ms). */
  startTimeMs: number;
  /** Merged virtual host and route context. */
  contextExtensions: Record<string, string>;
  /** The buffered body (at most maxRequestBytes) when withRequestBody asks. */
  body?: { data: Buffer; received: number };
}

/** Envoy's HeaderAppendAction, plus the deprecated `append: true`. */
export type HeaderAction = 'append' | 'add' | 'addIfAbsent' | 'set' | 'setIfExists';

export interface HeaderMutation {
  key: string; // lower-case
  value: string;
  action: HeaderAction;
}

export interface UpstreamMutations {
  headers: HeaderMutation[];
  headersToRemove: string[];
  queryToSet: { key: string; value: string }[];
  queryToRemove: string[];
  /** Added to the response the client gets. */
  responseHeaders: HeaderMutation[];
}

/** ok: the server allowed it; failure_mode_allowed: the server failed and
 *  failOpen let it through. */
export type AllowOutcome = 'ok' | 'failure_mode_allowed';
/** denied: the server said no; error: the server failed (status_on_error). */
export type DenyOutcome = 'denied' | 'error';

export type AuthzDecision =
  | {
      kind: 'allow';
      outcome: AllowOutcome;
      mutations: UpstreamMutations;
      /** For failure_mode_allowed: the failure that was let through. */
      detail?: string;
    }
  | {
      kind: 'deny';
      outcome: DenyOutcome;
      status: number;
      headers: HeaderMutation[];
      body: string;
      /** Why, for logs: the gRPC status or the transport failure. */
      detail: string;
    };
