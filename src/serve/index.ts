// What other parts may use from src/serve: the primary process of
// `isobar serve`, what it takes, and why it could not start.
export { serve } from './primary.ts';
export type { Role, ServeOptions, StatusSink, RunningServer } from './options.ts';
export type { Source } from './source.ts';
export type { ProxySettings } from './start-proxy.ts';
export { configProxySettings } from './config-proxy-settings.ts';
export { StartError, type StartErrorCode } from './errors.ts';
export { ROTATION_LIMITS_MS } from './ticket-keys.ts';
