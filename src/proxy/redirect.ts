// Location headers for redirect routes and for the port-80 side of TLS
// virtual hosts (301 to https).
import type { RouteAction } from '../dag/index.ts';

type Redirect = Extract<RouteAction, { kind: 'redirect' }>;

export interface RedirectInput {
  scheme: 'http' | 'https';
  /** Host without port, lower-case. */
  host: string;
  /** Port from the request's authority, or undefined. */
  port: string | undefined;
  path: string;
  query: string;
  /** The prefix the route matched, for prefix replacement. */
  matchedPrefix: string | undefined;
}

function hostForUrl(h: string): string {
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

export function httpsRedirectLocation(r: RedirectInput): string {
  return `https://${hostForUrl(r.host)}${r.path}${r.query ? '?' + r.query : ''}`;
}

export function redirectLocation(a: Redirect, r: RedirectInput): string {
  const scheme = a.scheme ?? r.scheme;
  const host = a.hostname ?? r.host;
  let port = '';
  if (a.port !== undefined) port = (scheme === 'https' && a.port === 443) || (scheme === 'http' && a.port === 80) ? '' : `:${a.port}`;
  else if (scheme === r.scheme && a.hostname === undefined && r.port) port = `:${r.port}`;
  let path = r.path;
  if (a.path !== undefined) path = a.path;
  else if (a.prefix !== undefined && r.matchedPrefix !== undefined && path.startsWith(r.matchedPrefix)) {
    path = a.prefix + path.slice(r.matchedPrefix.length);
    if (path === '') path = '/';
  }
  return `${scheme}://${hostForUrl(host)}${port}${path}${r.query ? '?' + r.query : ''}`;
}

export function authorityPort(authority: string | undefined): string | undefined {
  if (!authority) return undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end >= 0 && authority[end + 1] === ':' ? authority.slice(end + 2) : undefined;
  }
  const c = authority.indexOf(':');
  return c >= 0 ? authority.slice(c + 1) : undefined;
}
