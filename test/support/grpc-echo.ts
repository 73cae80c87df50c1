// Small gRPC backends for interop tests: one unary method, no .proto files, each backend
// answers with its own id so a test can count where calls landed.
import * as grpc from '@grpc/grpc-js';

export const ECHO_PATH = '/inboard.test.Echo/Call';
const ser = (s: string) => Buffer.from(s, 'utf8');
const de = (b: Buffer) => b.toString('utf8');

export interface EchoBackend {
  readonly id: string;
  readonly port: number;
  readonly calls: number;
  close(): Promise<void>;
}

export async function startEchoBackend(id: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(
    {
      Call: {
        path: ECHO_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: ser,
        requestDeserialize: de,
        responseSerialize: ser,
        responseDeserialize: de,
      },
    },
    {
      Call: (_call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
        calls++;
        cb(null, id);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    id,
    port,
    get calls() {
      return calls;
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

export function callEcho(client: grpc.Client, deadlineMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      ECHO_PATH,
      ser,
      de,
      'ping',
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err: grpc.ServiceError | null, value?: string) => (err ? reject(err) : resolve(value ?? '')),
    );
  });
}
