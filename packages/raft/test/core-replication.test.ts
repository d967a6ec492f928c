// Log replication, commit rules, flow control, fast backtracking and ReadIndex (etcd raft_test.go,
// raft_flow_control_test.go themes).
import t from 'tap';
import type { RawNode } from '../src/core/rawnode.js';
import type { Message } from '../src/core/types.js';
import { MsgType, message, NONE, Role } from '../src/core/types.js';
import { entry, ents, ids, Network, newRaft, takeMsgs } from './helpers/network.js';

const V3 = ids(3);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function dataOf(n: RawNode): string[] {
  return n.raft.log.allEntries().map((e) => dec(e.data));
}

t.test('log replication: proposals reach every node and commit', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.propose('1', 'somedata');
  net.campaign('2');
  net.propose('2', 'somedata2');
  for (const id of V3) {
    const n = net.node(id);
    t.equal(n.raft.log.committed, 4, `${id} committed`);
    t.same(
      dataOf(n).filter((d) => d !== ''),
      ['somedata', 'somedata2'],
    );
  }
});

t.test(
  'Figure 8: a new leader cannot commit old-term entries without a current-term entry',
  async (t) => {
    const net = new Network(ids(5).map(() => undefined));
    net.campaign('1');
    net.cut('1', '3');
    net.cut('1', '4');
    net.cut('1', '5');
    net.propose('1', 'a');
    net.propose('1', 'b');
    t.equal(net.node('1').raft.log.committed, 1, 'only the no-op of term 1 commits');
    net.recover();
    net.ignore(MsgType.App);
    net.campaign('2');
    const n2 = net.node('2');
    t.equal(n2.raft.role, Role.Leader);
    t.equal(n2.raft.log.committed, 1, 'entries of term 1 are not committed by counting replicas');
    net.recover();
    net.send(message({ type: MsgType.Beat, from: '2', to: '2' }));
    net.propose('2', 'some data');
    t.equal(n2.raft.log.committed, 5, 'a current-term entry commits everything before it');
  },
);

t.test('a new leader commits the earlier term entries through its no-op', async (t) => {
  const net = new Network(ids(5).map(() => undefined));
  net.campaign('1');
  net.cut('1', '3');
  net.cut('1', '4');
  net.cut('1', '5');
  net.propose('1', 'a');
  net.propose('1', 'b');
  t.equal(net.node('1').raft.log.committed, 1);
  net.recover();
  net.campaign('2');
  t.equal(net.node('2').raft.log.committed, 4);
});

t.test('commit index is the quorum match of current-term entries', async (t) => {
  const cases: [number[], [number, number][], number, number][] = [
    [[1], [[1, 1]], 1, 1],
    [[1], [[1, 1]], 2, 0],
    [
      [2],
      [
        [1, 1],
        [2, 2],
      ],
      2,
      2,
    ],
    [[1], [[1, 2]], 2, 1],
    [
      [2, 1, 1],
      [
        [1, 1],
        [2, 2],
      ],
      1,
      1,
    ],
    [
      [2, 1, 1],
      [
        [1, 1],
        [2, 1],
      ],
      2,
      0,
    ],
    [
      [2, 1, 2],
      [
        [1, 1],
        [2, 2],
      ],
      2,
      2,
    ],
    [
      [2, 1, 2],
      [
        [1, 1],
        [2, 1],
      ],
      2,
      0,
    ],
    [
      [2, 1, 1, 1],
      [
        [1, 1],
        [2, 2],
      ],
      1,
      1,
    ],
    [
      [2, 1, 1, 1],
      [
        [1, 1],
        [2, 1],
      ],
      2,
      0,
    ],
    [
      [2, 1, 1, 2],
      [
        [1, 1],
        [2, 2],
      ],
      1,
      1,
    ],
    [
      [2, 1, 1, 2],
      [
        [1, 1],
        [2, 1],
      ],
      2,
      0,
    ],
    [
      [2, 1, 2, 2],
      [
        [1, 1],
        [2, 2],
      ],
      2,
      2,
    ],
    [
      [2, 1, 2, 2],
      [
        [1, 1],
        [2, 1],
      ],
      2,
      0,
    ],
  ];
  for (const [matches, log, term, want] of cases) {
    const n = newRaft('1', ids(matches.length), {
      state: {
        entries: log.map(([i, tm]) => entry(i, tm)),
        hardState: { term, vote: NONE, commit: 0 },
      },
    });
    matches.forEach((m, i) => {
      const pr = n.raft.prs.get(String(i + 1))!;
      pr.match = m;
      pr.next = m + 1;
    });
    n.raft.maybeCommit();
    t.equal(
      n.raft.log.committed,
      want,
      `matches ${matches} log ${JSON.stringify(log)} term ${term}`,
    );
  }
});

