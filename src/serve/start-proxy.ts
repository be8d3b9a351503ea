// The one way a worker starts the proxy runtime, whether it is a proxy
// worker or a co-located balancer worker: the same settings, logger,
// access log and TLS ticket keys in every process that serves HTTP.
//
// Runtime-wide settings are every ProxyRuntimeOptions field except the ones
// a process makes itself (logger, access log callback) or the primary
// decides (listeners, ticket keys). They are plain data that cross to the
// workers in the init message as they are, so a new runtime-wide option
// needs a ProxyRuntimeOptions field and a flag, and nothing here.

import pino from 'pino';
import type { AccessLogConfig } from '../config/index.ts';
import { accessLogFormatter, ProxyRuntime, type ProxyListenerSpec, type ProxyRuntimeOptions } from '../proxy/index.ts';

/** Set once for the whole edge (serve's flags); a new field must be plain data. */
export type ProxySettings = Omit<ProxyRuntimeOptions, 'listeners' | 'logger' | 'onAccessLog' | 'ticketKeys'> & {
  /** Log one line per request. */
  accessLog: boolean;
  /** The config file's accesslog-*: Envoy's text format by default. */
  accessLogFormat?: AccessLogConfig;
};

/** What a worker needs to start the proxy, as the primary sends it. */
export type ProxyStart = ProxySettings & {
  listeners: ProxyListenerSpec[];
  /** The same 48 bytes in every process that runs the proxy, so a TLS
   *  session ticket resumes on whichever one the kernel hands the
   *  connection to (rotated later by 'ticket-keys' messages). */
  ticketKeys: Buffer;
};

/** Creates the runtime and binds its listeners. */
export async function startProxy(start: ProxyStart, logger: pino.Logger): Promise<ProxyRuntime> {
  const { accessLog, accessLogFormat, listeners, ticketKeys, ...settings } = start;
  const format = accessLog ? accessLogFormatter(accessLogFormat ?? { format: 'envoy', level: 'info' }) : undefined;
  let onAccessLog: ProxyRuntimeOptions['onAccessLog'];
  if (format !== undefined) {
    // Envoy's lines on stdout, as Contour's Envoy writes /dev/stdout,
    // beside (not inside) isobar's own structured logs.
    const out = pino.destination({ fd: 1, sync: false, minLength: 0 });
    onAccessLog = (e) => {
      const line = format(e);
      if (line !== undefined) out.write(line);
    };
  }
  // Structured clone (IPC) turns a Buffer into a plain Uint8Array.
  const runtime = new ProxyRuntime({ ...settings, listeners, logger, onAccessLog, ticketKeys: Buffer.from(ticketKeys) });
  await runtime.listen();
  return runtime;
}
