import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject, SCHEMAS } from '../../src/objects/schema.ts';
import { loadText, formatIssue } from '../../src/objects/index.ts';
import type { Kind, FieldError } from '../../src/objects/index.ts';

const meta = { name: 'p', namespace: 'ns' };
const proxy = (spec: unknown) => ({ apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: meta, spec });
const routeWith = (service: unknown, extra: Record<string, unknown> = {}) =>
  proxy({ virtualhost: { fqdn: 'a.example.com' }, routes: [{ services: [{ name: 'ok', port: 80 }, service], ...extra }] });
const validation = (v: unknown) => routeWith({ name: 's', port: 443, protocol: 'tls', validation: v });

interface Row {
  name: string;
  kind: Kind;
  obj: unknown;
  errors: FieldError[];
  warnings?: FieldError[];
}

const rows: Row[] = [
  { name: 'valid HTTPProxy', kind: 'HTTPProxy', obj: routeWith({ name: 's', port: 8080, protocol: 'h2', weight: 10 }), errors: [] },
  { name: 'HTTPProxy without spec', kind: 'HTTPProxy', obj: { apiVersion: 'projectcontour.io/v1', kind: 'HTTPProxy', metadata: meta }, errors: [{ path: 'spec', message: 'is required' }] },
  { name: 'port above range', kind: 'HTTPProxy', obj: routeWith({ name: 's', port: 65536 }), errors: [{ path: 'spec.routes[0].services[1].port', message: 'must be <= 65535' }] },
  { name: 'port zero', kind: 'HTTPProxy', obj: routeWith({ name: 's', port: 0 }), errors: [{ path: 'spec.routes[0].services[1].port', message: 'must be >= 1' }] },
  {
    name: 'port as a string',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: '80' }),
    errors: [{ path: 'spec.routes[0].services[1].port', message: 'must be of type integer, found a string ("80")' }],
  },
  { name: 'port fractional', kind: 'HTTPProxy', obj: routeWith({ name: 's', port: 80.5 }), errors: [{ path: 'spec.routes[0].services[1].port', message: 'must be of type integer, found a number (80.5)' }] },
  {
    name: 'unknown protocol',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80, protocol: 'h3' }),
    errors: [{ path: 'spec.routes[0].services[1].protocol', message: 'unsupported value "h3": supported values: "h2", "h2c", "tls"' }],
  },
  {
    name: 'service name and port required',
    kind: 'HTTPProxy',
    obj: routeWith({ weight: 1 }),
    errors: [
      { path: 'spec.routes[0].services[1].name', message: 'is required' },
      { path: 'spec.routes[0].services[1].port', message: 'is required' },
    ],
  },
  {
    name: 'fqdn: a DNS name of at most 253 characters, labels of at most 63; a long value is not echoed whole',
    kind: 'HTTPProxy',
    obj: proxy({ virtualhost: { fqdn: 'a'.repeat(1 << 20) }, routes: [{ services: [{ name: 's', port: 80 }] }] }),
    errors: [
      { path: 'spec.virtualhost.fqdn', message: 'must be at most 253 characters long' },
      { path: 'spec.virtualhost.fqdn', message: `invalid value "${'a'.repeat(79)}..." (1048576 characters): a DNS name: labels of lower case letters, digits and '-' (at most 63 characters each) joined by '.', optionally starting with "*."` },
    ],
  },
  {
    name: 'fqdn: a label of 64 characters; 253 characters of 63-character labels and a wildcard are fine',
    kind: 'HTTPProxy',
    obj: proxy({ virtualhost: { fqdn: `${'b'.repeat(64)}.example.com` }, routes: [{ services: [{ name: 's', port: 80 }] }] }),
    errors: [{ path: 'spec.virtualhost.fqdn', message: `invalid value "${'b'.repeat(64)}.example.com": a DNS name: labels of lower case letters, digits and '-' (at most 63 characters each) joined by '.', optionally starting with "*."` }],
  },
  {
    name: 'fqdn: the longest DNS name',
    kind: 'HTTPProxy',
    obj: proxy({ virtualhost: { fqdn: `*.${['c'.repeat(63), 'd'.repeat(63), 'e'.repeat(63), 'f'.repeat(59)].join('.')}` }, routes: [{ services: [{ name: 's', port: 80 }] }] }),
    errors: [],
  },
  {
    name: 'IP filters: source is Peer or Remote, both fields required',
    kind: 'HTTPProxy',
    obj: proxy({
      virtualhost: { fqdn: 'a', ipAllowPolicy: [{ cidr: '10.0.0.0/8', source: 'peer' }, { source: 'Remote' }] },
      routes: [{ services: [{ name: 's', port: 80 }], ipDenyPolicy: [{ cidr: '10.0.0.1' }] }],
    }),
    errors: [
      { path: 'spec.routes[0].ipDenyPolicy[0].source', message: 'is required' },
      { path: 'spec.virtualhost.ipAllowPolicy[0].source', message: 'unsupported value "peer": supported values: "Peer", "Remote"' },
      { path: 'spec.virtualhost.ipAllowPolicy[1].cidr', message: 'is required' },
    ],
  },
  {
    name: 'CORS policy: origins and methods required, header tokens, max age syntax',
    kind: 'HTTPProxy',
    obj: proxy({
      virtualhost: { fqdn: 'a', corsPolicy: { allowMethods: [], allowHeaders: ['X Bad'], exposeHeaders: ['ok'], maxAge: '10 minutes' } },
      routes: [{ services: [{ name: 's', port: 80 }] }],
    }),
    errors: [
      { path: 'spec.virtualhost.corsPolicy.allowHeaders[0]', message: `invalid value "X Bad": a header name or method: letters, digits and !#$%&'*+.^_\`|~-` },
      { path: 'spec.virtualhost.corsPolicy.allowMethods', message: 'must have at least 1 item(s)' },
      { path: 'spec.virtualhost.corsPolicy.allowOrigin', message: 'is required' },
      { path: 'spec.virtualhost.corsPolicy.maxAge', message: 'invalid value "10 minutes": use Go duration syntax such as "10m", "1h30m" or "0"' },
    ],
  },
  {
    // Contour's example httpproxy-lb-request-hash.yaml says `name:` where the
    // CRD requires `headerName`: the API server refuses it, and so does isobar.
    name: 'request hash policies and global rate limit descriptors: the fields their CRD requires',
    kind: 'HTTPProxy',
    obj: proxy({
      virtualhost: { fqdn: 'a', rateLimitPolicy: { global: { descriptors: [{}, { entries: [{ genericKey: { key: 'k' } }, { requestHeader: { headerName: 'x' } }, { requestHeaderValueMatch: { headers: [{ name: 'x', present: true }] } }] }] } } },
      routes: [
        {
          services: [{ name: 's', port: 80 }],
          loadBalancerPolicy: { strategy: 'RequestHash', requestHashPolicies: [{ headerHashOptions: { name: 'X-Some-Header' } }, { queryParameterHashOptions: { prameterName: 'id' } }] },
        },
      ],
    }),
    errors: [
      { path: 'spec.routes[0].loadBalancerPolicy.requestHashPolicies[0].headerHashOptions.headerName', message: 'is required' },
      { path: 'spec.routes[0].loadBalancerPolicy.requestHashPolicies[1].queryParameterHashOptions.parameterName', message: 'is required' },
      { path: 'spec.virtualhost.rateLimitPolicy.global.descriptors[0].entries', message: 'is required' },
      { path: 'spec.virtualhost.rateLimitPolicy.global.descriptors[1].entries[0].genericKey.value', message: 'is required' },
      { path: 'spec.virtualhost.rateLimitPolicy.global.descriptors[1].entries[1].requestHeader.descriptorKey', message: 'is required' },
      { path: 'spec.virtualhost.rateLimitPolicy.global.descriptors[1].entries[2].requestHeaderValueMatch.value', message: 'is required' },
    ],
    warnings: [
      { path: 'spec.routes[0].loadBalancerPolicy.requestHashPolicies[0].headerHashOptions.name', message: 'unknown field, ignored (check the spelling and the indentation)' },
      { path: 'spec.routes[0].loadBalancerPolicy.requestHashPolicies[1].queryParameterHashOptions.prameterName', message: 'unknown field, ignored (check the spelling and the indentation)' },
    ],
  },
  { name: 'empty service name passes the CRD (the dag reports it unresolved)', kind: 'HTTPProxy', obj: routeWith({ name: '', port: 80 }), errors: [] },
  {
    name: 'fqdn pattern, header value length, absolute redirect paths',
    kind: 'HTTPProxy',
    obj: proxy({
      virtualhost: { fqdn: 'Web.Example.com' },
      routes: [
        { requestRedirectPolicy: { path: 'no-slash' }, requestHeadersPolicy: { set: [{ name: 'X-A', value: '' }] } },
        { directResponsePolicy: { statusCode: 200 } },
      ],
    }),
    errors: [
      { path: 'spec.virtualhost.fqdn', message: `invalid value "Web.Example.com": a DNS name: labels of lower case letters, digits and '-' (at most 63 characters each) joined by '.', optionally starting with "*."` },
      { path: 'spec.routes[0].requestRedirectPolicy.path', message: 'invalid value "no-slash": must start with "/"' },
      { path: 'spec.routes[0].requestHeadersPolicy.set[0].value', message: 'must be at least 1 characters long' },
    ],
  },
  { name: 'wildcard fqdn is fine', kind: 'HTTPProxy', obj: proxy({ virtualhost: { fqdn: '*.example.com' }, routes: [{ services: [{ name: 's', port: 80 }] }] }), errors: [] },
  { name: 'negative weight', kind: 'HTTPProxy', obj: routeWith({ name: 's', port: 80, weight: -1 }), errors: [{ path: 'spec.routes[0].services[1].weight', message: 'must be >= 0' }] },
  {
    name: 'unknown load balancer strategy is not a schema error',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80 }, { loadBalancerPolicy: { strategy: 'Fastest' } }),
    errors: [],
  },
  {
    name: 'validation caSecret/subjectName required',
    kind: 'HTTPProxy',
    obj: validation({}),
    errors: [
      { path: 'spec.routes[0].services[1].validation.caSecret', message: 'is required' },
      { path: 'spec.routes[0].services[1].validation.subjectName', message: 'is required' },
    ],
  },
  {
    name: 'validation lengths',
    kind: 'HTTPProxy',
    obj: validation({ caSecret: '', subjectName: 'x'.repeat(251) }),
    errors: [
      { path: 'spec.routes[0].services[1].validation.caSecret', message: 'must be at least 1 characters long' },
      { path: 'spec.routes[0].services[1].validation.subjectName', message: 'must be at most 250 characters long' },
    ],
  },
  {
    name: 'caSecret too long',
    kind: 'HTTPProxy',
    obj: validation({ caSecret: 'c'.repeat(318), subjectName: 'a' }),
    errors: [{ path: 'spec.routes[0].services[1].validation.caSecret', message: 'must be at most 317 characters long' }],
  },
  {
    name: 'subjectNames 1..8 items',
    kind: 'HTTPProxy',
    obj: validation({ caSecret: 'ca', subjectName: 'a', subjectNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] }),
    errors: [{ path: 'spec.routes[0].services[1].validation.subjectNames', message: 'must have at most 8 items' }],
  },
  {
    name: 'subjectNames empty list',
    kind: 'HTTPProxy',
    obj: validation({ caSecret: 'ca', subjectName: 'a', subjectNames: [] }),
    errors: [{ path: 'spec.routes[0].services[1].validation.subjectNames', message: 'must have at least 1 item(s)' }],
  },
  {
    name: 'CEL: subjectNames[0] must equal subjectName',
    kind: 'HTTPProxy',
    obj: validation({ caSecret: 'ca', subjectName: 'a.example.com', subjectNames: ['b.example.com', 'a.example.com'] }),
    errors: [{ path: 'spec.routes[0].services[1].validation', message: 'subjectNames[0] must equal subjectName if set' }],
  },
  {
    name: 'CEL holds',
    kind: 'HTTPProxy',
    obj: validation({ caSecret: 'ca', subjectName: 'a.example.com', subjectNames: ['a.example.com', 'b.example.com'] }),
    errors: [],
  },
  {
    name: 'CEL in tcpproxy services too',
    kind: 'HTTPProxy',
    obj: proxy({ virtualhost: { fqdn: 'a', tls: { passthrough: true } }, tcpproxy: { services: [{ name: 's', port: 443, validation: { caSecret: 'c', subjectName: 'x', subjectNames: ['y'] } }] } }),
    errors: [{ path: 'spec.tcpproxy.services[0].validation', message: 'subjectNames[0] must equal subjectName if set' }],
  },
  { name: 'virtualhost fqdn required', kind: 'HTTPProxy', obj: proxy({ virtualhost: {} }), errors: [{ path: 'spec.virtualhost.fqdn', message: 'is required' }] },
  { name: 'routes must be a list', kind: 'HTTPProxy', obj: proxy({ routes: { services: [] } }), errors: [{ path: 'spec.routes', message: 'must be of type array, found a mapping' }] },
  {
    name: 'bad duration in timeoutPolicy',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80 }, { timeoutPolicy: { response: '10x', idle: '1m30s', idleConnection: 'infinity' } }),
    errors: [{ path: 'spec.routes[0].timeoutPolicy.response', message: 'invalid duration "10x": use Go duration syntax such as "30s", "1m30s", "500ms" or "infinity"' }],
  },
  {
    name: 'retryOn enum and count minimum',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80 }, { retryPolicy: { count: -2, retryOn: ['5xx', 'sometimes'] } }),
    errors: [
      { path: 'spec.routes[0].retryPolicy.count', message: 'must be >= -1' },
      { path: 'spec.routes[0].retryPolicy.retryOn[1]', message: 'unsupported value "sometimes": supported values: "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"' },
    ],
  },
  {
    name: 'redirect status code enum',
    kind: 'HTTPProxy',
    obj: proxy({ virtualhost: { fqdn: 'a' }, routes: [{ requestRedirectPolicy: { statusCode: 304, scheme: 'ftp' } }] }),
    errors: [
      { path: 'spec.routes[0].requestRedirectPolicy.scheme', message: 'unsupported value "ftp": supported values: "http", "https"' },
      { path: 'spec.routes[0].requestRedirectPolicy.statusCode', message: 'unsupported value 304: supported values: 301, 302, 303, 307, 308' },
    ],
  },
  {
    name: 'health check path required, expected statuses bounds',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80 }, { healthCheckPolicy: { expectedStatuses: [{ start: 99, end: 200 }] } }),
    errors: [
      { path: 'spec.routes[0].healthCheckPolicy.path', message: 'is required' },
      { path: 'spec.routes[0].healthCheckPolicy.expectedStatuses[0].start', message: 'must be >= 100' },
    ],
  },
  {
    name: 'header condition name required and typed',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80 }, { conditions: [{ header: { present: 'yes' } }] }),
    errors: [
      { path: 'spec.routes[0].conditions[0].header.name', message: 'is required' },
      { path: 'spec.routes[0].conditions[0].header.present', message: 'must be of type boolean, found a string ("yes")' },
    ],
  },
  {
    name: 'include name required',
    kind: 'HTTPProxy',
    obj: proxy({ includes: [{ namespace: 'x' }] }),
    errors: [{ path: 'spec.includes[0].name', message: 'is required' }],
  },
  {
    name: 'unknown fields are warnings, not errors',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80, prot: 'tls' }, { timeout: '1s' }),
    errors: [],
    warnings: [
      { path: 'spec.routes[0].services[1].prot', message: 'unknown field, ignored (check the spelling and the indentation)' },
      { path: 'spec.routes[0].timeout', message: 'unknown field, ignored (check the spelling and the indentation)' },
    ],
  },
  {
    name: 'unimplemented Contour features are accepted without warnings',
    kind: 'HTTPProxy',
    obj: proxy({ virtualhost: { fqdn: 'a', corsPolicy: { allowOrigin: ['*'], allowMethods: ['GET'] }, authorization: { extensionRef: { name: 'x' } }, ipAllowPolicy: [{ cidr: '10.0.0.0/8', source: 'Peer' }] }, routes: [{ services: [{ name: 's', port: 80 }], rateLimitPolicy: { global: { disabled: true } } }] }),
    errors: [],
  },
  { name: 'bad name', kind: 'HTTPProxy', obj: { ...proxy({}), metadata: { name: 'Bad_Name', namespace: 'ns' } }, errors: [{ path: 'metadata.name', message: `invalid name "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', start and end with an alphanumeric character and be at most 253 characters` }] },
  { name: 'bad namespace', kind: 'HTTPProxy', obj: { ...proxy({}), metadata: { name: 'p', namespace: 'a.b' } }, errors: [{ path: 'metadata.namespace', message: `invalid namespace "a.b": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character and be at most 63 characters` }] },
  { name: 'annotation value must be a string', kind: 'Service', obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', annotations: { 'projectcontour.io/upstream-protocol.tls': 443 } } }, errors: [{ path: 'metadata.annotations[projectcontour.io/upstream-protocol.tls]', message: 'must be of type string, found an integer (443)' }] },
  // ---- TLSCertificateDelegation
  {
    name: 'delegation requires secretName and targetNamespaces',
    kind: 'TLSCertificateDelegation',
    obj: { apiVersion: 'projectcontour.io/v1', kind: 'TLSCertificateDelegation', metadata: meta, spec: { delegations: [{ secretName: 'x' }, { targetNamespaces: 'all' }] } },
    errors: [
      { path: 'spec.delegations[0].targetNamespaces', message: 'is required' },
      { path: 'spec.delegations[1].secretName', message: 'is required' },
      { path: 'spec.delegations[1].targetNamespaces', message: 'must be of type array, found a string ("all")' },
    ],
  },
  // ---- Service
  {
    name: 'Service port range, protocol enum, targetPort int-or-string',
    kind: 'Service',
    obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'LoadBalancer', ports: [{ port: 70000, protocol: 'HTTP', targetPort: true }, { port: 443, targetPort: 'https' }] } },
    errors: [
      { path: 'spec.ports[0].protocol', message: 'unsupported value "HTTP": supported values: "TCP", "UDP", "SCTP"' },
      { path: 'spec.ports[0].port', message: 'must be <= 65535' },
      { path: 'spec.ports[0].targetPort', message: 'must be an integer or a string, found a boolean (true)' },
    ],
  },
  { name: 'Service type enum', kind: 'Service', obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'Balancer' } }, errors: [{ path: 'spec.type', message: 'unsupported value "Balancer": supported values: "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"' }] },
  { name: 'Service port required', kind: 'Service', obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ name: 'http' }] } }, errors: [{ path: 'spec.ports[0].port', message: 'is required' }] },
  { name: 'Service name is a DNS-1035 label', kind: 'Service', obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: '1web' }, spec: {} }, errors: [{ path: 'metadata.name', message: `invalid name "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with a letter, end with an alphanumeric character and be at most 63 characters` }] },
  // ---- Secret
  { name: 'Secret data values must be strings', kind: 'Secret', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { 'ca.crt': 12 } }, errors: [{ path: 'data[ca.crt]', message: 'must be of type string, found an integer (12)' }] },
  // ---- core validation done in code
  {
    name: 'Service: several ports need names; duplicates; targetPort names',
    kind: 'Service',
    obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 'http-port-too-long' }, { name: 'a', port: 80, targetPort: 0 }, { name: 'a', port: 81 }] } },
    errors: [
      { path: 'spec.ports[0].name', message: 'is required when a Service has more than one port' },
      { path: 'spec.ports[0].targetPort', message: `invalid port name "http-port-too-long": at most 15 lower case letters, digits or '-', with at least one letter` },
      { path: 'spec.ports[1]', message: 'duplicate port 80/TCP (also spec.ports[0])' },
      { path: 'spec.ports[1].targetPort', message: 'must be a port number between 1 and 65535 or a port name' },
      { path: 'spec.ports[2].name', message: 'duplicate port name "a" (also spec.ports[1])' },
    ],
  },
  { name: 'Service: same port on TCP and UDP is fine', kind: 'Service', obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dns' }, spec: { ports: [{ name: 'tcp', port: 53 }, { name: 'udp', port: 53, protocol: 'UDP' }] } }, errors: [] },
  { name: 'Service: ExternalName needs externalName', kind: 'Service', obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { type: 'ExternalName' } }, errors: [{ path: 'spec.externalName', message: 'is required for type ExternalName' }] },
  {
    name: 'Secret: kubernetes.io/tls needs tls.crt and tls.key; key names checked',
    kind: 'Secret',
    obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'x', 'bad key': 'y' } },
    errors: [
      { path: 'data[tls.key]', message: 'is required for a Secret of type kubernetes.io/tls' },
      { path: 'stringData[bad key]', message: `invalid key "bad key": a key must consist of letters, digits, '-', '_' or '.'` },
    ],
  },
  { name: 'Secret: over 1 MiB', kind: 'Secret', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { big: 'x'.repeat(1024 * 1024 + 1) } }, errors: [{ path: 'data', message: 'too long: a Secret holds at most 1048576 bytes, this one 1048577' }] },
  {
    name: 'Endpoints: addresses must be IP literals',
    kind: 'Endpoints',
    obj: { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 's' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }, { ip: 'backend.example.com' }], notReadyAddresses: [{ ip: '::1' }, { ip: '10.0.0.256' }] }] },
    errors: [
      { path: 'subsets[0].addresses[1].ip', message: 'must be a valid IP address, found "backend.example.com"' },
      { path: 'subsets[0].notReadyAddresses[1].ip', message: 'must be a valid IP address, found "10.0.0.256"' },
    ],
  },
  {
    name: 'EndpointSlice: addresses match the addressType',
    kind: 'EndpointSlice',
    obj: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's-1' }, addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1', '::1'] }] },
    errors: [{ path: 'endpoints[0].addresses[1]', message: 'must be a valid IPv4 address, found "::1"' }],
  },
  { name: 'EndpointSlice: FQDN addresses', kind: 'EndpointSlice', obj: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's-1' }, addressType: 'FQDN', endpoints: [{ addresses: ['backend.example.com'] }] }, errors: [] },
  // ---- Endpoints / EndpointSlice
  {
    name: 'Endpoints address ip required, port range',
    kind: 'Endpoints',
    obj: { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 's' }, subsets: [{ addresses: [{ hostname: 'x' }], ports: [{ port: 0 }] }] },
    errors: [
      { path: 'subsets[0].addresses[0].ip', message: 'is required' },
      { path: 'subsets[0].ports[0].port', message: 'must be >= 1' },
    ],
  },
  {
    name: 'EndpointSlice addressType enum, addresses 1..100',
    kind: 'EndpointSlice',
    obj: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's-abc' }, addressType: 'IPv5', endpoints: [{ addresses: [] }, { conditions: { ready: 'true' } }] },
    errors: [
      { path: 'addressType', message: 'unsupported value "IPv5": supported values: "IPv4", "IPv6", "FQDN"' },
      { path: 'endpoints[0].addresses', message: 'must have at least 1 item(s)' },
      { path: 'endpoints[1].addresses', message: 'is required' },
      { path: 'endpoints[1].conditions.ready', message: 'must be of type boolean, found a string ("true")' },
    ],
  },
  {
    name: 'cookieRewritePolicies: Contour\'s patterns for the name, path and domain, its SameSite values, a boolean Secure',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80 }, { cookieRewritePolicies: [{ name: 'a;b', pathRewrite: { value: '/x;y' }, domainRewrite: { value: 'Example.COM' }, sameSite: 'Weird', secure: 'yes' }] }),
    errors: [
      { path: 'spec.routes[0].cookieRewritePolicies[0].name', message: 'invalid value "a;b": a cookie name: no control characters, spaces or ()<>@,;:\\"/[]?={}' },
      { path: 'spec.routes[0].cookieRewritePolicies[0].pathRewrite.value', message: 'invalid value "/x;y": a cookie path: no ";" or control characters' },
      { path: 'spec.routes[0].cookieRewritePolicies[0].domainRewrite.value', message: "invalid value \"Example.COM\": a host name in lower case letters, digits, '-' and '.'" },
      { path: 'spec.routes[0].cookieRewritePolicies[0].secure', message: 'must be of type boolean, found a string ("yes")' },
      { path: 'spec.routes[0].cookieRewritePolicies[0].sameSite', message: 'unsupported value "Weird": supported values: "Strict", "Lax", "None"' },
    ],
  },
  {
    name: 'cookieRewritePolicies: a name and a rewrite value are required, on services too',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80, cookieRewritePolicies: [{ domainRewrite: {} }] }, { cookieRewritePolicies: [{ pathRewrite: {} }] }),
    errors: [
      { path: 'spec.routes[0].cookieRewritePolicies[0].name', message: 'is required' },
      { path: 'spec.routes[0].cookieRewritePolicies[0].pathRewrite.value', message: 'is required' },
      { path: 'spec.routes[0].services[1].cookieRewritePolicies[0].name', message: 'is required' },
      { path: 'spec.routes[0].services[1].cookieRewritePolicies[0].domainRewrite.value', message: 'is required' },
    ],
  },
  {
    name: 'internalRedirectPolicy: bounds and enums',
    kind: 'HTTPProxy',
    obj: routeWith({ name: 's', port: 80 }, { internalRedirectPolicy: { maxInternalRedirects: -1, redirectResponseCodes: [200], allowCrossSchemeRedirect: 'Sometimes', denyRepeatedRouteRedirect: 'no' } }),
    errors: [
      { path: 'spec.routes[0].internalRedirectPolicy.maxInternalRedirects', message: 'must be >= 0' },
      { path: 'spec.routes[0].internalRedirectPolicy.redirectResponseCodes[0]', message: 'unsupported value 200: supported values: 301, 302, 303, 307, 308' },
      { path: 'spec.routes[0].internalRedirectPolicy.allowCrossSchemeRedirect', message: 'unsupported value "Sometimes": supported values: "Always", "Never", "SafeOnly"' },
      { path: 'spec.routes[0].internalRedirectPolicy.denyRepeatedRouteRedirect', message: 'must be of type boolean, found a string ("no")' },
    ],
  },
  {
    name: 'cookieRewritePolicies and internalRedirectPolicy: every field set well',
    kind: 'HTTPProxy',
    obj: routeWith(
      { name: 's', port: 80, cookieRewritePolicies: [{ name: '__Host-id', secure: true }] },
      {
        cookieRewritePolicies: [{ name: 'ok', pathRewrite: { value: '/x' }, domainRewrite: { value: 'example.com' }, sameSite: 'None', secure: false }],
        internalRedirectPolicy: { maxInternalRedirects: 5, redirectResponseCodes: [301, 302, 303, 307, 308], allowCrossSchemeRedirect: 'SafeOnly', denyRepeatedRouteRedirect: true },
      },
    ),
    errors: [],
  },
];