t.test('a follower handles appends: mismatch, append, and commit up to what it has', async (t) => {
  const cases: [Partial<Message>, number, number, boolean][] = [
    [{ term: 2, logTerm: 3, index: 2, commit: 3 }, 2, 0, true],
    [{ term: 2, logTerm: 3, index: 3, commit: 3 }, 2, 0, true],
    [{ term: 2, logTerm: 1, index: 1, commit: 1 }, 2, 1, false],
    [{ term: 2, logTerm: 0, index: 0, commit: 1, entries: [entry(1, 2)] }, 1, 1, false],
    [
      { term: 2, logTerm: 2, index: 2, commit: 3, entries: [entry(3, 2), entry(4, 2)] },
      4,
      3,
      false,
    ],
    [{ term: 2, logTerm: 2, index: 2, commit: 4, entries: [entry(3, 2)] }, 3, 3, false],
    [{ term: 2, logTerm: 1, index: 1, commit: 4, entries: [entry(2, 2)] }, 2, 2, false],
    [{ term: 1, logTerm: 1, index: 1, commit: 3 }, 2, 1, false],
    [{ term: 1, logTerm: 1, index: 1, commit: 3, entries: [entry(2, 2)] }, 2, 2, false],
    [{ term: 2, logTerm: 2, index: 2, commit: 3 }, 2, 2, false],
    [{ term: 2, logTerm: 2, index: 2, commit: 4 }, 2, 2, false],
  ];
  for (const [m, wIndex, wCommit, wReject] of cases) {
    const n = newRaft('1', ['1'], { state: { entries: [entry(1, 1), entry(2, 2)] } });
    n.raft.becomeFollower(2, NONE);
    n.raft.handleAppendEntries(message({ type: MsgType.App, from: '2', to: '1', ...m }));
    t.equal(n.raft.log.lastIndex(), wIndex, `${JSON.stringify(m)}: last index`);
    t.equal(n.raft.log.committed, wCommit, 'commit');
    t.equal(takeMsgs(n)[0]!.reject, wReject, 'reject');
  }
});

t.test('heartbeats move the commit index forward, never back', async (t) => {
  for (const [commit, want] of [
    [3, 3],
    [1, 2],
  ]) {
    const n = newRaft('1', ['1', '2'], {
      state: {
        entries: [entry(1, 1), entry(2, 2), entry(3, 3)],
        hardState: { term: 2, vote: NONE, commit: 2 },
      },
    });
    n.raft.becomeFollower(2, '2');
    n.raft.handleHeartbeat(
      message({ type: MsgType.Heartbeat, from: '2', to: '1', term: 2, commit }),
    );
    t.equal(n.raft.log.committed, want);
    t.equal(takeMsgs(n)[0]!.type, MsgType.HeartbeatResp);
  }
});

t.test('the leader handles append responses: stale, rejected with hint, accepted', async (t) => {
  const cases: [number, boolean, number, number, number, number, number][] = [
    [3, true, 0, 3, 0, 0, 0],
    [2, true, 0, 2, 1, 1, 0],
    [2, false, 2, 4, 2, 2, 2],
    [0, false, 0, 4, 1, 0, 0],
  ];
  for (const [index, reject, wMatch, wNext, wMsgs, wIndex, wCommit] of cases) {
    const n = newRaft('1', V3, { state: { entries: ents(0, 1) } });
    n.raft.becomeCandidate();
    n.raft.becomeLeader();
    takeMsgs(n);
    n.raft.step(
      message({
        type: MsgType.AppResp,
        from: '2',
        to: '1',
        term: n.raft.term,
        index,
        reject,
        rejectHint: index,
      }),
    );
    const pr = n.raft.prs.get('2')!;
    t.equal(pr.match, wMatch, `resp ${index} reject=${reject}: match`);
    t.equal(pr.next, wNext, 'next');
    const ms = takeMsgs(n);
    t.equal(ms.length, wMsgs, 'messages');
    for (const m of ms) {
      t.equal(m.index, wIndex, 'message index');
      t.equal(m.commit, wCommit, 'message commit');
    }
  }
});

t.test('replicate state raises next optimistically; probe state does not', async (t) => {
  for (const [replicate, wNext] of [
    [true, 6],
    [false, 2],
  ] as const) {
    const n = newRaft('1', ['1', '2'], { state: { entries: ents(1, 1, 1) } });
    n.raft.becomeCandidate();
    n.raft.becomeLeader();
    const pr = n.raft.prs.get('2')!;
    if (replicate) pr.becomeReplicate();
    pr.next = 2;
    n.propose([new TextEncoder().encode('somedata')]);
    t.equal(pr.next, wNext, replicate ? 'replicate' : 'probe');
  }
});

