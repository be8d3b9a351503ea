// Which field names HTTP/1.1 framing and connection handling read, told
// apart cheaply: the head writers of the upstream client (h1-client.ts) and
// of the downstream server (h1-response.ts) look at every name they write,
// and most are none of these.

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
