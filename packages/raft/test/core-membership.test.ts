// Membership changes, learners, leader transfer and snapshots (etcd raft_test.go, raft_snap_test.go).
import type { Test } from 'tap';
import t from 'tap';
import { decodeConfChange } from '../src/core/codec.js';
import { ProgressState } from '../src/core/progress.js';
import { ProposalDropped } from '../src/core/raft.js';
import { bootstrapState, RawNode } from '../src/core/rawnode.js';
import type { ConfChange, Entry } from '../src/core/types.js';
import { ConfChangeType, EntryType, MsgType, message, NONE, Role } from '../src/core/types.js';
import { drain, ids, Network, newRaft, snapshotOf, takeMsgs } from './helpers/network.js';

const V3 = ids(3);

function leaderOf(voters: string[], opts = {}): RawNode {
  const n = newRaft('1', voters, opts);
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  return n;
}

/** Persists and returns committed entries without applying conf changes. */
function nextEnts(n: RawNode): Entry[] {
  const out: Entry[] = [];
  while (n.hasReady()) {
    const rd = n.ready();
    out.push(...rd.committedEntries);
    n.advance(rd);
  }
  return out;
}

type Asserts = Pick<Test, 'equal' | 'ok'>;

function checkTransfer(t: Asserts, n: RawNode, role: Role, lead: string): void {
  t.equal(n.raft.role, role, 'role after transfer');
  t.equal(n.raft.lead, lead, 'leader after transfer');
  t.equal(n.raft.leadTransferee, NONE, 'no transfer pending');
}

function checkDropped(t: Asserts, fn: () => unknown, reason: ProposalDropped['reason']): void {
  try {
    fn();
    t.ok(false, `expected ProposalDropped(${reason})`);
  } catch (e) {
    t.ok(e instanceof ProposalDropped, 'ProposalDropped thrown');
    t.equal((e as ProposalDropped).reason, reason);
  }
}

// ------------------------------------------------------------------ membership

t.test('a conf change proposal sets the pending index; a second one waits', async (t) => {
  const n = leaderOf(['1', '2']);
  const li = n.raft.log.lastIndex();
  n.proposeConfChange({ type: ConfChangeType.AddVoter, id: '3' });
  t.equal(n.raft.pendingConfIndex, li + 1);
  checkDropped(
    t,
    () => n.proposeConfChange({ type: ConfChangeType.AddVoter, id: '4' }),
    'conf-change-pending',
  );
  t.equal(n.raft.log.lastIndex(), li + 1, 'the second change is not appended');
});

t.test('a new leader treats conf changes in its uncommitted tail as pending', async (t) => {
  for (const [withConf, want] of [
    [false, 0],
    [true, 1],
  ] as const) {
    const entries: Entry[] = withConf
      ? [{ term: 1, index: 1, type: EntryType.ConfChange, data: new Uint8Array(0) }]
      : [];
    const n = newRaft('1', ['1', '2'], { state: { entries } });
    n.raft.becomeCandidate();
    n.raft.becomeLeader();
    t.equal(n.raft.pendingConfIndex >= want, true);
    t.equal(n.raft.pendingConfIndex, withConf ? 1 : 0);
  }
});

t.test('add and remove voters and learners', async (t) => {
  const n = newRaft('1', ['1']);
  n.applyConfChange({ type: ConfChangeType.AddVoter, id: '2' });
  t.same(n.raft.confState(), { voters: ['1', '2'], learners: [] });
  n.applyConfChange({ type: ConfChangeType.AddLearner, id: '3' });
  t.same(n.raft.confState(), { voters: ['1', '2'], learners: ['3'] });
  t.ok(n.raft.prs.get('3')?.isLearner);
  n.applyConfChange({ type: ConfChangeType.AddVoter, id: '3' });
  t.same(n.raft.confState(), { voters: ['1', '2', '3'], learners: [] }, 'learner promoted');
  t.notOk(n.raft.prs.get('3')?.isLearner);
  n.applyConfChange({ type: ConfChangeType.Remove, id: '2' });
  t.same(n.raft.confState(), { voters: ['1', '3'], learners: [] });
  t.notOk(n.raft.prs.has('2'));
  n.applyConfChange({ type: ConfChangeType.Remove, id: '3' });
  t.same(n.raft.confState(), { voters: ['1'], learners: [] });
  n.applyConfChange({ type: ConfChangeType.Remove, id: '1' });
  t.same(n.raft.confState(), { voters: ['1'], learners: [] }, 'the last voter cannot be removed');
  checkDropped(
    t,
    () => leaderOf(['1']).proposeConfChange({ type: ConfChangeType.Remove, id: '1' }),
    'invalid-conf-change',
  );
});

