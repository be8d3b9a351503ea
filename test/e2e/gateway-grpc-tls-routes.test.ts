// GRPCRoute and TLSRoute through `isobar serve` with real clients: a
// grpc-js client calls a grpc-js server through the proxy's HTTP listener
// (h2c both ways), routed by service and method; a TLS client reaches a TLS
// backend through the proxy's TLS listener by SNI with its TLS untouched
// (the backend's own certificate is what the client sees).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { createCa } from '../support/pki.ts';
import { freePort, startServe, waitFor, type ServeProcess } from './support.ts';
import { GATEWAY_CLASS, serviceAt } from './gateway-manifests.ts';

// A gRPC service without a .proto: raw buffers in and out.
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const definition = (service: string): grpc.ServiceDefinition => ({
  Echo: { path: `/${service}/Echo`, requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Other: { path: `/${service}/Other`, requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
});

async function grpcServer(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = new grpc.Server();
  const answer = (method: string) => (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(`${name}:${method}:${call.request.toString()}`));
  server.addService(definition('demo.Echoer'), { Echo: answer('Echo'), Other: answer('Other') });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

function call(port: number, authority: string, method: string): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(`/demo.Echoer/${method}`, raw.serialize, raw.deserialize, Buffer.from('hi'), (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!.toString());
    });
  });
}

function tlsHello(port: number, servername: string, ca: string): Promise<{ subject: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca }, () => {
      const subject = String(s.getPeerCertificate().subject?.CN ?? s.getPeerCertificate().subjectaltname ?? '');
      s.write(`GET / HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
      let body = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (body += d));
      s.on('end', () => resolve({ subject, body }));
    });
    s.on('error', reject);
  });
}

test('GRPCRoute by service and method to grpc-js servers, and TLSRoute passthrough by SNI to a TLS backend', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-grpc-tls-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const ca = await createCa('passthrough backend CA');
  const leaf = await ca.issue({ commonName: 'db.example.test', dnsNames: ['db.example.test'] });
  const one = await grpcServer('one');
  const two = await grpcServer('two');
  const db = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'db', tls: { certPem: leaf.certPem, keyPem: leaf.keyPem, requireClientCert: false } });
  let serve: ServeProcess | undefined;
  try {
    const svc = (name: string, port: number) => serviceAt(name, port);
    await writeFile(
      join(dir, 'all.yaml'),
      [
        GATEWAY_CLASS,
        `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: apps}
spec:
  gatewayClassName: contour
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: tls, port: 443, protocol: TLS, tls: {mode: Passthrough}}
`,
        svc('one', one.port),
        svc('two', two.port),
        svc('db', db.port),
        `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: apps}
spec:
  parentRefs: [{name: edge, sectionName: http}]
  hostnames: [grpc.example.test]
  rules:
  - matches: [{method: {service: demo.Echoer, method: Other}}]
    backendRefs: [{name: two, port: 80}]
  - matches: [{method: {service: demo.Echoer}}]
    backendRefs: [{name: one, port: 80}]
`,
        `apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: db, namespace: apps}
spec:
  parentRefs: [{name: edge, sectionName: tls}]
  hostnames: [db.example.test]
  rules: [{backendRefs: [{name: db, port: 80}]}]
`,
      ].join('---\n'),
    );
    const httpPort = await freePort();
    const httpsPort = await freePort();
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    await waitFor('the GRPCRoute served', async () => ((await call(httpPort, 'grpc.example.test', 'Echo').catch(() => '')) !== '' ? true : undefined));
    assert.equal(await call(httpPort, 'grpc.example.test', 'Echo'), 'one:Echo:hi');
    assert.equal(await call(httpPort, 'grpc.example.test', 'Other'), 'two:Other:hi', 'the exact method outranks the service match');
    await assert.rejects(call(httpPort, 'other.example.test', 'Echo'), 'a host no route names');

    const hello = await tlsHello(httpsPort, 'db.example.test', ca.certPem);
    assert.equal(hello.subject, 'db.example.test', 'the client sees the backend\'s own certificate: TLS passed through');
    assert.match(hello.body, /"backend": "db"/);
  } finally {
    await serve?.stop();
    await Promise.all([one.close(), two.close(), db.close()]);
    await rm(work, { recursive: true, force: true });
  }
});
