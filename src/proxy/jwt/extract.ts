// Where tokens come from: Envoy's default locations when a provider names
// none, which is how Contour configures it: every `Authorization` value
// holding "Bearer ", and the `access_token` query parameter.

export const ACCESS_TOKEN_PARAM = 'access_token';
const BEARER = 'Bearer ';
const TOKEN_CHARS = /[A-Za-z0-9_\-.]/;

export interface TokenAt {
  token: string;
  from: 'header' | 'query';
}

/** The token after the prefix: from the first base64url character or dot
 *  on (Envoy's extractJWT), or the value as-is when there is none. */
function afterPrefix(value: string, at: number): string {
  for (let i = at; i < value.length; i++) if (TOKEN_CHARS.test(value[i]!)) return value.slice(i);
  return value;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Header tokens first, then the query one: the order Envoy collects them in. */
export function extractTokens(headers: Record<string, string | string[] | undefined>, path: string): TokenAt[] {
  const out: TokenAt[] = [];
  const auth = headers.authorization;
  for (const v of auth === undefined ? [] : Array.isArray(auth) ? auth : [auth]) {
    const at = v.indexOf(BEARER);
    if (at >= 0) out.push({ token: afterPrefix(v, at + BEARER.length), from: 'header' });
  }
  const q = path.indexOf('?');
  if (q >= 0) {
    for (const pair of path.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      const name = decode(eq < 0 ? pair : pair.slice(0, eq));
      if (name === ACCESS_TOKEN_PARAM) {
        out.push({ token: decode(eq < 0 ? '' : pair.slice(eq + 1)), from: 'query' });
        break; // the first value only
      }
    }
  }
  return out;
}

/** The path without any access_token parameter (and without "?" when none is left). */
export function pathWithoutToken(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const kept = path
    .slice(q + 1)
    .split('&')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      return decode(eq < 0 ? pair : pair.slice(0, eq)) !== ACCESS_TOKEN_PARAM;
    });
  return kept.length === 0 || (kept.length === 1 && kept[0] === '') ? path.slice(0, q) : `${path.slice(0, q)}?${kept.join('&')}`;
}