t.test('only voters are promotable', async (t) => {
  t.ok(newRaft('1', ['1']).raft.promotable());
  t.ok(newRaft('1', ['1', '2', '3']).raft.promotable());
  t.notOk(newRaft('1', []).raft.promotable());
  t.notOk(newRaft('1', ['2', '3']).raft.promotable());
  t.notOk(newRaft('1', ['2'], { learners: ['1'] }).raft.promotable());
});

t.test('removing a node lowers the quorum so pending entries commit', async (t) => {
  const n = leaderOf(['1', '2'], { electionTicks: 5 });
  const cc: ConfChange = { type: ConfChangeType.Remove, id: '2' };
  n.proposeConfChange(cc);
  t.same(nextEnts(n), [], 'nothing committed yet');
  const ccIndex = n.raft.log.lastIndex();
  n.propose([new TextEncoder().encode('hello')]);
  n.raft.step(
    message({ type: MsgType.AppResp, from: '2', to: '1', term: n.raft.term, index: ccIndex }),
  );
  const es = nextEnts(n);
  t.same(
    es.map((e) => e.type),
    [EntryType.Normal, EntryType.ConfChange],
  );
  n.applyConfChange(cc);
  const after = nextEnts(n);
  t.same(
    after.map((e) => new TextDecoder().decode(e.data)),
    ['hello'],
  );
});

t.test('a membership change through the log: add a node, it catches up and votes', async (t) => {
  // Nodes 1-3 bootstrap the cluster (their config is in the log); node 4 starts empty.
  const founders = V3.map((id) => {
    const n = new RawNode(
      { id, preVote: false, checkQuorum: false, seed: Number(id) },
      bootstrapState({ 1: 'a1', 2: 'a2', 3: 'a3' }),
    );
    drain(n);
    return n;
  });
  const net = new Network([...founders, new RawNode({ id: '4', seed: 4 })]);
  t.same(founders[0]!.raft.confState().voters, V3);
  net.campaign('1');
  net.propose('1', 'before');
  const n1 = net.node('1');
  n1.proposeConfChange({ type: ConfChangeType.AddVoter, id: '4', context: 'addr4' });
  net.send(...drain(n1));
  net.tick('1');
  const n4 = net.node('4');
  t.same(
    n4.raft.confState().voters,
    ['1', '2', '3', '4'],
    'the new node learned the config from the log',
  );
  t.equal(n4.raft.log.committed, n1.raft.log.committed);
  t.same(n1.raft.confState().voters, ['1', '2', '3', '4']);
  // With 4 voters a quorum is 3: isolate two and nothing commits.
  net.isolate('3');
  net.isolate('4');
  const c = n1.raft.log.committed;
  net.propose('1', 'x');
  t.equal(n1.raft.log.committed, c, 'two of four is not a quorum');
  net.recover();
  net.tick('1');
  t.ok(n1.raft.log.committed > c);
});

t.test('learners replicate the log but neither vote, count nor campaign', async (t) => {
  const n1 = newRaft('1', ['1'], { learners: ['2'] });
  const n2 = newRaft('2', ['1'], { learners: ['2'] });
  const net = new Network([n1, n2]);
  for (let i = 0; i < 30; i++) n2.tick();
  t.same(takeMsgs(n2), [], 'a learner never campaigns');
  t.equal(n2.raft.role, Role.Follower);
  net.campaign('1');
  t.equal(n1.raft.role, Role.Leader, 'the single voter is leader');
  net.propose('1', 'somedata');
  t.equal(n2.raft.log.committed, n1.raft.log.committed, 'learner gets committed entries');
  t.equal(n1.raft.prs.get('2')?.match, n1.raft.log.lastIndex());
  // promote: now the learner may campaign
  n1.applyConfChange({ type: ConfChangeType.AddVoter, id: '2' });
  n2.applyConfChange({ type: ConfChangeType.AddVoter, id: '2' });
  t.ok(n2.raft.promotable());
  net.isolate('1');
  for (let i = 0; i < 30; i++) n2.tick();
  t.ok(
    n2.raft.role === Role.Candidate || n2.raft.role === Role.PreCandidate,
    'the promoted node campaigns',
  );
});

