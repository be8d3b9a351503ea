// What the proxy needs to verify JWTs (Envoy's jwt_authn filter as Contour
// configures it): the providers of a virtual host, and on each route the
// provider it requires. Plain JSON; a CA bundle is referenced by id from
// ProxyConfig.caBundles, a local JWKS is carried inline.

/** Envoy's dns_lookup_family, as Contour names it. */
export type DnsLookupFamily = 'auto' | 'v4' | 'v6' | 'all';

export interface RemoteJwks {
  kind: 'remote';
  /** http or https URL of the JWKS. */
  uri: string;
  /** Deadline of one fetch, whole response included (Contour's default 1 s). */
  timeoutMs: number;
  /** How long fetched keys are used; null: Envoy's default, 10 minutes. */
  cacheDurationMs: number | null;
  dnsLookupFamily: DnsLookupFamily;
  /** Verify the JWKS server: trust only the CA bundle, require a DNS SAN
   *  equal to one of subjectNames. Absent: https is not verified (Contour). */
  validation?: { caBundleId: string; subjectNames: string[] };
  minTlsVersion: '1.2' | '1.3';
  maxTlsVersion: '1.2' | '1.3';
}

export interface LocalJwks {
  kind: 'local';
  /** The JWKS document from the Secret. */
  json: string;
}

export interface JwtProvider {
  name: string;
  /** Required `iss`; "" accepts any. */
  issuer: string;
  /** Allowed `aud` values; [] accepts any. */
  audiences: string[];
  /** Keep the token on the upstream request. */
  forwardJWT: boolean;
  jwks: RemoteJwks | LocalJwks;
}

/** On a virtual host: the providers its routes may require. */
export interface JwtConfig {
  providers: JwtProvider[];
}

/** On a route: verify with this provider of the virtual host before forwarding. */
export interface JwtRequirement {
  provider: string;
}
