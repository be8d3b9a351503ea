// Structured logs for every isobar process: JSON lines (pino) by default,
// a one-line human format with --log-format text. Secrets never reach a log:
// field names that can hold key material are redacted at the logger.

import pino from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'text';

export const REDACT_PATHS = [
  'keyPem',
  '*.keyPem',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
  'secrets[*].keyPem',
  'config.secrets[*].keyPem',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(format: LogFormat, bindings: Record<string, unknown> = {}, level = process.env.ISOBAR_LOG_LEVEL ?? 'info'): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid, ...bindings },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (format === 'text') {
    return pino(
      options,
      pretty({
        sync: true,
        colorize: false,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        singleLine: true,
      }),
    );
  }
  return pino(options, pino.destination({ fd: 1, sync: false, minLength: 0 }));
}
