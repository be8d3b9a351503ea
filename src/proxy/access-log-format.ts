// The access log line as Contour configures Envoy's: the envoy text format
// (Envoy's default format, or accesslog-format-string) or one JSON object
// with Contour's fields (json-fields), filtered by accesslog-level. Each
// command operator is compiled once into a getter; an operator isobar has no
// value for prints "-" (text) or is left out (JSON), as Envoy does for a
// value that is not set.
import { hostname } from 'node:os';
import { DEFAULT_JSON_FIELDS, ENVOY_DEFAULT_FORMAT, formatParts, jsonFieldMap, type AccessLogConfig, type FormatPart } from '../config/index.ts';
import type { AccessLogEntry } from './types.ts';

type Value = string | number | undefined;
type Getter = (e: AccessLogEntry) => Value;

/** Operators with a value (the others print "-"), documented in README. */
const SIMPLE: Record<string, Getter> = {
  BYTES_RECEIVED: (e) => e.bytesReceived,
  BYTES_SENT: (e) => e.bytesSent,
  CONNECTION_ID: (e) => e.connectionId,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: (e) => dash(e.downstreamDirectRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamDirectRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_PORT: (e) => portOf(e.downstreamDirectRemoteAddress),
  DOWNSTREAM_LOCAL_ADDRESS: (e) => dash(e.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_PORT: (e) => portOf(e.downstreamLocalAddress),
  DOWNSTREAM_REMOTE_ADDRESS: (e) => dash(e.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_PORT: (e) => portOf(e.downstreamRemoteAddress),
  DOWNSTREAM_TLS_CIPHER: (e) => e.tlsCipher,
  DOWNSTREAM_TLS_VERSION: (e) => e.tlsVersion,
  DURATION: (e) => Math.trunc(e.durationMs),
  GRPC_STATUS: (e) => grpcStatusName(grpcStatus(e)),
  GRPC_STATUS_NUMBER: (e) => grpcStatus(e),
  HOSTNAME: () => HOST,
  PROTOCOL: (e) => e.protocol,
  REQUESTED_SERVER_NAME: (e) => e.requestedServerName,
  RESPONSE_CODE: (e) => e.status,
  RESPONSE_FLAGS: (e) => e.responseFlags,
  START_TIME: (e) => e.startTime,
  UPSTREAM_CLUSTER: (e) => dash(e.upstreamCluster),
  UPSTREAM_HOST: (e) => dash(e.upstreamHost),
  UPSTREAM_REMOTE_ADDRESS: (e) => dash(e.upstreamHost),
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.upstreamHost),
  UPSTREAM_REMOTE_PORT: (e) => portOf(e.upstreamHost),
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (e) => e.attempts,
};

const HOST = hostname();

function dash(s: string): string | undefined {
  return s === '-' || s === '' ? undefined : s;
}

function withoutPort(s: string): string | undefined {
  if (s === '-' || s === '') return undefined;
  const i = s.lastIndexOf(':');
  if (i < 0) return s;
  const a = s.slice(0, i);
  return a.startsWith('[') ? a.slice(1, -1) : a;
}

function portOf(s: string): number | undefined {
  if (s === '-' || s === '') return undefined;
  const n = Number(s.slice(s.lastIndexOf(':') + 1));
  return Number.isInteger(n) ? n : undefined;
}

function headerValue(v: string | string[] | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** REQ(name): the request as the proxy forwarded it (X-Forwarded-For with
 *  the address appended, the X-Request-Id it carries); pseudo-headers by
 *  their HTTP/1 equivalents. */
function requestHeader(e: AccessLogEntry, name: string, withoutQuery: boolean): string | undefined {
  let v: string | undefined;
  switch (name) {
    case ':method':
      v = e.method;
      break;
    // Envoy's X-ENVOY-ORIGINAL-PATH?:PATH is the path the client sent; the
    // proxy never rewrites what it logs.
    case ':path':
    case 'x-envoy-original-path':
      v = e.path;
      break;
    case ':authority':
    case 'host':
      v = e.authority;
      break;
    case 'x-forwarded-for':
      v = e.xForwardedFor;
      break;
    case 'x-request-id':
      v = e.requestId;
      break;
    default:
      v = headerValue(e.requestHeaders[name]);
  }
  if (v === undefined || v === '' || v === '-') return undefined;
  if (withoutQuery) {
    const q = v.indexOf('?');
    if (q >= 0) v = v.slice(0, q);
  }
  return v;
}

/** gRPC status: grpc-status of the trailers or headers, else Envoy's
 *  mapping of the HTTP status; gRPC requests only. */
function grpcStatus(e: AccessLogEntry): number | undefined {
  const ct = headerValue(e.requestHeaders['content-type']);
  if (ct === undefined || !ct.startsWith('application/grpc')) return undefined;
  const sent = headerValue(e.responseTrailers?.['grpc-status']) ?? headerValue(e.responseHeaders?.['grpc-status']);
  if (sent !== undefined && /^\d+$/.test(sent)) return Number(sent);
  return httpToGrpc(e.status);
}

/** Envoy's Grpc::Utility::httpToGrpcStatus. */
function httpToGrpc(status: number): number | undefined {
  if (status === 0 || status === 200) return undefined;
  if (status === 400) return 13;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return 14;
  return 2;
}

const GRPC_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

function grpcStatusName(n: number | undefined): string | undefined {
  return n === undefined ? undefined : (GRPC_NAMES[n] ?? String(n));
}

/** A strftime subset in UTC, with Envoy's %f, %<n>f, %E<n>S and %s. */
export function formatStartTime(ms: number, pattern: string): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const frac = (digits: number): string => String(ms % 1000).padStart(3, '0').padEnd(digits, '0').slice(0, digits);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return pattern.replace(/%(E(\d)S|(\d)?f|.)/g, (all, spec: string, eDigits: string | undefined, fDigits: string | undefined) => {
    if (eDigits !== undefined) return `${p2(d.getUTCSeconds())}.${frac(Number(eDigits))}`;
    if (spec.endsWith('f')) return frac(fDigits === undefined ? 9 : Number(fDigits));
    switch (spec) {
      case 'Y':
        return String(d.getUTCFullYear());
      case 'y':
        return p2(d.getUTCFullYear() % 100);
      case 'm':
        return p2(d.getUTCMonth() + 1);
      case 'd':
        return p2(d.getUTCDate());
      case 'e':
        return String(d.getUTCDate()).padStart(2, ' ');
      case 'H':
        return p2(d.getUTCHours());
      case 'M':
        return p2(d.getUTCMinutes());
      case 'S':
        return p2(d.getUTCSeconds());
      case 'j':
        return String(Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1).padStart(3, '0');
      case 'a':
        return days[d.getUTCDay()]!;
      case 'b':
        return months[d.getUTCMonth()]!;
      case 's':
        return String(Math.floor(ms / 1000));
      case 'z':
        return '+0000';
      case 'Z':
        return 'UTC';
      case 'T':
        return `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
      case 'F':
        return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
      case '%':
        return '%';
      default:
        return all;
    }
  });
}

/** One operator's getter; undefined when isobar has no value for it. */
function getter(part: Exclude<FormatPart, string>): Getter {
  const { op, args } = part;
  let g: Getter;
  if (op === 'REQ' || op === 'REQ_WITHOUT_QUERY' || op === 'RESP' || op === 'TRAILER') {
    const names = (args ?? '').split('?').map((n) => n.toLowerCase());
    const one = (e: AccessLogEntry, n: string): string | undefined => {
      if (op === 'RESP') return n === ':status' ? (e.status ? String(e.status) : undefined) : headerValue(e.responseHeaders?.[n]);
      if (op === 'TRAILER') return headerValue(e.responseTrailers?.[n]);
      return requestHeader(e, n, op === 'REQ_WITHOUT_QUERY');
    };
    g = (e) => {
      for (const n of names) {
        const v = one(e, n);
        if (v !== undefined && v !== '') return v;
      }
      return undefined;
    };
  } else if (op === 'START_TIME' && args !== undefined) g = (e) => formatStartTime(e.startMs, args);
  else if (op === 'ENVIRONMENT') g = () => process.env[args ?? ''];
  else if (op === 'METADATA' && args?.startsWith('ROUTE:envoy.access_loggers.file:io.projectcontour.')) {
    // Contour's route metadata: the object that made the route.
    const key = args.slice('ROUTE:envoy.access_loggers.file:io.projectcontour.'.length);
    g = (e) => (key === 'kind' ? (e.route ? (e.route.kind ?? 'HTTPProxy') : undefined) : key === 'namespace' ? e.route?.namespace : key === 'name' ? e.route?.name : undefined);
  } else g = SIMPLE[op] ?? (() => undefined);
  const max = part.maxLength;
  if (max === undefined) return g;
  return (e) => {
    const v = g(e);
    return typeof v === 'string' ? v.slice(0, max) : v;
  };
}

function textFormatter(format: string): (e: AccessLogEntry) => string {
  const parts = formatParts(format).map((p) => (typeof p === 'string' ? p : getter(p)));
  return (e) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p(e);
        out += v === undefined || v === '' ? '-' : String(v);
      }
    }
    return out;
  };
}

function jsonFormatter(fields: readonly string[]): (e: AccessLogEntry) => string {
  // Keys in alphabetical order, as Envoy prints a JSON format.
  const compiled = [...jsonFieldMap(fields)]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, format]): [string, Getter] => {
      const parts = formatParts(format);
      const only = parts.length === 1 ? parts[0]! : undefined;
      // A field of one operator keeps its type (numbers stay numbers).
      if (only !== undefined && typeof only !== 'string') return [key, getter(only)];
      const text = textFormatter(format);
      return [key, (e) => text(e)];
    });
  return (e) => {
    const o: Record<string, string | number> = {};
    for (const [key, g] of compiled) {
      const v = g(e);
      // Contour sets omit_empty_values.
      if (v !== undefined && v !== '') o[key] = v;
    }
    return `${JSON.stringify(o)}\n`;
  };
}

/** The log line of one request (ending in a newline), or undefined when
 *  accesslog-level leaves the request out. */
export type AccessLogFormatter = (e: AccessLogEntry) => string | undefined;

/** Contour's access log: undefined when accesslog-level is disabled. */
export function accessLogFormatter(c: AccessLogConfig): AccessLogFormatter | undefined {
  if (c.level === 'disabled') return undefined;
  const line = c.format === 'json' ? jsonFormatter(c.jsonFields ?? DEFAULT_JSON_FIELDS) : textFormatter(c.formatString ?? ENVOY_DEFAULT_FORMAT);
  if (c.level === 'info') return line;
  // Contour's filterOnlyErrors: the status at least 300 (error) or 500
  // (critical), or any response flag.
  const min = c.level === 'error' ? 300 : 500;
  return (e) => (e.status >= min || e.responseFlags !== '-' ? line(e) : undefined);
}
