// Shared shapes of the PROXY protocol (v1 text, v2 binary), as decoded by
// parse.ts and produced by encode.ts.

export interface ProxyAddress {
  address: string;
  port: number;
}

export interface Tlv {
  type: number;
  value: Buffer;
}

export interface SslInfo {
  /** PP2_CLIENT_* bit field as sent (includes the PP2_CLIENT_SSL bit). */
  client: number;
  /** 0 when the client presented a certificate that verified. */
  verify: number;
  version?: string;
  cipher?: string;
  commonName?: string;
  signatureAlgorithm?: string;
  keyAlgorithm?: string;
  /** PP2_CLIENT_SSL: the client connected over SSL/TLS. */
  connectedWithSsl: boolean;
}

export type ProxyTransport = 'TCP4' | 'TCP6' | 'UDP4' | 'UDP6' | 'UNIX' | 'UNKNOWN';

export interface ProxyHeader {
  version: 1 | 2;
  command: 'PROXY' | 'LOCAL';
  transport: ProxyTransport;
  source?: ProxyAddress;
  destination?: ProxyAddress;
  /** Every TLV in wire order (v2 only; empty for v1 and LOCAL). */
  tlvs: Tlv[];
  // Decoded conveniences:
  authority?: string;
  alpn?: string;
  ssl?: SslInfo;
  /** PP2_TYPE_AWS subtype 0x01: the VPC endpoint id the client came through. */
  awsVpceId?: string;
  uniqueId?: Buffer;
  /** UNIX family is a datagram (SOCK_DGRAM) socket (family 0x32). */
  datagram?: boolean;
}

export const PP2_TYPE = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  SSL_VERSION: 0x21,
  SSL_CN: 0x22,
  SSL_CIPHER: 0x23,
  SSL_SIG_ALG: 0x24,
  SSL_KEY_ALG: 0x25,
  NETNS: 0x30,
  AWS: 0xea,
} as const;

export const PP2_CLIENT = { SSL: 0x01, CERT_CONN: 0x02, CERT_SESS: 0x04 } as const;

/** PP2_TYPE_AWS subtype carrying the VPC endpoint id. */
export const PP2_SUBTYPE_AWS_VPCE_ID = 0x01;

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
export const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v1 line limit from the specification, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** Default cap on a whole v2 header (16-byte preamble + addresses + TLVs).
 *  The wire format allows 16 + 65535; real senders stay far below 4096. */
export const DEFAULT_MAX_LENGTH = 4096;
/** The specification caps PP2_TYPE_UNIQUE_ID at 128 bytes. */
export const UNIQUE_ID_MAX = 128;

export type ProxyProtocolErrorCode =
  | 'INVALID_SIGNATURE'
  | 'BAD_VERSION'
  | 'BAD_COMMAND'
  | 'BAD_FAMILY'
  | 'BAD_LENGTH'
  | 'BAD_ADDRESS'
  | 'BAD_PORT'
  | 'BAD_SYNTAX'
  | 'BAD_TLV'
  | 'BAD_CRC'
  | 'TOO_LONG'
  | 'TIMEOUT'
  | 'CLOSED';

export class ProxyProtocolError extends Error {
  readonly code: ProxyProtocolErrorCode;
  constructor(code: ProxyProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(`PROXY protocol: ${message}`, options);
    this.name = 'ProxyProtocolError';
    this.code = code;
  }
}
