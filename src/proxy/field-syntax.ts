// What the two HTTP/1.1 head writers, the upstream client's (h1-client.ts)
// and the downstream server's (h1-response.ts), check of every field they
// write: a name is a token (RFC 9110 §5.1), a value holds no control byte
// but HTAB (node:http's checkInvalidHeaderChar); and which names HTTP/1.1
// framing and connection handling read, told apart cheaply, since most
// names are none of these.

/** An HTTP token: a field name, a method. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A byte a field value may not hold. */
export const INVALID_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const IS_TOKEN_CHAR = new Uint8Array(256);
for (let i = 0; i < TOKEN_CHARS.length; i++) IS_TOKEN_CHAR[TOKEN_CHARS.charCodeAt(i)] = 1;

/** TOKEN.test(s), by a table: a regex call costs more than the loop over
 *  the few characters of a name or a method. */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || IS_TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}

const IS_VALUE_CHAR = new Uint8Array(256);
IS_VALUE_CHAR[0x09] = 1;
IS_VALUE_CHAR.fill(1, 0x20, 0x7f);
IS_VALUE_CHAR.fill(1, 0x80, 0x100);

/** !INVALID_FIELD_VALUE.test(s), by a table, for a short value on its own. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || IS_VALUE_CHAR[c] === 0) return false;
  }
  return true;
}

const LINE = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+: [\\t\\x20-\\x7e\\x80-\\xff]*\\r\\n";
/** A status line as h1-response.ts writes it, its reason phrase held to the value class. */
const STATUS_LINE = 'HTTP/1\\.1 [0-9]{3} [\\t\\x20-\\x7e\\x80-\\xff]*\\r\\n';
/** Above this many lines a head is checked field by field (and at most
 *  this many patterns are ever compiled, whatever a peer sends). */
export const MAX_COUNTED_LINES = 128;
const counted: RegExp[] = [];

/** A pattern matching exactly `n` field lines (`name: value` CRLF),
 *  after a status line when `start` is 'status'; undefined above
 *  MAX_COUNTED_LINES.
 *
 *  One test of the head as it will be written checks every value, where
 *  a test of a concatenation of the values had to build that string
 *  first. It holds because no character of a line but its final CRLF may
 *  be CR or LF: a head built from `n` fields has exactly `n` lines only if
 *  no value holds a CR or LF, and then each value is its line's value
 *  part. Names are not proved tokens this way (a name `a: b` still makes
 *  one valid line): the writers check each name with isToken(). */
export function fieldLines(n: number, start: '' | 'status' = ''): RegExp | undefined {
  if (n > MAX_COUNTED_LINES) return undefined;
  const i = start === '' ? n : n + MAX_COUNTED_LINES + 1;
  return (counted[i] ??= new RegExp(`^${start === '' ? '' : STATUS_LINE}(?:${LINE}){${n}}$`));
}

/** The lowercased name when it may be Host, Date, Expect, Upgrade,
 *  Trailer, Connection, Keep-Alive, Content-Length or Transfer-Encoding
 *  (by its length and first letter, so most names are never lowercased);
 *  undefined when it cannot be one of them. */
export function framingField(name: string): string | undefined {
  const c = name.charCodeAt(0) | 0x20;
  switch (name.length) {
    case 4:
      return c === 0x68 /* h */ || c === 0x64 /* d */ ? name.toLowerCase() : undefined;
    case 6:
      return c === 0x65 /* e */ ? name.toLowerCase() : undefined;
    case 7:
      return c === 0x75 /* u */ || c === 0x74 /* t */ ? name.toLowerCase() : undefined;
    case 10:
      return c === 0x63 /* c */ || c === 0x6b /* k */ ? name.toLowerCase() : undefined;
    case 14:
      return c === 0x63 /* c */ ? name.toLowerCase() : undefined;
    case 17:
      return c === 0x74 /* t */ ? name.toLowerCase() : undefined;
    default:
      return undefined;
  }
}
