// The RaftNode driver with real LevelDB stores and a real clock over the in-memory network.

import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import t from 'tap';
import { encodeCommand } from '../examples/kv-store.js';
import {
  CorruptStoreError,
  NotLeaderError,
  ProposalRejectedError,
  ShuttingDownError,
  TimeoutError,
} from '../src/errors.js';
import { TestCluster, until } from './helpers/cluster.js';

const put = (key: string, value: string) => encodeCommand({ op: 'put', key, value });

t.test('propose resolves with the applied result; followers apply the same', async (t) => {
  const c = await TestCluster.start(3);
  t.teardown(() => c.stop());
  const l = await c.leader();
  const r1 = (await l.node.propose(put('a', '1'))) as { index: number; prev: string | null };
  const r2 = (await l.node.propose(put('a', '2'))) as { index: number; prev: string | null };
  t.equal(r1.prev, null);
  t.equal(r2.prev, '1');
  t.equal(r2.index, r1.index + 1);
  // many concurrent proposals are batched and all resolve in order
  const rs = (await Promise.all(
    Array.from({ length: 200 }, (_, i) => l.node.propose(put(`k${i}`, `${i}`))),
  )) as { index: number }[];
  t.same(
    rs.map((r) => r.index - rs[0]!.index),
    Array.from({ length: 200 }, (_, i) => i),
  );
  const m = l.node.metrics();
  t.ok(
    m.proposalBatchesTotal < m.proposalsTotal,
    `batched: ${m.proposalsTotal} proposals in ${m.proposalBatchesTotal} batches`,
  );
  for (const mem of c.members.values()) {
    await mem.node.read();
    t.equal(mem.store.get('a'), '2', `${mem.id} applied`);
    t.equal(mem.store.get('k199'), '199');
  }
});

t.test('errors: not leader (with the leader), too large, timeout, shutting down', async (t) => {
  const c = await TestCluster.start(3, { timeoutMs: 300, maxCommandBytes: 1000 });
  t.teardown(() => c.stop());
  const l = await c.leader();
  const f = [...c.members.values()].find((m) => m !== l)!;
  const e1 = await f.node.propose(put('a', '1')).catch((e) => e);
  t.ok(e1 instanceof NotLeaderError, 'follower refuses');
  t.equal((e1 as NotLeaderError).leaderId, l.id);
  t.equal((e1 as NotLeaderError).leaderAddress, `mem://${l.id}`);
  t.match((e1 as Error).message, new RegExp(`leader is ${l.id} at mem://${l.id}`));
  const e2 = await l.node.propose(new Uint8Array(2000)).catch((e) => e);
  t.ok(e2 instanceof ProposalRejectedError, 'too large');
  t.match((e2 as Error).message, /2000 bytes exceeds the limit of 1000/);
  // a leader cut off from its followers cannot commit: the proposal times out
  c.net.isolate(l.id);
  const e3 = await l.node.propose(put('b', '1')).catch((e) => e);
  t.ok(
    e3 instanceof TimeoutError || e3 instanceof NotLeaderError,
    `isolated leader: ${(e3 as Error).name}`,
  );
  const e4 = await l.node.read().catch((e) => e);
  t.ok(
    e4 instanceof TimeoutError || e4 instanceof NotLeaderError,
    `isolated read: ${(e4 as Error).name}`,
  );
  c.net.heal();
  // A read where no leader is known fails at once (NotLeaderError): wait until one is agreed on,
  // so that the read is still pending when its node stops.
  await c.leader();
  const pending = f.node.read().catch((e) => e);
  await c.stopMember(f.id);
  const e5 = await pending;
  t.ok(e5 === undefined || e5 instanceof ShuttingDownError, 'pending read on stop');
  t.ok(
    (await f.node.propose(put('c', '1')).catch((e) => e)) instanceof ShuttingDownError,
    'stopped node refuses',
  );
});

t.test('leader events, linearizable reads on followers, leader transfer, metrics', async (t) => {
  const c = await TestCluster.start(3);
  t.teardown(() => c.stop());
  const l = await c.leader();
  const events: string[] = [];
  for (const m of c.members.values())
    m.node.on('leader', ({ leader }) => events.push(`${m.id}:${leader}`));
  await l.node.propose(put('x', 'before'));
  const f = [...c.members.values()].find((m) => m !== l)!;
  await f.node.read();
  t.equal(f.store.get('x'), 'before', 'a read on a follower sees the committed write');
  await l.node.transferLeadership(f.id);
  await until(
    () => [...c.members.values()].every((m) => m.node.leaderId() === f.id),
    3000,
    'everyone to follow',
  );
  t.ok(events.includes(`${l.id}:${f.id}`), 'old leader saw the change');
  const r = (await f.node.propose(put('x', 'after'))) as { prev: string };
  t.equal(r.prev, 'before');
  const st = f.node.status();
  t.equal(st.role, 'leader');
  t.same(st.conf.voters, ['n1', 'n2', 'n3']);
  t.equal(Object.keys(st.progress).length, 3);
  const m = f.node.metrics();
  t.ok(
    m.isLeader && m.storageSyncsTotal > 0 && m.messagesSentTotal > 0 && m.leaderChangesTotal > 0,
  );
});

