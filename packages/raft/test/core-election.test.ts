// Elections, split votes, PreVote and CheckQuorum under partitions (etcd-io/raft raft_test.go themes).
import t from 'tap';
import type { RawNode } from '../src/core/rawnode.js';
import { MsgType, message, NONE, Role } from '../src/core/types.js';
import type { TestRaftOptions } from './helpers/network.js';
import { ids, Network, newRaft, raftWithLog, takeMsgs } from './helpers/network.js';

const V3 = ids(3);

function withLog(id: string, n: number, terms: number[], opts: TestRaftOptions): RawNode {
  return raftWithLog(id, ids(n), terms, opts);
}

for (const preVote of [false, true]) {
  t.test(`leader election outcomes with ${preVote ? '' : 'no '}pre-vote`, async (t) => {
    const opts = { preVote };
    const cases: [() => Network, Role, number][] = [
      [() => new Network([undefined, undefined, undefined], opts), Role.Leader, 1],
      [() => new Network([undefined, undefined, null], opts), Role.Leader, 1],
      [() => new Network([undefined, null, null], opts), Role.Candidate, 1],
      [() => new Network([undefined, null, null, undefined], opts), Role.Candidate, 1],
      [() => new Network([undefined, null, null, undefined, undefined], opts), Role.Leader, 1],
      // Three logs further along than node 1's, in the same term: they reject it.
      [
        () =>
          new Network(
            [
              undefined,
              withLog('2', 5, [1], opts),
              withLog('3', 5, [1], opts),
              withLog('4', 5, [1, 1], opts),
              undefined,
            ],
            opts,
          ),
        Role.Follower,
        1,
      ],
    ];
    cases.forEach(([mk, role, term], i) => {
      const net = mk();
      net.campaign('1');
      const n = net.node('1');
      // With pre-vote, an election that cannot complete leaves a pre-candidate at the old term.
      const wantRole = preVote && role === Role.Candidate ? Role.PreCandidate : role;
      const wantTerm = preVote && role === Role.Candidate ? 0 : term;
      t.equal(n.raft.role, wantRole, `case ${i}: role`);
      t.equal(n.raft.term, wantTerm, `case ${i}: term`);
    });
  });

  t.test(`every node can win an election in turn (${preVote ? '' : 'no '}pre-vote)`, async (t) => {
    const net = new Network([undefined, undefined, undefined], { preVote });
    for (const id of V3) {
      net.campaign(id);
      for (const other of V3) {
        const r = net.node(other).raft;
        t.equal(
          r.role,
          other === id ? Role.Leader : Role.Follower,
          `${id} campaigns: ${other}'s role`,
        );
        t.equal(r.lead, id);
      }
    }
  });
}

t.test('an election overwrites uncommitted entries from a newer term', async (t) => {
  const voted = (id: string, vote: string, term: number) =>
    newRaft(id, ids(5), { state: { hardState: { term, vote, commit: 0 } } });
  const net = new Network([
    withLog('1', 5, [1], {}), // won the first election
    withLog('2', 5, [1], {}), // got node 1's entry
    withLog('3', 5, [2], {}), // won the second election
    voted('4', '3', 2), // voted for 3 but got no entries
    voted('5', '3', 2),
  ]);
  // A quorum knows of term 2: node 1 fails but moves to term 2, then wins term 3.
  net.campaign('1');
  t.equal(net.node('1').raft.role, Role.Follower);
  t.equal(net.node('1').raft.term, 2);
  net.campaign('1');
  t.equal(net.node('1').raft.role, Role.Leader);
  t.equal(net.node('1').raft.term, 3);
  for (const id of ids(5)) {
    t.same(
      net
        .node(id)
        .raft.log.allEntries()
        .map((e) => e.term),
      [1, 3],
      `node ${id} log`,
    );
  }
});

