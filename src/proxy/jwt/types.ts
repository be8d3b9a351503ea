// The shapes JWT verification works on: a provider as the DAG hands it over
// (ProxyConfig's, with the validation CA resolved) and the verdict on one request.
import type { DnsLookupFamily, LocalJwks, RemoteJwks } from '../../dag/index.ts';
import type { JwtStatus } from './status.ts';

export type { DnsLookupFamily };
export type LocalJwksSpec = LocalJwks;

/** A remote JWKS with its validation CA resolved to PEM. */
export type RemoteJwksSpec = Omit<RemoteJwks, 'validation'> & {
  /** When present, the server certificate must chain to caPem and carry a
   *  DNS SAN equal to one of subjectNames; absent, https is not verified
   *  (Contour's documented default). */
  validation?: { caPem: string; subjectNames: string[] };
};

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