t.test('a removed leader steps down once the change applies', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  const n1 = net.node('1');
  n1.proposeConfChange({ type: ConfChangeType.Remove, id: '1' });
  net.send(...drain(n1));
  net.tick('1');
  t.equal(n1.raft.role, Role.Follower, 'leader stepped down');
  t.same(net.node('2').raft.confState().voters, ['2', '3']);
  net.campaign('2');
  t.equal(net.node('2').raft.role, Role.Leader, 'the rest elect a new leader');
  for (let i = 0; i < 50; i++) n1.tick();
  t.same(takeMsgs(n1), [], 'the removed node does not campaign');
});

// ------------------------------------------------------------------ leader transfer

t.test('leader transfer to an up-to-date node, and back', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  const n1 = net.node('1');
  net.send(message({ type: MsgType.TransferLeader, from: '2', to: '1' }));
  checkTransfer(t, n1, Role.Follower, '2');
  net.propose('2');
  net.send(message({ type: MsgType.TransferLeader, from: '1', to: '2' }));
  checkTransfer(t, n1, Role.Leader, '1');
});

t.test('leader transfer requested on a follower is forwarded to the leader', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.send(message({ type: MsgType.TransferLeader, from: '2', to: '2' }));
  checkTransfer(t, net.node('1'), Role.Follower, '2');
});

t.test('leader transfer works under CheckQuorum (the vote bypasses the lease)', async (t) => {
  const net = new Network([undefined, undefined, undefined], { checkQuorum: true });
  net.campaign('1');
  net.send(message({ type: MsgType.TransferLeader, from: '2', to: '1' }));
  checkTransfer(t, net.node('1'), Role.Follower, '2');
});

t.test('leader transfer to a lagging follower waits for it to catch up', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.isolate('3');
  net.propose('1');
  net.recover();
  const n1 = net.node('1');
  t.equal(n1.raft.prs.get('3')?.match, 1);
  net.send(message({ type: MsgType.TransferLeader, from: '3', to: '1' }));
  checkTransfer(t, n1, Role.Follower, '3');
});

t.test('leader transfer to a follower that needs a snapshot', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.isolate('3');
  net.propose('1');
  const n1 = net.node('1');
  drain(n1);
  n1.createSnapshot(new Uint8Array([1]));
  n1.compact(n1.raft.log.applied);
  net.recover();
  net.send(message({ type: MsgType.TransferLeader, from: '3', to: '1' }));
  checkTransfer(t, n1, Role.Follower, '3');
});

t.test('leader transfer: to itself, to a non-member and to a learner are ignored', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  const n1 = net.node('1');
  net.send(message({ type: MsgType.TransferLeader, from: '1', to: '1' }));
  checkTransfer(t, n1, Role.Leader, '1');
  net.send(message({ type: MsgType.TransferLeader, from: '4', to: '1' }));
  checkTransfer(t, n1, Role.Leader, '1');
  n1.applyConfChange({ type: ConfChangeType.AddLearner, id: '3' });
  net.send(message({ type: MsgType.TransferLeader, from: '3', to: '1' }));
  checkTransfer(t, n1, Role.Leader, '1');
});

t.test('leader transfer to an unreachable node times out after an election timeout', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.isolate('3');
  const n1 = net.node('1');
  net.send(message({ type: MsgType.TransferLeader, from: '3', to: '1' }));
  t.equal(n1.raft.leadTransferee, '3');
  n1.tick();
  t.equal(n1.raft.leadTransferee, '3', 'still transferring after a heartbeat');
  for (let i = 0; i < 9; i++) n1.tick();
  checkTransfer(t, n1, Role.Leader, '1');
});