for (const row of rows) {
  test(`schema: ${row.name}`, () => {
    const r = validateObject(row.kind, structuredClone(row.obj) as Record<string, unknown>);
    assert.deepEqual(sortErrors(r.errors), sortErrors(row.errors));
    assert.deepEqual(r.warnings, row.warnings ?? []);
  });
}

function sortErrors(e: FieldError[]): FieldError[] {
  return [...e].sort((a, b) => (a.path + a.message < b.path + b.message ? -1 : 1));
}

test('nulls are dropped and unknown fields pruned from the returned value', () => {
  const r = validateObject('HTTPProxy', proxy({ virtualhost: { fqdn: 'a', tls: null }, routes: [{ services: [{ name: 's', port: 80, bogus: 1 }] }] }) as Record<string, unknown>);
  assert.deepEqual(r.errors, []);
  assert.deepEqual((r.value['spec'] as Record<string, unknown>)['virtualhost'], { fqdn: 'a' });
  assert.deepEqual((r.value['spec'] as { routes: unknown[] }).routes, [{ services: [{ name: 's', port: 80 }] }]);
});

test('schemas are exported as plain JSON for CRDs', () => {
  const s = JSON.parse(JSON.stringify(SCHEMAS.HTTPProxy)) as Record<string, unknown>;
  assert.equal(s['type'], 'object');
  assert.ok((s['properties'] as Record<string, unknown>)['spec']);
});

