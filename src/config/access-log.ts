// Contour's access log settings (accesslog-format, accesslog-format-string,
// json-fields, accesslog-level) with its validation and wording
// (apis/projectcontour/v1alpha1/accesslog.go): the operators it accepts, the
// JSON field names it maps, and the command operator grammar.

export type AccessLogFormat = 'envoy' | 'json';
export type AccessLogLevel = 'info' | 'error' | 'critical' | 'disabled';

export interface AccessLogConfig {
  /** accesslog-format, default envoy (Contour's). */
  format: AccessLogFormat;
  /** accesslog-format-string: the envoy format's text; absent: Envoy's default format. */
  formatString?: string;
  /** json-fields as written (names or name=format); absent: Contour's default fields. */
  jsonFields?: string[];
  /** accesslog-level, default info: info every request, error status >= 300 or
   *  a response flag, critical status >= 500 or a response flag, disabled none. */
  level: AccessLogLevel;
}

/** Contour's DefaultAccessLogJSONFields. */
export const DEFAULT_JSON_FIELDS: readonly string[] = [
  '@timestamp',
  'authority',
  'bytes_received',
  'bytes_sent',
  'downstream_local_address',
  'downstream_remote_address',
  'duration',
  'method',
  'path',
  'protocol',
  'request_id',
  'requested_server_name',
  'response_code',
  'response_flags',
  'uber_trace_id',
  'upstream_cluster',
  'upstream_host',
  'upstream_local_address',
  'upstream_service_time',
  'user_agent',
  'x_forwarded_for',
  'grpc_status',
  'grpc_status_number',
];

/** Envoy's default text format (used when accesslog-format-string is unset). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** Contour's jsonFields: field names with a canonical format. */
const JSON_FIELDS: Record<string, string> = {
  '@timestamp': '%START_TIME%',
  ts: '%START_TIME%',
  authority: '%REQ(:AUTHORITY)%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  uber_trace_id: '%REQ(UBER-TRACE-ID)%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  user_agent: '%REQ(USER-AGENT)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  x_trace_id: '%REQ(X-TRACE-ID)%',
  tls_ja3_fingerprint: '%TLS_JA3_FINGERPRINT%',
  tls_ja4_fingerprint: '%TLS_JA4_FINGERPRINT%',
  contour_config_kind: '%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%',
  contour_config_namespace: '%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.namespace)%',
  contour_config_name: '%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.name)%',
};

