// The gRPC transport over loopback: a TLS cluster sharing one server with the KV service, chunked
// snapshot streaming, refusal of peers without the cluster's CA, and clear errors on bad payloads.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { freePorts } from '@vnet/testkit';
import t from 'tap';
import type { KvMember } from '../examples/kv-member.js';
import { startKvMember } from '../examples/kv-member.js';
import { KvClient } from '../examples/kv-service.js';
import type { Message } from '../src/core/types.js';
import { MsgType, message } from '../src/core/types.js';
import { GrpcTransport } from '../src/transport/grpc.js';
import type { TransportHandler } from '../src/transport/transport.js';
import type { Pem } from './helpers/certs.js';
import { makePki } from './helpers/certs.js';

let dir = '';
let pem: Pem;
let otherPem: Pem;

t.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-grpc-'));
  pem = makePki(dir, 'cluster');
  otherPem = makePki(dir, 'stranger');
});
t.teardown(() => rm(dir, { recursive: true, force: true }));

function recorder() {
  const got: Message[] = [];
  const snaps: [string, boolean][] = [];
  const unreachable: string[] = [];
  const h: TransportHandler = {
    onMessage: (m) => got.push(m),
    onUnreachable: (p) => unreachable.push(p),
    onSnapshotStatus: (p, ok) => snaps.push([p, ok]),
  };
  return { got, snaps, unreachable, h };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('a TLS cluster: raft and the KV service on one gRPC server per member', async (t) => {
  const ports = await freePorts(3);
  const peers = {
    a: `127.0.0.1:${ports[0]}`,
    b: `127.0.0.1:${ports[1]}`,
    c: `127.0.0.1:${ports[2]}`,
  };
  const members: KvMember[] = [];
  const client = new KvClient(Object.values(peers), {
    credentials: grpc.credentials.createSsl(pem.ca, pem.key, pem.cert),
  });
  t.teardown(async () => {
    client.close();
    for (const m of members) await m.stop();
  });
  for (const id of ['a', 'b', 'c'])
    members.push(await startKvMember({ id, peers, dataDir: join(dir, id), tls: pem, tickMs: 20 }));
  const r = await client.put('hello', 'world');
  t.equal(r.prev, null);
  t.equal(await client.get('hello'), 'world');
  const r2 = await client.put('hello', 'again');
  t.equal(r2.prev, 'world');
  for (const m of members) {
    await m.node.read();
    t.equal(m.store.get('hello'), 'again', `member ${m.node.id} has the write`);
  }
  // a client without the cluster's certificates is refused by the server
  const stranger = new KvClient([peers.a], {
    credentials: grpc.credentials.createSsl(otherPem.ca, otherPem.key, otherPem.cert),
    timeoutMs: 1000,
  });
  const err = await stranger.get('hello').catch((e) => e);
  stranger.close();
  t.ok(err instanceof Error, 'TLS handshake with a foreign CA fails');
});

t.test('snapshots stream in chunks and report their status', async (t) => {
  const a = new GrpcTransport();
  const b = new GrpcTransport();
  const ra = recorder();
  const rb = recorder();
  const pa = await a.listen('127.0.0.1:0');
  const pb = await b.listen('127.0.0.1:0');
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  await a.start('a', ra.h);
  await b.start('b', rb.h);
  a.setPeers({ a: `127.0.0.1:${pa}`, b: `127.0.0.1:${pb}` });
  b.setPeers({ a: `127.0.0.1:${pa}`, b: `127.0.0.1:${pb}` });
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  a.send([
    message({
      type: MsgType.App,
      to: 'b',
      from: 'a',
      term: 2,
      entries: [{ term: 2, index: 1, type: 0, data: Buffer.alloc(3 * 1024 * 1024) }],
    }),
    message({
      type: MsgType.Snap,
      to: 'b',
      from: 'a',
      term: 2,
      snapshot: { meta: { index: 9, term: 2, conf: { voters: ['a', 'b'], learners: [] } }, data },
    }),
    message({ type: MsgType.Heartbeat, to: 'b', from: 'a', term: 2, commit: 1 }),
    message({ type: MsgType.Heartbeat, to: 'nobody', from: 'a', term: 2 }),
  ]);
  await until(() => rb.got.length === 3 && ra.snaps.length === 1);
  const snap = rb.got.find((m) => m.type === MsgType.Snap)!;
  t.equal(snap.snapshot!.meta.index, 9);
  t.ok(Buffer.from(snap.snapshot!.data).equals(data), 'snapshot data intact');
  t.same(ra.snaps, [['b', true]]);
  t.equal(
    rb.got.find((m) => m.type === MsgType.App)!.entries[0]!.data.length,
    3 * 1024 * 1024,
    'a 3 MiB append passes',
  );
  // messages to a peer that is down are reported unreachable
  await b.stop();
  a.send([message({ type: MsgType.Heartbeat, to: 'b', from: 'a', term: 2 })]);
  await until(() => ra.unreachable.includes('b'));
  t.pass('unreachable reported');
});

t.test('bad payloads are refused with INVALID_ARGUMENT naming the problem', async (t) => {
  const a = new GrpcTransport();
  const port = await a.listen('127.0.0.1:0');
  t.teardown(() => a.stop());
  await a.start('a', recorder().h);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const call = (path: string, items: Buffer[]) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const s = client.makeClientStreamRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        (err) => resolve(err),
      );
      for (const i of items) s.write(i);
      s.end();
    });
  const e1 = await call('/raft.v1.Raft/Send', [Buffer.from([0x92, 0x01])]);
  t.equal(e1?.code, grpc.status.INVALID_ARGUMENT);
  t.match(e1?.details, /message batch: not valid msgpack/);
  const { pack } = await import('../src/core/codec.js');
  const e2 = await call('/raft.v1.Raft/Send', [
    pack([[MsgType.App, 'a', 'x', 1, 0, 0, 0, 0, 0, '', [[1, 1, 0, 'str']]]]),
  ]);
  t.match(e2?.details, /entries\[0\]\.data: expected bytes/);
  const e3 = await call('/raft.v1.Raft/InstallSnapshot', [pack(['nonsense'])]);
  t.match(e3?.details, /install snapshot: snapshot header: expected \[message, size, crc32\]/);
  const e4 = await call('/raft.v1.Raft/InstallSnapshot', []);
  t.match(e4?.details, /install snapshot: empty stream/);
});
