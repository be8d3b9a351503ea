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