/** Contour's envoySimpleOperators: operators without arguments. */
export const SIMPLE_OPERATORS: ReadonlySet<string> = new Set([
  'BYTES_RECEIVED',
  'BYTES_SENT',
  'CONNECTION_ID',
  'CONNECTION_TERMINATION_DETAILS',
  'DOWNSTREAM_DIRECT_REMOTE_ADDRESS',
  'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_DIRECT_REMOTE_PORT',
  'DOWNSTREAM_HEADER_BYTES_RECEIVED',
  'DOWNSTREAM_HEADER_BYTES_SENT',
  'DOWNSTREAM_LOCAL_ADDRESS',
  'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_LOCAL_PORT',
  'DOWNSTREAM_LOCAL_SUBJECT',
  'DOWNSTREAM_LOCAL_URI_SAN',
  'DOWNSTREAM_PEER_CERT',
  'DOWNSTREAM_PEER_CERT_V_END',
  'DOWNSTREAM_PEER_CERT_V_START',
  'DOWNSTREAM_PEER_FINGERPRINT_1',
  'DOWNSTREAM_PEER_FINGERPRINT_256',
  'DOWNSTREAM_PEER_ISSUER',
  'DOWNSTREAM_PEER_SERIAL',
  'DOWNSTREAM_PEER_SUBJECT',
  'DOWNSTREAM_PEER_URI_SAN',
  'DOWNSTREAM_REMOTE_ADDRESS',
  'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_REMOTE_PORT',
  'DOWNSTREAM_TLS_CIPHER',
  'DOWNSTREAM_TLS_SESSION_ID',
  'DOWNSTREAM_TLS_VERSION',
  'DOWNSTREAM_WIRE_BYTES_RECEIVED',
  'DOWNSTREAM_WIRE_BYTES_SENT',
  'DURATION',
  'FILTER_CHAIN_NAME',
  'GRPC_STATUS',
  'GRPC_STATUS_NUMBER',
  'HOSTNAME',
  'LOCAL_REPLY_BODY',
  'PROTOCOL',
  'REQUEST_HEADERS_BYTES',
  'REQUESTED_SERVER_NAME',
  'REQUEST_DURATION',
  'REQUEST_TX_DURATION',
  'RESPONSE_CODE',
  'RESPONSE_CODE_DETAILS',
  'RESPONSE_DURATION',
  'RESPONSE_FLAGS',
  'RESPONSE_HEADERS_BYTES',
  'RESPONSE_TRAILERS_BYTES',
  'RESPONSE_TX_DURATION',
  'ROUTE_NAME',
  'START_TIME',
  'TLS_JA3_FINGERPRINT',
  'TLS_JA4_FINGERPRINT',
  'UPSTREAM_CLUSTER',
  'UPSTREAM_FILTER_STATE',
  'UPSTREAM_HEADER_BYTES_RECEIVED',
  'UPSTREAM_HEADER_BYTES_SENT',
  'UPSTREAM_HOST',
  'UPSTREAM_LOCAL_ADDRESS',
  'UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'UPSTREAM_LOCAL_PORT',
  'UPSTREAM_PEER_CERT',
  'UPSTREAM_PEER_CERT_V_END',
  'UPSTREAM_PEER_CERT_V_START',
  'UPSTREAM_PEER_ISSUER',
  'UPSTREAM_PEER_SUBJECT',
  'UPSTREAM_PROTOCOL',
  'UPSTREAM_REMOTE_ADDRESS',
  'UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'UPSTREAM_REMOTE_PORT',
  'UPSTREAM_REQUEST_ATTEMPT_COUNT',
  'UPSTREAM_TLS_CIPHER',
  'UPSTREAM_TLS_SESSION_ID',
  'UPSTREAM_TLS_VERSION',
  'UPSTREAM_TRANSPORT_FAILURE_REASON',
  'UPSTREAM_WIRE_BYTES_RECEIVED',
  'UPSTREAM_WIRE_BYTES_SENT',
  'VIRTUAL_CLUSTER_NAME',
]);

/** Contour's envoyComplexOperators: operators that take arguments. */
const COMPLEX_OPERATORS: Record<string, { argsOptional: boolean; truncateDisallowed: boolean }> = {
  ENVIRONMENT: { argsOptional: false, truncateDisallowed: false },
  METADATA: { argsOptional: false, truncateDisallowed: false },
  REQ: { argsOptional: false, truncateDisallowed: false },
  REQ_WITHOUT_QUERY: { argsOptional: false, truncateDisallowed: false },
  RESP: { argsOptional: false, truncateDisallowed: false },
  START_TIME: { argsOptional: true, truncateDisallowed: true },
  TRAILER: { argsOptional: false, truncateDisallowed: false },
};

/** One piece of a format: literal text or a command operator. Plain data. */
export type FormatPart = string | { op: string; args?: string; maxLength?: number };

/** Contour's commandOperatorRegexp, unchanged. */
const COMMAND_OPERATOR = /%(([A-Z0-9_]+)(\([^)]+\)(:[0-9]+)?)?%)?/g;