t.test('restart: state comes back from snapshot and log; entries are compacted', async (t) => {
  const c = await TestCluster.start(3, { snapshotEntries: 50, snapshotTrailingEntries: 10 });
  t.teardown(() => c.stop());
  let l = await c.leader();
  for (let i = 0; i < 120; i++) await l.node.propose(put(`k${i % 7}`, `${i}`));
  const f = [...c.members.values()].find((m) => m !== l)!;
  await f.node.read();
  t.ok(f.node.metrics().snapshotsCreatedTotal > 0, 'snapshots were taken');
  const digest = f.store.digest();
  await c.stopMember(f.id);
  for (let i = 120; i < 200; i++) await l.node.propose(put(`k${i % 7}`, `${i}`));
  const back = await c.startMember(f.id);
  l = await c.leader();
  await back.node.read();
  t.equal(back.store.get('k3'), l.store.get('k3'), 'caught up after restart');
  t.not(back.store.digest(), digest);
  await l.node.read();
  t.equal(back.store.digest(), l.store.digest());
});

t.test('a lagging follower is brought up to date with an InstallSnapshot', async (t) => {
  const c = await TestCluster.start(3, { snapshotEntries: 20, snapshotTrailingEntries: 2 });
  t.teardown(() => c.stop());
  const l = await c.leader();
  const f = [...c.members.values()].find((m) => m !== l)!;
  c.net.isolate(f.id);
  for (let i = 0; i < 100; i++) await l.node.propose(put(`k${i}`, `${i}`));
  c.net.heal();
  await until(() => f.node.metrics().snapshotsInstalledTotal > 0, 5000, 'snapshot install');
  await f.node.read();
  t.equal(f.store.get('k99'), '99');
  t.equal(f.store.size(), 100);
});

t.test('membership: add a learner, promote it, remove a member', async (t) => {
  const c = await TestCluster.start(3);
  t.teardown(() => c.stop());
  const l = await c.leader();
  await l.node.propose(put('a', '1'));
  const n4 = await c.startMember('n4', { peers: undefined, join: true });
  let cs = await l.node.addLearner('n4', 'mem://n4');
  t.same(cs, { voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
  await until(() => n4.store.get('a') === '1', 5000, 'learner catch-up');
  cs = await l.node.addVoter('n4', 'mem://n4');
  t.same(cs.voters, ['n1', 'n2', 'n3', 'n4']);
  const victim = [...c.members.values()].find((m) => m !== l && m.id !== 'n4')!;
  cs = await l.node.removeMember(victim.id);
  t.notOk(cs.voters.includes(victim.id));
  await c.stopMember(victim.id);
  const r = (await l.node.propose(put('a', '2'))) as { prev: string };
  t.equal(r.prev, '1', 'the new configuration commits');
  await until(() => n4.store.get('a') === '2', 5000, 'n4 applies');
  t.same(n4.node.status().addresses.n4, 'mem://n4');
});

t.test('a damaged store stops the node from starting, naming the record', async (t) => {
  const c = await TestCluster.start(3);
  t.teardown(() => c.stop());
  const l = await c.leader();
  for (let i = 0; i < 10; i++) await l.node.propose(put('k', `${i}`));
  const f = [...c.members.values()].find((m) => m !== l)!;
  await f.node.read();
  await c.stopMember(f.id);
  const db = new ClassicLevel<Buffer, Buffer>(join(c.dir, f.id), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  const key = Buffer.alloc(9);
  key[0] = 0x65;
  key.writeBigUInt64BE(5n, 1);
  const v = (await db.get(key))!;
  v[6] ^= 0x55;
  await db.put(key, v);
  await db.close();
  const err = await c.startMember(f.id).catch((e) => e);
  t.ok(err instanceof CorruptStoreError, 'CorruptStoreError');
  t.equal((err as CorruptStoreError).record, 'entry 5');
  t.match((err as Error).message, /raft store at .* is damaged: entry 5: checksum mismatch/);
});
