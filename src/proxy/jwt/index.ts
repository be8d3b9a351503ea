// JWT verification (Envoy's jwt_authn filter as Contour configures it):
// providers with a remote or local JWKS, one verdict per request.
export { JwtVerifier, denial, realmOf, type VerifierOptions } from './verifier.ts';
export { resolveProvider } from './resolve.ts';
export { JwtKeyStore, type JwtStoreOptions } from './key-store.ts';
export { RemoteKeys, LocalKeys, DEFAULT_CACHE_DURATION_MS, DEFAULT_KID_REFETCH_INTERVAL_MS } from './key-source.ts';
export type { KeySource, KeysNow, FetchEvent, RemoteKeysOptions } from './key-source.ts';
export { fetchJwks, JwksFetchError, sanMatches, type FetchFailure } from './jwks-fetch.ts';
export { parseJwks, KeySet } from './jwks.ts';
export { JWT_STATUS, httpStatusOf, type JwtStatus } from './status.ts';
export type { DnsLookupFamily, JwtProviderSpec, JwtRequest, JwtVerdict, LocalJwksSpec, RemoteJwksSpec } from './types.ts';
