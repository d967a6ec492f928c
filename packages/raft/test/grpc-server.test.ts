// The lean gRPC server and client on our own HTTP/2 layer: standard gRPC clients (@grpc/grpc-js) get the
// right payloads, statuses, messages and trailing metadata; the channel reconnects after backoff;
// a TLS member refuses a peer without the cluster's CA.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { freePorts } from '@vnet/testkit';
import t from 'tap';
import type { Message } from '../src/core/types.js';
import { MsgType, message } from '../src/core/types.js';
import { GrpcTransport } from '../src/transport/grpc.js';
import { GrpcChannel } from '../src/transport/grpc-client.js';
import { GrpcServer, GrpcStatus, GrpcStatusError } from '../src/transport/grpc-server.js';
import type { Pem } from './helpers/certs.js';
import { makePki } from './helpers/certs.js';

let dir = '';
let pem: Pem;
let otherPem: Pem;

t.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-grpc-server-'));
  pem = makePki(dir, 'cluster');
  otherPem = makePki(dir, 'stranger');
});
t.teardown(() => rm(dir, { recursive: true, force: true }));

const bytes = (b: Buffer) => b;

function unary(
  client: grpc.Client,
  path: string,
  req: Buffer,
): Promise<{ err: grpc.ServiceError | null; res?: Buffer }> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(path, bytes, bytes, req, new grpc.Metadata(), {}, (err, res) =>
      resolve({ err, ...(res ? { res } : {}) }),
    ),
  );
}

t.test('unary methods answer grpc-js clients with payloads and statuses', async (t) => {
  const server = new GrpcServer({ maxMessageBytes: 1024 });
  server
    .unary('/test.v1.T/Echo', (req) => Buffer.concat([Buffer.from('echo:'), req]))
    .unary('/test.v1.T/Later', async (req) => {
      await new Promise((r) => setTimeout(r, 5));
      return req;
    })
    .unary('/test.v1.T/Refuse', () => {
      throw new GrpcStatusError(GrpcStatus.FAILED_PRECONDITION, 'not leader: ask 50% of b', {
        'leader-id': 'b',
      });
    })
    .unary('/test.v1.T/Crash', () => {
      throw new Error('état inattendu');
    });
  const port = await server.listen('127.0.0.1:0');
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await server.close();
  });

  const ok = await unary(client, '/test.v1.T/Echo', Buffer.from('hi'));
  t.equal(ok.err, null);
  t.equal(ok.res?.toString(), 'echo:hi');
  const empty = await unary(client, '/test.v1.T/Echo', Buffer.alloc(0));
  t.equal(empty.res?.toString(), 'echo:', 'an empty request is one empty message');
  const later = await Promise.all(
    Array.from({ length: 50 }, (_, i) => unary(client, '/test.v1.T/Later', Buffer.from(`${i}`))),
  );
  t.same(
    later.map((r) => r.res?.toString()),
    Array.from({ length: 50 }, (_, i) => `${i}`),
    'concurrent calls on one connection each get their own answer',
  );

  const refused = await unary(client, '/test.v1.T/Refuse', Buffer.from('x'));
  t.equal(refused.err?.code, grpc.status.FAILED_PRECONDITION);
  t.equal(refused.err?.details, 'not leader: ask 50% of b', "'%' survives the encoding");
  t.same(refused.err?.metadata.get('leader-id'), ['b'], 'metadata goes into the trailers');

  const crashed = await unary(client, '/test.v1.T/Crash', Buffer.from('x'));
  t.equal(crashed.err?.code, grpc.status.INTERNAL);
  t.equal(crashed.err?.details, 'état inattendu', 'non-ASCII text survives the encoding');

  const unknown = await unary(client, '/test.v1.T/Nope', Buffer.from('x'));
  t.equal(unknown.err?.code, grpc.status.UNIMPLEMENTED);
  t.match(unknown.err?.details, /unknown method \/test\.v1\.T\/Nope/);

  const big = await unary(client, '/test.v1.T/Echo', Buffer.alloc(2000));
  t.equal(big.err?.code, grpc.status.RESOURCE_EXHAUSTED);
  t.match(big.err?.details, /message of 2000 bytes exceeds the limit of 1024/);

  const after = await unary(client, '/test.v1.T/Echo', Buffer.from('still'));
  t.equal(after.res?.toString(), 'echo:still', 'the server keeps serving after refusals');

  t.throws(() => server.unary('/test.v1.T/Echo', (r) => r), /already registered/);
  t.throws(() => server.unary('Echo', (r) => r), /must be \/Service\/Method/);
  await t.rejects(new GrpcServer().listen('nonsense'), /expected host:port, got "nonsense"/);
});