/** Contour's parseAccessLogFormatString: an error message, or undefined. */
function formatError(format: string): string | undefined {
  for (const m of format.matchAll(COMMAND_OPERATOR)) {
    const f = [m[0], m[1] ?? '', m[2] ?? '', m[3] ?? '', m[4] ?? ''];
    // Go prints the submatch slice as [a b c d e].
    const shown = `[${f.join(' ')}]`;
    const op = f[2]!;
    if (op === '') return `invalid Envoy format: ${shown}`;
    const complex = COMPLEX_OPERATORS[op];
    if (!SIMPLE_OPERATORS.has(op) && complex === undefined) return `invalid Envoy format: ${shown}, invalid Envoy operator: ${op}`;
    if (complex !== undefined && !complex.argsOptional && f[3] === '') return `invalid Envoy format: ${shown}, arguments required for operator: ${op}`;
    if (complex !== undefined && complex.truncateDisallowed && f[4] !== '') return `invalid Envoy format: ${shown}, operator ${op} cannot have truncation length`;
  }
  return undefined;
}

/** A format Contour accepts, split into literal text and operators. */
export function formatParts(format: string): FormatPart[] {
  const out: FormatPart[] = [];
  let last = 0;
  for (const m of format.matchAll(COMMAND_OPERATOR)) {
    if (m.index > last) out.push(format.slice(last, m.index));
    last = m.index + m[0].length;
    const op = m[2];
    if (op === undefined) continue; // a lone '%': Contour refuses it before this
    const args = m[3] === undefined ? undefined : m[3].slice(1, m[3].length - (m[4]?.length ?? 0) - 1);
    const part: { op: string; args?: string; maxLength?: number } = { op };
    if (args !== undefined) part.args = args;
    if (m[4] !== undefined) part.maxLength = Number(m[4].slice(1));
    out.push(part);
  }
  if (last < format.length) out.push(format.slice(last));
  return out;
}

/** Contour's AccessLogJSONFields.AsFieldMap: field name -> format. */
export function jsonFieldMap(fields: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const val of fields) {
    const eq = val.indexOf('=');
    if (eq >= 0) {
      out.set(val.slice(0, eq), val.slice(eq + 1));
      continue;
    }
    const mapped = Object.hasOwn(JSON_FIELDS, val) ? JSON_FIELDS[val] : undefined;
    if (mapped !== undefined) out.set(val, mapped);
    else if (SIMPLE_OPERATORS.has(val.toUpperCase())) out.set(val, `%${val.toUpperCase()}%`);
    else out.set(val, '');
  }
  return out;
}

type Fail = (message: string) => void;

export function parseAccessLogFormat(v: unknown, fail: Fail): AccessLogFormat | undefined {
  if (v === 'envoy' || v === 'json') return v;
  fail(`invalid access log format ${JSON.stringify(typeof v === 'string' ? v : String(v))}`);
  return undefined;
}

export function parseAccessLogLevel(v: unknown, fail: Fail): AccessLogLevel | undefined {
  if (v === 'info' || v === 'error' || v === 'critical' || v === 'disabled') return v;
  fail(`invalid access log level ${JSON.stringify(typeof v === 'string' ? v : String(v))}`);
  return undefined;
}

/** accesslog-format-string: "" is Envoy's default format. */
export function parseAccessLogFormatString(v: unknown, fail: Fail): string | undefined {
  if (typeof v !== 'string') {
    fail(`must be a string ending in a newline, found ${typeof v}`);
    return undefined;
  }
  if (v === '') return undefined;
  const err = formatError(v);
  if (err !== undefined) {
    fail(`invalid access log format: ${err}`);
    return undefined;
  }
  if (!v.endsWith('\n')) {
    fail('invalid access log format: must end in newline');
    return undefined;
  }
  return v;
}

/** json-fields: Contour's AccessLogJSONFields.Validate. */
export function parseJsonFields(v: unknown, fail: Fail): string[] | undefined {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    fail('must be a list of field names (or name=format)');
    return undefined;
  }
  for (const [key, val] of jsonFieldMap(v as string[])) {
    if (val === '') {
      fail(`invalid JSON log field name ${key}`);
      return undefined;
    }
    if (JSON_FIELDS[key] === val) continue;
    const err = formatError(val);
    if (err !== undefined) {
      fail(`invalid JSON field: ${err}`);
      return undefined;
    }
  }
  return v as string[];
}
