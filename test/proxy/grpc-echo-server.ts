// A real gRPC server (grpc-js, h2c on loopback) for the gRPC-Web tests,
// with raw bytes for messages so no .proto is needed: /test.Echo/Unary
// answers "echo:" + the request with a trailer of its own, or an error
// status when the request says "fail"; /test.Echo/Stream answers as many
// messages as the request's number, then OK, or with "N fail" the error
// status after them. It records each call's metadata.
import * as grpc from '@grpc/grpc-js';
import { closeGrpcServer } from './ext-authz-server.ts';

export const UNARY = '/test.Echo/Unary';
export const STREAM = '/test.Echo/Stream';

export interface EchoServer {
  port: number;
  /** Metadata of each call, in arrival order. */
  calls: { path: string; metadata: Record<string, grpc.MetadataValue> }[];
  close(): Promise<void>;
}

const raw = (b: Buffer): Buffer => b;

function method(path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream: false, responseStream, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw };
}

export async function startEchoServer(): Promise<EchoServer> {
  const server = new grpc.Server();
  const state: EchoServer = { port: 0, calls: [], close: () => closeGrpcServer(server, []) };
  server.addService(
    { Unary: method(UNARY, false), Stream: method(STREAM, true) },
    {
      Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        state.calls.push({ path: UNARY, metadata: call.metadata.getMap() });
        const text = call.request.toString();
        if (text === 'fail') return cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' } as grpc.ServiceError);
        const trailer = new grpc.Metadata();
        trailer.set('x-echo-trailer', 'done');
        cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), trailer);
      },
      Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        state.calls.push({ path: STREAM, metadata: call.metadata.getMap() });
        const [count, fail] = call.request.toString().split(' ');
        for (let i = 0; i < Number(count); i++) call.write(Buffer.from(`message ${i}`));
        if (fail === 'fail') call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'stream stopped: 100% used' } as grpc.ServiceError);
        else call.end();
      },
    },
  );
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  return state;
}
