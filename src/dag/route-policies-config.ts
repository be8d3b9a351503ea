// What the proxy needs for a route's cookie rewriting and internal
// redirects (Contour's CookieRewritePolicy and HTTPInternalRedirectPolicy,
// as its Lua cookie filter and Envoy's internal_redirect_policy apply them).

/** The Set-Cookie attributes rewritten for one cookie name; an attribute
 *  left out is kept as the upstream wrote it. */
export interface CookieRewrite {
  name: string;
  path?: string;
  domain?: string;
  /** true adds Secure, false removes it. */
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface InternalRedirectConfig {
  /** Redirects followed for one downstream request (Envoy's default 1 when unset). */
  maxInternalRedirects: number;
  /** The upstream statuses that are followed (Envoy's default [302] when unset). */
  redirectResponseCodes: number[];
  /** Never: the target's scheme must be the request's; SafeOnly: https
   *  requests may also go to http targets; Always: any. */
  allowCrossScheme: 'Always' | 'Never' | 'SafeOnly';
  /** Envoy's previous_routes predicate: a target route already reached
   *  by a redirect from this route is not followed again. */
  denyRepeatedRouteRedirect: boolean;
}
