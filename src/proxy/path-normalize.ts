// The request path as Contour's Envoy routes and forwards it: connection
// manager `normalize_path: true` (RFC 3986 normalisation through Chromium's
// URL path canonicaliser, Envoy's PathUtil::canonicalPath) and, unless
// `disableMergeSlashes`, `merge_slashes`. Without it a route policy on
// /admin (an IP filter, JWT, authorization, a rate limit) would not see
// /x/%2e%2e/admin, /%61dmin, //admin or /x\..\admin, which a backend that
// decodes or merges the path itself serves as /admin.
//
// What the canonicaliser does, character by character:
// - `\` is a path separator, like `/`;
// - `%XX` of an unreserved character (letters, digits, `-._~`) is decoded,
//   so `%2e` is a dot and takes part in dot segments; `%00` makes the path
//   invalid (Envoy answers 400); any other `%XX` is kept as it came;
// - a character that may not appear in a path unescaped (space, `"`, `#`,
//   `<`, `>`, `^`, `` ` ``, `{`, `|`, `}`, controls, bytes above 0x7e) is
//   percent-encoded;
// - `.` and `..` segments are resolved, never above the root.
// Then merge_slashes collapses each run of `/` into one.

const HEX = '0123456789ABCDEF';

// Per byte: 0 kept, 1 percent-encoded.
const ESCAPED = new Uint8Array(256);
for (let c = 0; c < 0x21; c++) ESCAPED[c] = 1;
for (let c = 0x7f; c < 256; c++) ESCAPED[c] = 1;
for (const ch of '"#<>^`{|}') ESCAPED[ch.charCodeAt(0)] = 1;

function unreserved(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Whether the path can be left as it came: the common case, checked in
 *  one pass so a plain path costs no allocation. */
function alreadyCanonical(path: string, mergeSlashes: boolean): boolean {
  let prev = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 || c === 0x5c || c > 0xff || ESCAPED[c] === 1) return false;
    if (c === 0x2e && prev === 0x2f) return false; // "/." may start a dot segment
    if (c === 0x2f && prev === 0x2f && mergeSlashes) return false;
    prev = c;
  }
  return true;
}

/** The canonical form of a path (no query), or undefined when it is not a
 *  valid path (a `%00`): the request is answered 400. Origin-form paths
 *  start with "/"; anything else is returned as it came. */
export function canonicalPath(path: string, mergeSlashes = true): string | undefined {
  if (path.charCodeAt(0) !== 0x2f || alreadyCanonical(path, mergeSlashes)) return path;
  // Segments as they will be written, each with whether it is a dot
  // segment once decoded ("." / "..", %2e counting as a dot).
  const segments: string[] = [];
  let seg = '';
  let dots = 0; // decoded dots in seg, -1 once seg holds anything else
  const endSegment = (last: boolean): void => {
    if (dots === 1) {
      if (last) segments.push('');
    } else if (dots === 2) {
      segments.pop();
      if (last) segments.push('');
    } else segments.push(seg);
    seg = '';
    dots = 0;
  };
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f || c === 0x5c) {
      endSegment(false);
      continue;
    }
    if (c === 0x25 && i + 2 < path.length) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        const v = hi * 16 + lo;
        if (v === 0) return undefined;
        if (unreserved(v)) {
          dots = v === 0x2e && dots >= 0 ? dots + 1 : -1;
          seg += String.fromCharCode(v);
        } else {
          dots = -1;
          seg += path.slice(i, i + 3);
        }
        i += 2;
        continue;
      }
    }
    if (c === 0x2e && dots >= 0) dots++;
    else dots = -1;
    if (c > 0xff) {
      // Not latin1: encode its UTF-8 bytes (node:http hands latin1 text).
      for (const b of Buffer.from(String.fromCharCode(c), 'utf8')) seg += `%${HEX[b >> 4]}${HEX[b & 15]}`;
    } else if (ESCAPED[c] === 1) seg += `%${HEX[c >> 4]}${HEX[c & 15]}`;
    else seg += path[i];
  }
  endSegment(true);
  let out = '/' + segments.join('/');
  if (mergeSlashes && out.includes('//')) out = out.replace(/\/{2,}/g, '/');
  return out;
}
