// PROXY protocol v1/v2: encode, strict parse, and read off a socket.
export {
  PP2_TYPE,
  PP2_CLIENT,
  PP2_SUBTYPE_AWS_VPCE_ID,
  DEFAULT_MAX_LENGTH,
  V1_MAX_LENGTH,
  V2_SIGNATURE,
  ProxyProtocolError,
  type ProxyAddress,
  type Tlv,
  type ProxyHeader,
  type ProxyTransport,
  type SslInfo,
  type ProxyProtocolErrorCode,
} from './types.ts';
export { parseProxyHeader, type ParseResult, type ParseOptions } from './parse.ts';
export { encodeV1, encodeV1Unknown, encodeV2, type EncodeV2Options } from './encode.ts';
export { readProxyHeader, type ReadOptions } from './read.ts';
export { crc32c } from './crc32c.ts';