t.test('flow control: a full inflight window stops appends until acknowledged', async (t) => {
  const n = newRaft('1', ['1', '2'], { electionTicks: 5, maxInflightMsgs: 8 });
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  const pr = n.raft.prs.get('2')!;
  pr.becomeReplicate();
  takeMsgs(n);
  for (let i = 0; i < 8; i++) {
    n.propose([new TextEncoder().encode('somedata')]);
    const ms = takeMsgs(n);
    t.equal(ms.length, 1);
    t.equal(ms[0]!.type, MsgType.App);
  }
  t.ok(pr.inflights.full(), 'window full');
  for (let i = 0; i < 5; i++) {
    n.propose([new TextEncoder().encode('somedata')]);
    t.same(takeMsgs(n), [], 'nothing sent while full');
  }
  // an ack frees the window and the pipeline refills
  n.raft.step(message({ type: MsgType.AppResp, from: '2', to: '1', term: 1, index: 3 }));
  t.notOk(pr.inflights.full(), 'window has room after the ack');
  t.ok(
    takeMsgs(n).some((m) => m.type === MsgType.App && m.entries.length > 0),
    'queued entries are sent',
  );
});

t.test('flow control: a probing follower gets one append per heartbeat response', async (t) => {
  const n = newRaft('1', ['1', '2'], { electionTicks: 5 });
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  takeMsgs(n);
  const pr = n.raft.prs.get('2')!;
  n.propose([new TextEncoder().encode('a')]);
  t.equal(takeMsgs(n).length, 1, 'one probe');
  t.ok(pr.paused);
  n.propose([new TextEncoder().encode('b')]);
  t.same(takeMsgs(n), [], 'paused while the probe is unanswered');
  n.raft.step(message({ type: MsgType.HeartbeatResp, from: '2', to: '1', term: 1 }));
  t.equal(
    takeMsgs(n).filter((m) => m.type === MsgType.App).length,
    1,
    'heartbeat response resumes probing',
  );
  t.ok(pr.paused, 'and the new probe pauses it again');
});

t.test('fast backtracking: one rejected round trip finds the conflict', async (t) => {
  const cases: [number[], number[], number, number, number, number][] = [
    [[1, 2, 2, 4, 4, 4, 4], [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3], 3, 7, 2, 3],
    [[1, 2, 2, 3, 4, 4, 4, 5], [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3], 3, 8, 3, 4],
    [[1, 1, 1, 1], [1, 2, 2, 4], 1, 1, 1, 1],
    [[1, 1, 1, 1, 1, 1], [1, 2, 2, 4], 1, 1, 1, 1],
    [[1, 1, 1, 1], [1, 2, 2, 4, 4, 4], 1, 1, 1, 1],
    [[1, 1, 1, 4, 5], [1, 1, 1, 4], 4, 4, 4, 4],
    [[2, 5, 5, 5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], 4, 6, 2, 1],
    [[2, 2, 2, 2, 2], [2, 4, 4, 4, 4, 4, 4, 4], 2, 1, 2, 1],
  ];
  for (const [leaderLog, followerLog, hintTerm, hintIndex, nextTerm, nextIndex] of cases) {
    const last = leaderLog[leaderLog.length - 1]!;
    const n1 = newRaft('1', V3, {
      state: {
        entries: ents(...leaderLog),
        hardState: { term: last - 1, vote: NONE, commit: leaderLog.length },
      },
    });
    n1.raft.becomeCandidate();
    n1.raft.becomeLeader();
    takeMsgs(n1);
    const n2 = newRaft('2', V3, {
      state: { entries: ents(...followerLog), hardState: { term: last, vote: '1', commit: 0 } },
    });
    n2.raft.step(message({ type: MsgType.Heartbeat, from: '1', to: '2', term: n1.raft.term }));
    let ms = takeMsgs(n2);
    t.equal(ms.length, 1);
    n1.raft.step(ms[0]!);
    ms = takeMsgs(n1);
    t.equal(ms.length, 1);
    t.equal(ms[0]!.type, MsgType.App);
    n2.raft.step(ms[0]!);
    ms = takeMsgs(n2);
    t.ok(ms[0]!.reject, 'follower rejects');
    t.equal(ms[0]!.logTerm, hintTerm, `leader ${leaderLog} follower ${followerLog}: hint term`);
    t.equal(ms[0]!.rejectHint, hintIndex, 'hint index');
    n1.raft.step(ms[0]!);
    ms = takeMsgs(n1);
    t.equal(ms[0]!.logTerm, nextTerm, 'next append term');
    t.equal(ms[0]!.index, nextIndex, 'next append index');
  }
});

