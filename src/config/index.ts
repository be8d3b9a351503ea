// What other parts may use from src/config.
export type { CircuitBreakerDefaults, IsobarConfig, NamespacedName } from './types.ts';
export type { GlobalExtAuth } from './global-ext-auth.ts';
export type { AcmeConfig, AcmeDnsConfig } from './acme.ts';
export type { RateLimitService } from './rate-limit-service.ts';
export { defaultConfig } from './types.ts';
export { loadConfigFile, readConfigFile, parseConfig, ConfigError, formatProblem, CONFIG_KEYS } from './load.ts';
export type { LoadedConfig, ConfigProblem } from './load.ts';
export { parseDuration } from './duration.ts';
export type { DownstreamTimeouts, ListenerLimits, TimeoutValue } from './listener.ts';
export type { AccessLogConfig, AccessLogFormat, AccessLogLevel, FormatPart } from './access-log.ts';
export { DEFAULT_JSON_FIELDS, ENVOY_DEFAULT_FORMAT, formatParts, jsonFieldMap } from './access-log.ts';
export { DEFAULT_TLS_CIPHERS, opensslCipherList } from './downstream-tls.ts';