t.test('dueling candidates: the one with the shorter log cannot disrupt for good', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.cut('1', '3');
  net.campaign('1');
  net.campaign('3');
  t.equal(net.node('1').raft.role, Role.Leader, '1 wins with votes of 1 and 2');
  t.equal(net.node('3').raft.role, Role.Candidate, '3 gets only its own vote');
  net.recover();
  // 3 campaigns at a higher term: that deposes 1, but 1 and 2 refuse 3's shorter log.
  net.campaign('3');
  for (const [id, len] of [
    ['1', 1],
    ['2', 1],
    ['3', 0],
  ] as const) {
    const r = net.node(id).raft;
    t.equal(r.role, Role.Follower, `${id} is follower`);
    t.equal(r.term, 2, `${id} at term 2`);
    t.equal(r.log.lastIndex(), len, `${id} log length`);
  }
});

t.test(
  'dueling pre-candidates: pre-vote keeps a lagging node from disrupting the leader',
  async (t) => {
    const net = new Network([undefined, undefined, undefined], { preVote: true });
    net.cut('1', '3');
    net.campaign('1');
    net.campaign('3');
    t.equal(net.node('1').raft.role, Role.Leader);
    t.equal(net.node('3').raft.role, Role.Follower, 'pre-vote lost, no term change');
    net.recover();
    net.campaign('3');
    t.equal(net.node('1').raft.role, Role.Leader, 'leader undisturbed');
    for (const id of V3) t.equal(net.node(id).raft.term, 1, `${id} still at term 1`);
  },
);

t.test('a candidate concedes to the leader elected while it was isolated', async (t) => {
  const net = new Network([undefined, undefined, undefined]);
  net.isolate('1');
  net.campaign('1');
  net.campaign('3');
  net.recover();
  net.tick('3'); // heartbeat
  net.propose('3', 'force follower');
  net.tick('3');
  t.equal(net.node('1').raft.role, Role.Follower);
  t.equal(net.node('1').raft.term, 1);
  for (const id of V3) {
    t.same(
      net
        .node(id)
        .raft.log.allEntries()
        .map((e) => new TextDecoder().decode(e.data)),
      ['', 'force follower'],
    );
  }
});

t.test('a single node commits its proposals alone', async (t) => {
  const net = new Network([undefined]);
  net.campaign('1');
  net.propose('1', 'some data');
  net.propose('1', 'some data');
  t.equal(net.node('1').raft.log.committed, 3);
});

t.test('proposals commit only with a quorum alive', async (t) => {
  const cases: [(null | undefined)[], boolean][] = [
    [[undefined, undefined, undefined], true],
    [[undefined, undefined, null], true],
    [[undefined, null, null], false],
    [[undefined, null, null, undefined], false],
    [[undefined, null, null, undefined, undefined], true],
  ];
  for (const [peers, ok] of cases) {
    const net = new Network(peers);
    net.campaign('1');
    net.propose('1', 'somedata');
    const r = net.node('1').raft;
    t.equal(
      r.log.committed,
      ok ? 2 : 0,
      `${peers.length} peers, ${peers.filter((p) => p === null).length} dead`,
    );
    if (ok) {
      for (const [id, p] of net.peers) {
        if (p)
          t.same(
            p.raft.log.allEntries().map((e) => new TextDecoder().decode(e.data)),
            ['', 'somedata'],
            `${id}`,
          );
      }
    }
  }
});

t.test('every role steps down on a higher-term vote or append', async (t) => {
  for (const role of [Role.Follower, Role.PreCandidate, Role.Candidate, Role.Leader]) {
    for (const type of [MsgType.Vote, MsgType.App]) {
      const n = newRaft('1', V3);
      const r = n.raft;
      if (role === Role.Follower) r.becomeFollower(1, NONE);
      else if (role === Role.PreCandidate) r.becomePreCandidate();
      else if (role === Role.Candidate) r.becomeCandidate();
      else {
        r.becomeCandidate();
        r.becomeLeader();
      }
      r.step(message({ type, from: '2', to: '1', term: 3, logTerm: 3 }));
      t.equal(r.role, Role.Follower, `role ${role} type ${type}`);
      t.equal(r.term, 3);
      t.equal(r.lead, type === MsgType.Vote ? NONE : '2');
    }
  }
});

