// Envoy's internal redirects (a route's internal_redirect_policy, which
// Contour's internalRedirectPolicy sets): which upstream 3xx the proxy
// follows itself instead of passing it on. The checks that need only the
// response and the policy are here; the exchange routes the target (a
// target no route takes is passed on) and applies the previous-routes
// predicate, then sends the request again, as a new request through the
// whole filter chain, with x-envoy-original-url.
import type { InternalRedirectConfig, Route } from '../dag/index.ts';

export interface RedirectTarget {
  /** host[:port] from the Location, which becomes the Host. */
  authority: string;
  path: string;
  /** Text after '?', or "". */
  query: string;
  https: boolean;
}

/** What one downstream request carries from redirect to redirect. */
export interface RedirectChain {
  /** Internal redirects followed so far. */
  count: number;
  /** The first request's fully qualified URL (x-envoy-original-url). */
  originalUrl: string;
  /** Per redirecting route, the routes its redirects reached (previous_routes). */
  visited: Map<Route, Set<Route>>;
}

/** The target of a 3xx the policy follows, or undefined: the response is
 *  passed on as it came. Envoy's checks: a listed status, a Location that
 *  is a fully qualified http(s) URL, fewer redirects so far than the
 *  maximum, and a scheme the policy allows from the request's. */
export function redirectTarget(
  policy: InternalRedirectConfig,
  status: number,
  location: string | string[] | undefined,
  downstreamHttps: boolean,
  followed: number,
): RedirectTarget | undefined {
  if (!policy.redirectResponseCodes.includes(status)) return undefined;
  if (followed >= policy.maxInternalRedirects) return undefined;
  if (typeof location !== 'string' || !/^https?:\/\//i.test(location)) return undefined;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return undefined;
  }
  if (url.host === '' || url.username !== '' || url.password !== '') return undefined;
  const https = url.protocol === 'https:';
  switch (policy.allowCrossScheme) {
    case 'Never':
      if (https !== downstreamHttps) return undefined;
      break;
    case 'SafeOnly':
      // From https anywhere; from http only to http.
      if (!downstreamHttps && https) return undefined;
      break;
    case 'Always':
      break;
  }
  return { authority: url.host, path: url.pathname, query: url.search.slice(1), https };
}

/** Envoy's previous_routes predicate: false when `from` already sent a
 *  redirect to `to`; otherwise records it. */
export function firstVisit(chain: RedirectChain, from: Route, to: Route): boolean {
  let seen = chain.visited.get(from);
  if (seen === undefined) chain.visited.set(from, (seen = new Set()));
  if (seen.has(to)) return false;
  seen.add(to);
  return true;
}