t.test('proposals are refused while a transfer is in progress', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.isolate('3');
  const n1 = net.node('1');
  net.send(message({ type: MsgType.TransferLeader, from: '3', to: '1' }));
  checkDropped(t, () => n1.propose([new Uint8Array([1])]), 'transferring');
  t.equal(n1.raft.prs.get('1')?.match, 1);
});

t.test('a second transfer to another node replaces the first', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.isolate('3');
  const n1 = net.node('1');
  net.send(message({ type: MsgType.TransferLeader, from: '3', to: '1' }));
  t.equal(n1.raft.leadTransferee, '3');
  net.send(message({ type: MsgType.TransferLeader, from: '2', to: '1' }));
  checkTransfer(t, n1, Role.Follower, '2');
});

t.test('removing the transferee aborts the transfer', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.ignore(MsgType.TimeoutNow);
  const n1 = net.node('1');
  net.send(message({ type: MsgType.TransferLeader, from: '3', to: '1' }));
  t.equal(n1.raft.leadTransferee, '3');
  n1.applyConfChange({ type: ConfChangeType.Remove, id: '3' });
  checkTransfer(t, n1, Role.Leader, '1');
});

// ------------------------------------------------------------------ snapshots

t.test('restore from a snapshot replaces log and config', async (t) => {
  const n = newRaft('1', ['1', '2']);
  const s = snapshotOf(11, 11, ['1', '2', '3']);
  t.ok(n.raft.restore(s));
  t.equal(n.raft.log.lastIndex(), 11);
  t.equal(n.raft.log.term(11), 11);
  t.same(n.raft.confState().voters, ['1', '2', '3']);
  t.notOk(n.raft.restore(s), 'the same snapshot again is ignored');
});

t.test('a snapshot the log already covers only moves the commit index', async (t) => {
  const n = newRaft('1', ['1', '2'], {
    state: {
      entries: [
        { term: 1, index: 1, type: 0, data: new Uint8Array(0) },
        { term: 1, index: 2, type: 0, data: new Uint8Array(0) },
        { term: 1, index: 3, type: 0, data: new Uint8Array(0) },
      ],
      hardState: { term: 1, vote: NONE, commit: 1 },
    },
  });
  t.notOk(n.raft.restore(snapshotOf(1, 1, ['1', '2'])), 'older than commit');
  t.notOk(n.raft.restore(snapshotOf(2, 1, ['1', '2'])), 'matching entry');
  t.equal(n.raft.log.committed, 2);
  t.equal(n.raft.log.lastIndex(), 3, 'entries kept');
});

t.test('a snapshot that does not include this node is refused', async (t) => {
  const n = newRaft('1', ['1', '2']);
  t.notOk(n.raft.restore(snapshotOf(11, 11, ['2', '3'])));
});

t.test('the leader sends a snapshot to a recently active follower behind its log', async (t) => {
  const n = newRaft('1', ['1'], { state: { snapshot: snapshotOf(11, 11, ['1', '2']) } });
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  const pr = n.raft.prs.get('2')!;
  // the follower is behind the compaction point
  pr.next = n.raft.log.firstIndex() - 1;
  pr.recentActive = false;
  takeMsgs(n);
  n.raft.bcastAppend();
  t.same(takeMsgs(n), [], 'no snapshot to an inactive follower');
  pr.recentActive = true;
  n.raft.bcastAppend();
  const ms = takeMsgs(n);
  t.equal(ms.length, 1);
  t.equal(ms[0]!.type, MsgType.Snap);
  t.equal(pr.state, ProgressState.Snapshot);
  t.equal(pr.pendingSnapshot, 11);
  n.raft.bcastAppend();
  t.same(takeMsgs(n), [], 'replication pauses while the snapshot is pending');
});

