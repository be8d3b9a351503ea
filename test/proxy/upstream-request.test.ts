// The request head the proxy sends upstream, one row per rule: which client
// headers cross, the forwarding headers, header policies (service, then
// route), Host and prefix rewrites. No sockets: the builder is pure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpContext } from '../../src/proxy/header-ops.ts';
import { RouteTableCompiler } from '../../src/proxy/route-table.ts';
import { upstreamRequestHead, type RequestHeaders, type UpstreamRequestHead } from '../../src/proxy/upstream-request.ts';
import { config, route, vhost, wc } from './fixtures.ts';

const CLIENT = '10.0.0.9';
const ID = 'req-1';
/** What the proxy always adds after the client's headers (Host first). */
const forwarded = (host: string, xff = CLIENT, proto = 'http') => ['host', host, 'x-forwarded-for', xff, 'x-forwarded-proto', proto, 'x-envoy-external-address', CLIENT, 'x-request-id', ID];

interface Row {
  name: string;
  headers: RequestHeaders;
  route?: Parameters<typeof route>[0];
  path?: string;
  query?: string;
  https?: boolean;
  teTrailers?: boolean;
  expect: UpstreamRequestHead;
}

const rows: Row[] = [
  {
    name: 'client headers cross in order, then Host and the forwarding headers',
    headers: { host: 'app.test', 'user-agent': 'ua', accept: '*/*' },
    expect: { headers: ['user-agent', 'ua', 'accept', '*/*', ...forwarded('app.test')], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'hop-by-hop fields and those Connection lists stay behind; TE: trailers is passed on',
    headers: {
      host: 'app.test',
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'http2-settings': 'AAA',
      expect: '100-continue',
      te: 'Trailers, deflate',
      'x-kept': 'yes',
    },
    expect: { headers: ['x-kept', 'yes', 'te', 'trailers', ...forwarded('app.test')], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'TE: trailers is not passed on where the caller asks for none (an upgrade)',
    headers: { host: 'app.test', te: 'trailers' },
    teTrailers: false,
    expect: { headers: forwarded('app.test'), path: '/', xForwardedFor: CLIENT },
  },
  {
    name: "the edge's own headers from the client are replaced, x-envoy-* dropped",
    headers: {
      host: 'app.test',
      'x-envoy-upstream-service-time': '1',
      'x-envoy-external-address': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-request-id': 'client-id',
    },
    expect: { headers: forwarded('app.test'), path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'a prior X-Forwarded-For gets the client appended',
    headers: { host: 'app.test', 'x-forwarded-for': '198.51.100.1' },
    expect: { headers: forwarded('app.test', `198.51.100.1, ${CLIENT}`), path: '/', xForwardedFor: `198.51.100.1, ${CLIENT}` },
  },
  {
    name: 'several X-Forwarded-For values are joined first',
    headers: { host: 'app.test', 'x-forwarded-for': ['198.51.100.1', '198.51.100.2'] },
    expect: { headers: forwarded('app.test', `198.51.100.1, 198.51.100.2, ${CLIENT}`), path: '/', xForwardedFor: `198.51.100.1, 198.51.100.2, ${CLIENT}` },
  },
  {
    name: 'HTTP/2 pseudo-headers stay behind; :authority is sent as Host',
    headers: { ':method': 'GET', ':path': '/', ':scheme': 'https', ':authority': 'app.test', accept: '*/*' },
    https: true,
    expect: { headers: ['accept', '*/*', ...forwarded('app.test', CLIENT, 'https')], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'a repeated header is sent once per value',
    headers: { host: 'app.test', 'set-thing': ['a', 'b'] },
    expect: { headers: ['set-thing', 'a', 'set-thing', 'b', ...forwarded('app.test')], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: "the service's header policy, then the route's, which wins on conflict",
    headers: { host: 'app.test', 'user-agent': 'ua', 'x-user': 'alice' },
    route: {
      to: [wc('app', 1, { requestHeaders: { set: [{ name: 'X-Who', value: 'service' }, { name: 'X-Svc', value: 'app' }], remove: [] } })],
      requestHeaders: { set: [{ name: 'X-Who', value: 'route %REQ(x-user)%' }], remove: ['User-Agent'] },
    },
    expect: { headers: ['x-user', 'alice', ...forwarded('app.test'), 'x-svc', 'app', 'x-who', 'route alice'], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: "the route's literal Host rewrite",
    headers: { host: 'app.test' },
    route: { hostRewrite: { literal: 'internal.test' } },
    expect: { headers: [...forwarded('app.test').slice(2), 'host', 'internal.test'], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: "the service's Host rewrite wins over the route's",
    headers: { host: 'app.test' },
    route: { to: [wc('app', 1, { hostRewrite: 'svc.test' })], hostRewrite: { literal: 'internal.test' } },
    expect: { headers: [...forwarded('app.test').slice(2), 'host', 'svc.test'], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'a Host rewrite from a request header',
    headers: { host: 'app.test', 'x-target': 'picked.test' },
    route: { hostRewrite: { fromHeader: 'X-Target' } },
    expect: { headers: ['x-target', 'picked.test', ...forwarded('app.test').slice(2), 'host', 'picked.test'], path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'no Host rewrite when the header it reads is absent',
    headers: { host: 'app.test' },
    route: { hostRewrite: { fromHeader: 'X-Target' } },
    expect: { headers: forwarded('app.test'), path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'prefix rewrite keeps the rest of the path and the query',
    headers: { host: 'app.test' },
    route: { path: { kind: 'prefix', value: '/api' }, prefixRewrite: '/v2' },
    path: '/api/users',
    query: 'page=2',
    expect: { headers: forwarded('app.test'), path: '/v2/users?page=2', xForwardedFor: CLIENT },
  },
  {
    name: 'a prefix rewritten to nothing leaves "/"',
    headers: { host: 'app.test' },
    route: { path: { kind: 'prefix', value: '/api' }, prefixRewrite: '' },
    path: '/api',
    expect: { headers: forwarded('app.test'), path: '/', xForwardedFor: CLIENT },
  },
  {
    name: 'no prefix rewrite on a route that matched by regex',
    headers: { host: 'app.test' },
    route: { path: { kind: 'regex', value: '/api.*' }, prefixRewrite: '/v2' },
    path: '/api/users',
    expect: { headers: forwarded('app.test'), path: '/api/users', xForwardedFor: CLIENT },
  },
];

for (const row of rows) {
  test(row.name, () => {
    const { to = 'app', ...rest } = row.route ?? {};
    const tables = new RouteTableCompiler().compile(config({ httpVirtualHosts: [vhost('app.test', [route({ to, ...rest })])] }), new Map());
    const compiled = tables.http.lookup('app.test')!.routes[0]!;
    const authority = (row.headers[':authority'] ?? row.headers.host) as string;
    const ops: OpContext = {
      header: (n) => {
        const v = row.headers[n];
        return Array.isArray(v) ? v.join(',') : v;
      },
      clientAddress: CLIENT,
      clientPort: 40000,
      conn: { listener: 'http', peerAddress: CLIENT, clientAddress: CLIENT, clientPort: 40000, https: false, remote: `${CLIENT}:40000` },
      protocol: 'HTTP/1.1',
      upstreamAddress: '',
      flags: '-',
      codeDetails: '',
    };
    const head = upstreamRequestHead({
      headers: row.headers,
      authority,
      path: row.path ?? '/',
      query: row.query ?? '',
      https: row.https ?? false,
      requestId: ID,
      internal: false,
      teTrailers: row.teTrailers ?? true,
      route: compiled,
      backend: compiled.backends[0]!,
      ops,
    });
    assert.deepEqual(head, row.expect);
  });
}