t.test('vote responses depend on role, log and earlier vote', async (t) => {
  const cases: [Role, number, number, string, boolean][] = [
    [Role.Follower, 0, 0, NONE, true],
    [Role.Follower, 0, 1, NONE, true],
    [Role.Follower, 0, 2, NONE, true],
    [Role.Follower, 0, 3, NONE, false],
    [Role.Follower, 1, 0, NONE, true],
    [Role.Follower, 1, 1, NONE, true],
    [Role.Follower, 1, 2, NONE, true],
    [Role.Follower, 1, 3, NONE, false],
    [Role.Follower, 2, 0, NONE, true],
    [Role.Follower, 2, 1, NONE, true],
    [Role.Follower, 2, 2, NONE, false],
    [Role.Follower, 2, 3, NONE, false],
    [Role.Follower, 3, 0, NONE, true],
    [Role.Follower, 3, 1, NONE, true],
    [Role.Follower, 3, 2, NONE, false],
    [Role.Follower, 3, 3, NONE, false],
    [Role.Follower, 3, 2, '2', false],
    [Role.Follower, 3, 2, '1', true],
    [Role.Leader, 3, 3, '1', true],
    [Role.PreCandidate, 3, 3, '1', true],
    [Role.Candidate, 3, 3, '1', true],
  ];
  for (const type of [MsgType.Vote, MsgType.PreVote]) {
    for (const [role, index, logTerm, voteFor, wReject] of cases) {
      const n = raftWithLog('1', ['1'], [2, 2]);
      const r = n.raft;
      r.role = role;
      r.vote = voteFor;
      const term = Math.max(2, logTerm);
      r.term = term;
      r.step(message({ type, from: '2', to: '1', term, index, logTerm }));
      const ms = takeMsgs(n);
      t.equal(ms.length, 1);
      t.equal(ms[0]!.type, type === MsgType.Vote ? MsgType.VoteResp : MsgType.PreVoteResp);
      t.equal(
        ms[0]!.reject,
        wReject,
        `type ${type} role ${role} (${index}, ${logTerm}) vote ${voteFor || 'none'}`,
      );
    }
  }
});

t.test('CheckQuorum: a leader that hears from a quorum stays leader', async (t) => {
  const n = newRaft('1', V3, { checkQuorum: true, electionTicks: 5 });
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  for (let i = 0; i < 6; i++) {
    n.raft.step(message({ type: MsgType.HeartbeatResp, from: '2', to: '1', term: n.raft.term }));
    n.tick();
  }
  t.equal(n.raft.role, Role.Leader);
});

t.test('CheckQuorum: a leader that loses its quorum steps down', async (t) => {
  const n = newRaft('1', V3, { checkQuorum: true, electionTicks: 5 });
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  for (let i = 0; i < 6; i++) n.tick();
  t.equal(n.raft.role, Role.Follower);
});

t.test('CheckQuorum: followers ignore a candidate while their leader lease holds', async (t) => {
  const net = new Network([undefined, undefined, undefined], { checkQuorum: true });
  const b = net.node('2');
  b.raft.setRandomizedElectionTimeout(11);
  for (let i = 0; i < 10; i++) b.tick();
  net.campaign('1');
  t.equal(net.node('1').raft.role, Role.Leader);
  t.equal(net.node('3').raft.role, Role.Follower);
  net.campaign('3');
  t.equal(net.node('3').raft.role, Role.Candidate, 'b ignored c: it heard from a leader recently');
  for (let i = 0; i < 10; i++) b.tick();
  net.campaign('3');
  t.equal(net.node('3').raft.role, Role.Leader, 'b votes once its lease expired');
});