t.test('snapshot status: failure and success return the follower to probing', async (t) => {
  for (const ok of [false, true]) {
    const n = newRaft('1', ['1', '2'], { state: { snapshot: snapshotOf(11, 11, ['1', '2']) } });
    n.raft.becomeCandidate();
    n.raft.becomeLeader();
    const pr = n.raft.prs.get('2')!;
    pr.next = 1;
    pr.becomeSnapshot(11);
    n.reportSnapshot('2', ok);
    t.equal(pr.state, ProgressState.Probe);
    t.equal(pr.pendingSnapshot, 0);
    t.equal(
      pr.next,
      ok ? 12 : 1,
      ok ? 'success: probe after the snapshot' : 'failure: probe from where it was',
    );
    t.ok(pr.paused, 'paused until the follower answers');
  }
});

t.test('an append response past the pending snapshot aborts it', async (t) => {
  const n = newRaft('1', ['1', '2'], { state: { snapshot: snapshotOf(11, 11, ['1', '2']) } });
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  const pr = n.raft.prs.get('2')!;
  pr.next = 1;
  pr.becomeSnapshot(11);
  n.raft.step(message({ type: MsgType.AppResp, from: '2', to: '1', term: n.raft.term, index: 11 }));
  t.equal(pr.pendingSnapshot, 0);
  t.equal(pr.state, ProgressState.Replicate);
  t.equal(pr.next, 13, 'the no-op at 12 went out at once');
  t.equal(pr.inflights.count(), 1);
});

t.test('a slow follower catches up from a snapshot after compaction', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.isolate('3');
  for (let i = 0; i <= 100; i++) net.propose('1', `v${i}`);
  const n1 = net.node('1');
  drain(n1);
  n1.createSnapshot(new TextEncoder().encode('state'));
  n1.compact(n1.raft.log.applied);
  t.equal(n1.raft.log.firstIndex(), n1.raft.log.applied + 1);
  net.recover();
  while (!n1.raft.prs.get('3')!.recentActive)
    net.send(message({ type: MsgType.Beat, from: '1', to: '1' }));
  net.propose('1', 'after');
  const n3 = net.node('3');
  t.equal(n3.raft.log.committed, n1.raft.log.committed);
  t.equal(
    n3.raft.log.snapshot.meta.index,
    n1.raft.log.snapshot.meta.index,
    'follower installed the snapshot',
  );
  t.equal(new TextDecoder().decode(n3.raft.log.snapshot.data), 'state');
  t.same(
    n3.raft.log.allEntries().map((e) => new TextDecoder().decode(e.data)),
    ['after'],
  );
});

t.test('a Ready carries a received snapshot before the entries after it', async (t) => {
  const n = newRaft('2', ['1', '2']);
  n.raft.becomeFollower(5, '1');
  n.raft.step(
    message({
      type: MsgType.Snap,
      from: '1',
      to: '2',
      term: 5,
      snapshot: snapshotOf(10, 5, ['1', '2']),
    }),
  );
  n.raft.step(
    message({
      type: MsgType.App,
      from: '1',
      to: '2',
      term: 5,
      index: 10,
      logTerm: 5,
      commit: 11,
      entries: [{ term: 5, index: 11, type: 0, data: new Uint8Array([7]) }],
    }),
  );
  const rd = n.ready();
  t.equal(rd.snapshot?.meta.index, 10);
  t.same(
    rd.entries.map((e) => e.index),
    [11],
  );
  t.same(rd.committedEntries, [], 'nothing applies before the snapshot is installed');
  t.ok(rd.mustSync);
  t.notOk(rd.sendBeforePersist);
  n.advance(rd);
  const rd2 = n.ready();
  t.same(
    rd2.committedEntries.map((e) => e.index),
    [11],
  );
  n.advance(rd2);
  t.equal(n.raft.log.applied, 11);
});

t.test('conf change entries decode to what was proposed', async (t) => {
  const n = leaderOf(['1']);
  drain(n);
  n.proposeConfChange({ type: ConfChangeType.AddLearner, id: '9', context: '10.0.0.9:1' });
  const es = nextEnts(n).filter((e) => e.type === EntryType.ConfChange);
  t.same(decodeConfChange(es[0]!.data), {
    type: ConfChangeType.AddLearner,
    id: '9',
    context: '10.0.0.9:1',
  });
});
