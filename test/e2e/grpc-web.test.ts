// gRPC-Web through `isobar serve`: a browser-style client (HTTP/1.1, and
// HTTP/2 with prior knowledge) calls a grpc-js server (h2c) behind the
// proxy's HTTP listener, by an HTTPProxy whose service says protocol h2c
// and by a Gateway API GRPCRoute. Binary and text, unary and streaming,
// an error status, serve's default gzip over a gRPC-Web answer (Contour's
// compressor lists the gRPC-Web types), and a body that is not base64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startEchoServer, STREAM, UNARY } from '../proxy/grpc-echo-server.ts';
import { dataFrame, fromText, grpcWebCall, parseFrames, toText } from '../proxy/grpc-web-client.ts';
import { GATEWAY_CLASS, serviceAt } from './gateway-manifests.ts';
import { freePort, startServe, waitFor, type ServeProcess } from './support.ts';

const WEB_HOST = 'web.example.test';
const ROUTE_HOST = 'grpc.example.test';

test('gRPC-Web through serve: HTTPProxy h2c service and GRPCRoute, binary and text, HTTP/1.1 and HTTP/2', { timeout: 90_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-grpc-web-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const echo = await startEchoServer();
  let serve: ServeProcess | undefined;
  let session: http2.ClientHttp2Session | undefined;
  try {
    await writeFile(
      join(dir, 'all.yaml'),
      [
        serviceAt('echo', echo.port),
        `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: web, namespace: apps}
spec:
  virtualhost: {fqdn: ${WEB_HOST}}
  routes:
  - conditions: [{prefix: /test.Echo/}]
    services: [{name: echo, port: 80, protocol: h2c}]
`,
        GATEWAY_CLASS,
        `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: apps}
spec:
  gatewayClassName: contour
  listeners: [{name: http, port: 80, protocol: HTTP}]
`,
        `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: apps}
spec:
  parentRefs: [{name: edge, sectionName: http}]
  hostnames: [${ROUTE_HOST}]
  rules:
  - matches: [{method: {service: test.Echo}}]
    backendRefs: [{name: echo, port: 80}]
`,
      ].join('---\n'),
    );
    const port = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(port), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const unary = (host: string, message: string, more: Partial<Parameters<typeof grpcWebCall>[0]> = {}) =>
      grpcWebCall({ port, host, path: UNARY, contentType: 'application/grpc-web+proto', chunks: [dataFrame(message)], ...more });
    for (const host of [WEB_HOST, ROUTE_HOST]) {
      await waitFor(`${host} served`, async () => ((await unary(host, 'ready?').catch(() => undefined))?.status === 200 && echo.calls.length > 0) || undefined, 15_000);
    }

    // HTTP/1.1, binary, by the HTTPProxy.
    const bin = await unary(WEB_HOST, 'hello', { contentLength: true });
    assert.equal(bin.status, 200);
    assert.equal(bin.headers['content-type'], 'application/grpc-web+proto');
    const binFrames = parseFrames(bin.body);
    assert.deepEqual(binFrames.messages, ['echo:hello']);
    assert.equal(binFrames.trailers?.['grpc-status'], '0');
    assert.equal(binFrames.trailers?.['x-echo-trailer'], 'done');

    // HTTP/2, text, server streaming, by the GRPCRoute.
    session = http2.connect(`http://127.0.0.1:${port}`);
    const streamed = await grpcWebCall({ port, host: ROUTE_HOST, path: STREAM, contentType: 'application/grpc-web-text', accept: 'application/grpc-web-text', chunks: [toText(dataFrame('4'))], session });
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers['content-type'], 'application/grpc-web-text+proto');
    const streamedFrames = parseFrames(fromText(streamed.body));
    assert.deepEqual(streamedFrames.messages, ['message 0', 'message 1', 'message 2', 'message 3']);
    assert.equal(streamedFrames.trailers?.['grpc-status'], '0');

    // An error status before any message: trailers-only, in headers.
    const failed = await unary(ROUTE_HOST, 'fail');
    assert.equal(failed.status, 200);
    assert.equal(failed.headers['grpc-status'], '5');
    assert.equal(decodeURIComponent(String(failed.headers['grpc-message'])), 'no such thing');

    // serve's default compression takes the gRPC-Web answer.
    const zipped = await unary(WEB_HOST, 'compress me', { headers: { 'accept-encoding': 'gzip' }, session });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'Accept-Encoding');
    const unzipped = parseFrames(gunzipSync(zipped.body));
    assert.deepEqual(unzipped.messages, ['echo:compress me']);
    assert.equal(unzipped.trailers?.['grpc-status'], '0');

    // Not base64: Envoy's 400, never reaching the server.
    const calls = echo.calls.length;
    const bad = await grpcWebCall({ port, host: WEB_HOST, path: UNARY, contentType: 'application/grpc-web-text', accept: 'application/grpc-web-text', chunks: [Buffer.from('AAAA*AAA')] });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['content-type'], 'application/grpc-web-text+proto');
    assert.equal(bad.headers['grpc-status'], '13');
    assert.equal(bad.headers['grpc-message'], 'Bad gRPC-web request, invalid base64 data.');
    assert.equal(echo.calls.length, calls);
  } finally {
    session?.close();
    const code = await serve?.stop();
    await echo.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});