t.test(
  'a channel fails fast while nothing listens, then reconnects after its backoff',
  async (t) => {
    const [port] = await freePorts(1);
    const channel = new GrpcChannel(`127.0.0.1:${port}`);
    const server = new GrpcServer();
    const got: Buffer[] = [];
    server.clientStream('/test.v1.T/Sink', (call) => ({
      message: (m) => got.push(m),
      end: () => call.finish(Buffer.from('done')),
    }));
    t.teardown(async () => {
      channel.close();
      await server.close(0);
    });

    const err = await new Promise<GrpcStatusError | undefined>((resolve) => {
      const call = channel.clientStream('/test.v1.T/Sink', resolve);
      call?.write(Buffer.from('lost'));
    });
    t.equal(err?.code, GrpcStatus.UNAVAILABLE, 'the refused connection ends the call');
    t.equal(
      channel.clientStream('/test.v1.T/Sink', () => {}),
      undefined,
      'no new connection inside the backoff',
    );

    await server.listen(`127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 150));
    const result = await new Promise<GrpcStatusError | undefined>((resolve) => {
      const call = channel.clientStream('/test.v1.T/Sink', resolve);
      t.ok(call, 'a new connection after the backoff');
      call?.write(Buffer.from('one'));
      call?.write(Buffer.alloc(100_000, 7));
      call?.end();
    });
    t.equal(result, undefined, 'the server answered OK');
    t.same(
      got.map((b) => b.length),
      [3, 100_000],
      'messages arrive whole and in order',
    );
  },
);

t.test('a TLS member drops messages from a peer without the cluster CA', async (t) => {
  const member = new GrpcTransport({ tls: pem });
  const stranger = new GrpcTransport({ tls: otherPem });
  const got: Message[] = [];
  const unreachable: string[] = [];
  const port = await member.listen('127.0.0.1:0');
  const sport = await stranger.listen('127.0.0.1:0');
  t.teardown(async () => {
    await member.stop();
    await stranger.stop();
  });
  await member.start('a', {
    onMessage: (m) => got.push(m),
    onUnreachable: () => {},
    onSnapshotStatus: () => {},
  });
  await stranger.start('x', {
    onMessage: () => {},
    onUnreachable: (p) => unreachable.push(p),
    onSnapshotStatus: () => {},
  });
  stranger.setPeers({ a: `127.0.0.1:${port}`, x: `127.0.0.1:${sport}` });
  stranger.send([message({ type: MsgType.Heartbeat, to: 'a', from: 'x', term: 9 })]);
  const end = Date.now() + 5000;
  while (unreachable.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  t.same(unreachable.slice(0, 1), ['a'], 'the sender learns the member is unreachable');
  t.same(got, [], 'nothing was delivered');
});

t.test(
  'the channel speaks to a @grpc/grpc-js server: messages, statuses, flow control',
  async (t) => {
    const server = new grpc.Server();
    const seen: number[] = [];
    server.addService(
      {
        Sink: {
          path: '/test.v1.T/Sink',
          requestStream: true,
          responseStream: false,
          requestSerialize: bytes,
          requestDeserialize: bytes,
          responseSerialize: bytes,
          responseDeserialize: bytes,
        },
      },
      {
        Sink: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          let n = 0;
          call.on('data', (m: Buffer) => {
            n++;
            seen.push(m.length);
          });
          call.on('end', () => {
            if (n === 0) cb({ code: grpc.status.FAILED_PRECONDITION, details: 'nothing sent' });
            else cb(null, Buffer.from(String(n)));
          });
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const channel = new GrpcChannel(`127.0.0.1:${port}`);
    t.teardown(() => {
      channel.close();
      server.forceShutdown();
    });
    // 3 MiB in 1 MiB messages: more than grpc-js's stream window, so WINDOW_UPDATEs must flow.
    const ok = await new Promise<GrpcStatusError | undefined>((resolve) => {
      const call = channel.clientStream('/test.v1.T/Sink', resolve)!;
      for (let i = 0; i < 3; i++) call.write(Buffer.alloc(1024 * 1024, i));
      call.end();
    });
    t.equal(ok, undefined, 'OK status');
    t.same(seen, [1024 * 1024, 1024 * 1024, 1024 * 1024], 'every message arrived whole');
    const refused = await new Promise<GrpcStatusError | undefined>((resolve) => {
      channel.clientStream('/test.v1.T/Sink', resolve)!.end();
    });
    t.equal(refused?.code, GrpcStatus.FAILED_PRECONDITION);
    t.equal(refused?.message, 'nothing sent');
    const unknown = await new Promise<GrpcStatusError | undefined>((resolve) => {
      channel.clientStream('/test.v1.T/Nope', resolve)!.end();
    });
    t.equal(unknown?.code, GrpcStatus.UNIMPLEMENTED);
  },
);

t.test('a TLS channel to a port where nothing listens fails the call at once', async (t) => {
  const [port] = await freePorts(1);
  const channel = new GrpcChannel(`127.0.0.1:${port}`, pem);
  t.teardown(() => channel.close());
  const err = await new Promise<GrpcStatusError | undefined>((resolve) => {
    channel.clientStream('/test.v1.T/Sink', resolve)?.write(Buffer.from('lost'));
  });
  t.equal(err?.code, GrpcStatus.UNAVAILABLE);
});
