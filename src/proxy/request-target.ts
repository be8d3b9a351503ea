// The request target of an HTTP/1.x request line (RFC 9112 §3.2): origin
// form (/path?query) or absolute form (http://authority/path?query). An
// absolute-form target's authority is the request's host: it routes the
// request and replaces Host (RFC 9112 §3.2.2, as Envoy). Pure.

/** uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): a reg-name or an
 *  IP literal; no userinfo, path or whitespace. Empty is allowed (RFC 9112
 *  §3.2 for a target without authority) and routes nowhere. */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

export function validAuthority(value: string): boolean {
  return AUTHORITY.test(value);
}

export type RequestTarget =
  | {
      ok: true;
      /** Path without query or fragment, as sent ("/" when absent). */
      path: string;
      /** Text after "?", "" when there is none. */
      query: string;
      /** The authority of an absolute-form target; undefined for origin form. */
      authority?: string;
    }
  | { ok: false; reason: string };

const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

export function parseRequestTarget(url: string, allowAbsolute: boolean): RequestTarget {
  let rest = url;
  let authority: string | undefined;
  if (url.charCodeAt(0) !== 47 /* / */) {
    const m = allowAbsolute ? ABSOLUTE.exec(url) : null;
    if (m === null) return { ok: false, reason: 'request target is neither origin nor absolute form' };
    const scheme = m[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') return { ok: false, reason: `scheme ${scheme} is not http or https` };
    authority = m[2]!;
    if (authority === '' || !validAuthority(authority)) return { ok: false, reason: 'absolute-form target without a valid authority' };
    rest = m[3]!;
    if (rest !== '' && rest.charCodeAt(0) !== 47 && rest.charCodeAt(0) !== 63 /* ? */) return { ok: false, reason: 'invalid absolute-form target' };
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  let path = q < 0 ? rest : rest.slice(0, q);
  if (path === '') path = '/';
  const query = q < 0 ? '' : rest.slice(q + 1);
  return authority === undefined ? { ok: true, path, query } : { ok: true, path, query, authority };
}
