// Go's net/url.Parse, as far as Contour's status messages quote it: which
// strings it rejects and with which error text, and the scheme, host and
// port it reads from the rest. Contour validates JWKS URIs with it.

/** Go's %q for the strings that reach these messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export type GoUrl = { ok: true; scheme: string; hostname: string; port: string } | { ok: false; error: string };

const HEX = /^[0-9a-fA-F]$/;

// Characters a host may hold unescaped (shouldEscape with encodeHost).
function hostCharOk(c: string): boolean {
  return /[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/.test(c);
}

/** url.unescape: a bad %-escape, or (in a host) a character that must be escaped. */
function unescapeError(s: string, host: boolean): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      if (i + 2 >= s.length || !HEX.test(s[i + 1]!) || !HEX.test(s[i + 2]!)) {
        return `invalid URL escape ${goQuote(s.slice(i, i + 3))}`;
      }
      // In a host, only %25 (a zone's "%") or bytes >= 0x80 may be escaped.
      if (host && parseInt(s[i + 1]!, 16) < 8 && s.slice(i, i + 3) !== '%25') return `invalid URL escape ${goQuote(s.slice(i, i + 3))}`;
      i += 2;
    } else if (host && c.charCodeAt(0) < 0x80 && !hostCharOk(c)) {
      return `invalid character ${goQuote(c)} in host name`;
    }
  }
  return null;
}

function validOptionalPort(p: string): boolean {
  return p === '' || /^:[0-9]*$/.test(p);
}

function parseHost(host: string): { ok: true; host: string } | { ok: false; error: string } {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) return { ok: false, error: "missing ']' in host" };
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) return { ok: false, error: `invalid port ${goQuote(colonPort)} after host` };
  } else {
    const i = host.lastIndexOf(':');
    if (i >= 0) {
      const colonPort = host.slice(i);
      if (!validOptionalPort(colonPort)) return { ok: false, error: `invalid port ${goQuote(colonPort)} after host` };
    }
  }
  const e = unescapeError(host, true);
  return e ? { ok: false, error: e } : { ok: true, host: decodeURIComponentSafe(host) };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function validUserinfo(s: string): boolean {
  return /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(s);
}

/** url.Parse(raw): the error text is `parse "<raw>": <reason>`, as Go prints *url.Error. */
export function parseGoUrl(raw: string): GoUrl {
  const hash = raw.indexOf('#');
  const u = hash < 0 ? raw : raw.slice(0, hash);
  const frag = hash < 0 ? '' : raw.slice(hash + 1);
  const fail = (target: string, reason: string): GoUrl => ({ ok: false, error: `parse ${goQuote(target)}: ${reason}` });
  // Any ASCII control character, anywhere.
  if (/[\x00-\x1f\x7f]/.test(u)) return fail(u, 'net/url: invalid control character in URL');

  let scheme = '';
  let rest = u;
  for (let i = 0; i < u.length; i++) {
    const c = u[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ':') {
      if (i === 0) return fail(u, 'missing protocol scheme');
      scheme = u.slice(0, i).toLowerCase();
      rest = u.slice(i + 1);
    }
    break;
  }
  if (rest.endsWith('?') && rest.split('?').length === 2) rest = rest.slice(0, -1);
  else {
    const q = rest.indexOf('?');
    if (q >= 0) rest = rest.slice(0, q);
  }
  let hostname = '';
  let port = '';
  if (!rest.startsWith('/')) {
    if (scheme !== '') return checkFragment({ ok: true, scheme, hostname, port }, raw, frag); // opaque
    const segment = rest.split('/')[0]!;
    if (segment.includes(':')) return fail(u, 'first path segment in URL cannot contain colon');
  }
  if ((scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    const slash = authority.indexOf('/');
    rest = slash >= 0 ? authority.slice(slash) : '';
    if (slash >= 0) authority = authority.slice(0, slash);
    const at = authority.lastIndexOf('@');
    const h = parseHost(at < 0 ? authority : authority.slice(at + 1));
    if (!h.ok) return fail(u, h.error);
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!validUserinfo(userinfo)) return fail(u, 'net/url: invalid userinfo');
      const ue = unescapeError(userinfo, false);
      if (ue) return fail(u, ue);
    }
    // splitHostPort, then Hostname() strips IPv6 brackets.
    let host = h.host;
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && validOptionalPort(host.slice(colon))) {
      port = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    hostname = host;
  }
  const pe = unescapeError(rest, false);
  if (pe) return fail(u, pe);
  return checkFragment({ ok: true, scheme, hostname, port }, raw, frag);
}

function checkFragment(parsed: GoUrl, raw: string, frag: string): GoUrl {
  const e = unescapeError(frag, false);
  return e ? { ok: false, error: `parse ${goQuote(raw)}: ${e}` } : parsed;
}

/** strconv.Atoi on the digits url.Port() returns. */
export function goAtoiPort(port: string): { ok: true; value: number } | { ok: false; error: string } {
  if (BigInt(port) > 9223372036854775807n) return { ok: false, error: `strconv.Atoi: parsing ${goQuote(port)}: value out of range` };
  return { ok: true, value: Number(port) };
}
