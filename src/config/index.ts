// What other parts may use from src/config.
export type { CircuitBreakerDefaults, IsobarConfig, NamespacedName } from './types.ts';
export type { GlobalExtAuth } from './global-ext-auth.ts';
export type { AcmeConfig, AcmeDnsConfig } from './acme.ts';
export type { RateLimitService } from './rate-limit-service.ts';
export { defaultConfig } from './types.ts';
export { loadConfigFile, readConfigFile, parseConfig, ConfigError, formatProblem, CONFIG_KEYS } from './load.ts';
export type { LoadedConfig, ConfigProblem } from './load.ts';
export { parseDuration } from './duration.ts';