t.test(
  'ReadIndex: reads on any node get the leader commit index after a quorum check',
  async (t) => {
    const net = new Network([undefined, undefined, undefined]);
    net.campaign('1');
    for (let i = 0; i < 10; i++) net.propose('1');
    const cases: [string, number, string][] = [
      ['1', 21, 'ctx1'],
      ['2', 31, 'ctx2'],
      ['3', 41, 'ctx3'],
      ['1', 51, 'ctx4'],
      ['2', 61, 'ctx5'],
      ['3', 71, 'ctx6'],
    ];
    for (const [id, wIndex, ctx] of cases) {
      for (let i = 0; i < 10; i++) net.propose('1');
      net.send(message({ type: MsgType.ReadIndex, from: id, to: id, context: ctx }));
      const rs = net.reads.get(id) ?? [];
      const got = rs.find((r) => r.context === ctx);
      t.ok(got, `read ${ctx} on ${id} served`);
      t.equal(got?.index, wIndex, `read ${ctx} index`);
    }
  },
);

t.test('ReadIndex: a new leader defers reads until an entry of its term commits', async (t) => {
  const mk = (id: string, commit: number) =>
    newRaft(id, V3, { state: { entries: ents(1, 1), hardState: { term: 1, vote: NONE, commit } } });
  const net = new Network([mk('1', 1), mk('2', 2), mk('3', 2)]);
  net.ignore(MsgType.App);
  net.campaign('1');
  const n1 = net.node('1');
  t.equal(n1.raft.role, Role.Leader);
  net.send(message({ type: MsgType.ReadIndex, from: '1', to: '1', context: 'ctx' }));
  t.same(net.reads.get('1') ?? [], [], 'no read state before a current-term commit');
  net.recover();
  n1.tick();
  net.propose('1', '');
  t.equal(n1.raft.log.committed, 4);
  t.same(net.reads.get('1'), [{ index: 4, context: 'ctx' }], 'the deferred read is served');
  net.send(message({ type: MsgType.ReadIndex, from: '1', to: '1', context: 'ctx2' }));
  t.same(net.reads.get('1')?.[1], { index: 4, context: 'ctx2' });
});

t.test('ReadIndex: a partitioned leader cannot serve reads', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.campaign('1');
  net.isolate('1');
  net.send(message({ type: MsgType.ReadIndex, from: '1', to: '1', context: 'stale' }));
  t.same(net.reads.get('1') ?? [], [], 'no quorum, no read state');
});

t.test(
  'restart: a node recovers term, vote, log and commit from its persisted state',
  async (t) => {
    const net = new Network([undefined, undefined, undefined]);
    net.campaign('1');
    net.propose('1', 'a');
    net.propose('1', 'b');
    const n2 = net.node('2');
    const saved = {
      hardState: n2.raft.hardState(),
      snapshot: n2.raft.log.snapshot,
      entries: [...n2.raft.log.allEntries()],
    };
    const restarted = newRaft('2', V3, { state: saved });
    t.equal(restarted.raft.term, n2.raft.term);
    t.equal(restarted.raft.vote, n2.raft.vote);
    t.equal(restarted.raft.log.committed, n2.raft.log.committed);
    t.same(dataOf(restarted), dataOf(n2));
    t.equal(restarted.raft.role, Role.Follower);
    // it replays committed entries to its state machine after restart
    const rd = restarted.ready();
    t.same(
      rd.committedEntries.map((e) => dec(e.data)),
      ['', 'a', 'b'],
    );
  },
);

t.test('maxSizePerMsg splits a long catch-up into several appends', async (t) => {
  const net = new Network([undefined, undefined, undefined], { maxSizePerMsg: 100 });
  net.campaign('1');
  net.isolate('3');
  for (let i = 0; i < 20; i++) net.propose('1', 'x'.repeat(40));
  net.recover();
  const before = net.delivered.length;
  net.tick('1');
  const apps = net.delivered.slice(before).filter((m) => m.type === MsgType.App && m.to === '3');
  t.ok(apps.length > 5, `catch-up took ${apps.length} appends`);
  t.ok(
    apps.every((m) => m.entries.length <= 2),
    'each append stays within the size limit',
  );
  t.equal(net.node('3').raft.log.lastIndex(), net.node('1').raft.log.lastIndex());
});
