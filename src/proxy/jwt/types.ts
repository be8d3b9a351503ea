// The shapes JWT verification works on: a provider as the DAG hands it over
// (plain JSON, like the rest of ProxyConfig) and the verdict on one request.
import type { JwtStatus } from './status.ts';

/** Envoy's dns_lookup_family names, as Contour writes them. */
export type DnsLookupFamily = 'auto' | 'v4' | 'v6' | 'all';

export interface RemoteJwksSpec {
  kind: 'remote';
  /** http or https URL of the JWKS. */
  uri: string;
  /** Deadline for one fetch, whole response included (Contour's default 1 s). */
  timeoutMs: number;
  /** How long a fetched JWKS is used; null means Envoy's default, 10 minutes. */
  cacheDurationMs: number | null;
  dnsLookupFamily: DnsLookupFamily;
  /** When present, the server certificate must chain to caPem and carry a
   *  DNS SAN equal to one of subjectNames; absent, https is not verified
   *  (Contour's documented default). */
  validation?: { caPem: string; subjectNames: string[] };
  minTlsVersion: '1.2' | '1.3';
  maxTlsVersion: '1.2' | '1.3';
}

export interface LocalJwksSpec {
  kind: 'local';
  /** The JWKS document, as the Secret holds it. */
  json: string;
}

export interface JwtProviderSpec {
  name: string;
  /** Required `iss`; "" accepts any issuer. */
  issuer: string;
  /** Allowed `aud` values (any one suffices); [] accepts any audience. */
  audiences: string[];
  /** Keep the token on the request sent upstream (Envoy removes it otherwise). */
  forwardJWT: boolean;
  jwks: RemoteJwksSpec | LocalJwksSpec;
}

/** What verification reads from a request. */
export interface JwtRequest {
  /** Lower-case names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The request target: path and query. */
  path: string;
  scheme: 'http' | 'https';
  authority: string;
}

export type JwtVerdict =
  | {
      ok: true;
      /** The token stays on the upstream request. */
      forward: boolean;
      /** Headers to remove before forwarding (the token's, when not forwarded). */
      removeHeaders: string[];
      /** The path to forward instead, when a token came from the query and is not forwarded. */
      path?: string;
    }
  | {
      ok: false;
      status: 401 | 403;
      code: JwtStatus;
      /** Envoy's text for the status, sent as the body. */
      body: string;
      wwwAuthenticate: string;
    };