t.test(
  'CheckQuorum: a stuck candidate is freed when the stale leader hears its term',
  async (t) => {
    const net = new Network([undefined, undefined, undefined], { checkQuorum: true });
    const [a, b, c] = V3.map((id) => net.node(id).raft);
    b!.setRandomizedElectionTimeout(11);
    for (let i = 0; i < 10; i++) net.node('2').tick();
    net.campaign('1');
    net.isolate('1');
    net.campaign('3');
    t.equal(b!.role, Role.Follower);
    t.equal(c!.role, Role.Candidate);
    t.equal(c!.term, b!.term + 1);
    net.campaign('3');
    t.equal(c!.term, b!.term + 2);
    net.recover();
    net.send(message({ type: MsgType.Heartbeat, from: '1', to: '3', term: a!.term }));
    t.equal(a!.role, Role.Follower, 'the heartbeat answer disrupts the old leader');
    t.equal(c!.term, a!.term);
    net.campaign('3');
    t.equal(c!.role, Role.Leader);
  },
);

for (const preVote of [false, true]) {
  t.test(
    `a follower whose timer fired while the heartbeat was late (${preVote ? 'pre-vote' : 'no pre-vote'})`,
    async (t) => {
      const net = new Network([undefined, undefined, undefined], { checkQuorum: true, preVote });
      const [n1, , n3] = V3.map((id) => net.node(id));
      net.campaign('1');
      if (preVote) {
        net.isolate('3');
        for (let i = 0; i < 3; i++) net.propose('1', 'somedata');
        net.recover();
      }
      n3!.raft.setRandomizedElectionTimeout(12);
      for (let i = 0; i < 12; i++) n3!.tick();
      t.equal(n3!.raft.role, preVote ? Role.PreCandidate : Role.Candidate);
      net.send(message({ type: MsgType.Heartbeat, from: '1', to: '3', term: n1!.raft.term }));
      if (preVote) {
        t.equal(n1!.raft.role, Role.Leader, 'pre-vote: the leader is not disturbed');
        t.equal(n3!.raft.role, Role.Follower);
      } else {
        t.equal(
          n1!.raft.role,
          Role.Follower,
          'no pre-vote: the leader steps down to the higher term',
        );
        t.equal(n1!.raft.term, 2);
      }
    },
  );
}

t.test('pre-vote with a split vote still elects a leader in a later round', async (t) => {
  const net = new Network([undefined, undefined, undefined], { preVote: true });
  net.campaign('1');
  // isolate 1 and have 2 and 3 campaign at the same time: each gets only its own vote
  net.isolate('1');
  const n2 = net.node('2');
  const n3 = net.node('3');
  net.cut('2', '3');
  net.campaign('2');
  net.campaign('3');
  t.equal(n2.raft.role, Role.PreCandidate);
  t.equal(n3.raft.role, Role.PreCandidate);
  net.recover();
  net.isolate('1');
  net.campaign('2');
  t.equal(n2.raft.role, Role.Leader);
  t.equal(n3.raft.role, Role.Follower);
});

t.test('pre-vote: a partitioned node does not bump the term of a healthy cluster', async (t) => {
  const net = new Network([undefined, undefined, undefined], { preVote: true, checkQuorum: true });
  net.campaign('1');
  net.isolate('3');
  const n3 = net.node('3');
  for (let i = 0; i < 100; i++) n3.tick();
  takeMsgs(n3);
  t.equal(n3.raft.term, 1, 'an isolated pre-candidate does not advance its term');
  net.recover();
  net.tick('1');
  t.equal(net.node('1').raft.role, Role.Leader);
  t.equal(net.node('1').raft.term, 1);
  t.equal(n3.raft.role, Role.Follower);
  t.equal(n3.raft.lead, '1');
});

t.test('a leader ignores a campaign request', async (t) => {
  const net = new Network([undefined]);
  net.campaign('1');
  const term = net.node('1').raft.term;
  net.campaign('1');
  t.equal(net.node('1').raft.role, Role.Leader);
  t.equal(net.node('1').raft.term, term);
});