test('through the loader: a rejected object names file, line of the field, path and message; others still load', () => {
  const text = [
    'apiVersion: projectcontour.io/v1',
    'kind: HTTPProxy',
    'metadata: {name: web}',
    'spec:',
    '  virtualhost: {fqdn: web.example.com}',
    '  routes:',
    '  - services:',
    '    - name: web',
    '      port: 99999',
    '      protcol: tls',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata: {name: web}',
    'spec: {ports: [{port: 80}]}',
  ].join('\n');
  const r = loadText(text, 'manifests/app.yaml');
  assert.deepEqual(r.errors.map(formatIssue), ['manifests/app.yaml:9: HTTPProxy default/web: spec.routes[0].services[0].port: must be <= 65535']);
  assert.deepEqual(r.warnings.map(formatIssue), ['manifests/app.yaml:10: HTTPProxy default/web: spec.routes[0].services[0].protcol: unknown field, ignored (check the spelling and the indentation)']);
  const rej = r.entries.find((e) => e.kind === 'HTTPProxy')!.rejected!;
  assert.deepEqual(rej, {
    kind: 'HTTPProxy',
    namespace: 'default',
    name: 'web',
    source: { file: 'manifests/app.yaml', line: 1 },
    errors: [{ path: 'spec.routes[0].services[0].port', message: 'must be <= 65535' }],
  });
  assert.ok(r.entries.find((e) => e.kind === 'Service')!.object);
});
