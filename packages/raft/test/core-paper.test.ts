// The Raft paper's claims, one test each (after etcd-io/raft's raft_paper_test.go).
import t from 'tap';
import type { RawNode } from '../src/core/rawnode.js';
import type { Entry, Message } from '../src/core/types.js';
import { MsgType, message, NONE, Role } from '../src/core/types.js';
import {
  commitNoop,
  drain,
  entry,
  ents,
  ids,
  Network,
  newRaft,
  raftWithLog,
  takeMsgs,
} from './helpers/network.js';

const V3 = ids(3);

function becomeRole(n: RawNode, role: Role): void {
  const r = n.raft;
  if (role === Role.Follower) r.becomeFollower(1, '2');
  else if (role === Role.PreCandidate) r.becomePreCandidate();
  else if (role === Role.Candidate) r.becomeCandidate();
  else {
    r.becomeCandidate();
    r.becomeLeader();
  }
}

function terms(n: RawNode): number[] {
  return n.raft.log.allEntries().map((e) => e.term);
}

function brief(ms: Message[]) {
  return ms.map((m) => ({
    type: m.type,
    to: m.to,
    term: m.term,
    index: m.index,
    logTerm: m.logTerm,
    commit: m.commit,
    reject: m.reject,
  }));
}

t.test(
  '§5.1: a node of any role takes a higher term from a message and becomes follower',
  async (t) => {
    for (const role of [Role.Follower, Role.Candidate, Role.Leader]) {
      const n = newRaft('1', V3);
      becomeRole(n, role);
      n.raft.step(message({ type: MsgType.App, from: '2', to: '1', term: 2 }));
      t.equal(n.raft.term, 2, `role ${role}: term`);
      t.equal(n.raft.role, Role.Follower, `role ${role}: becomes follower`);
      t.equal(n.raft.lead, '2', `role ${role}: learns the leader from the append`);
    }
  },
);

t.test('§5.1: a message with a stale term is ignored', async (t) => {
  const n = newRaft('1', V3);
  n.raft.becomeFollower(2, NONE);
  n.raft.step(message({ type: MsgType.App, from: '2', to: '1', term: 1, entries: [entry(1, 1)] }));
  t.equal(n.raft.log.lastIndex(), 0);
  t.equal(n.raft.term, 2);
  t.same(takeMsgs(n), []);
});

t.test('§5.2: nodes start as followers', async (t) => {
  const n = newRaft('1', V3);
  t.equal(n.raft.role, Role.Follower);
});

t.test('§5.2: the leader sends heartbeats every heartbeat interval', async (t) => {
  const n = newRaft('1', V3);
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  for (let i = 0; i < 10; i++) n.raft.appendEntries([entry(0, 0)]);
  takeMsgs(n);
  n.tick();
  t.same(
    takeMsgs(n).map((m) => [m.type, m.to, m.term, m.entries.length]),
    [
      [MsgType.Heartbeat, '2', 1, 0],
      [MsgType.Heartbeat, '3', 1, 0],
    ],
  );
});

t.test('§5.2: a follower or candidate starts an election after the election timeout', async (t) => {
  for (const role of [Role.Follower, Role.Candidate]) {
    const n = newRaft('1', V3);
    if (role === Role.Follower) n.raft.becomeFollower(1, '2');
    else n.raft.becomeCandidate();
    for (let i = 1; i < 2 * 10; i++) n.tick();
    t.equal(n.raft.term, 2, 'term advanced');
    t.equal(n.raft.role, Role.Candidate);
    t.equal(n.raft.vote, '1', 'voted for itself');
    t.same(
      takeMsgs(n).map((m) => [m.type, m.to, m.term, m.index, m.logTerm]),
      [
        [MsgType.Vote, '2', 2, 0, 0],
        [MsgType.Vote, '3', 2, 0, 0],
      ],
    );
  }
});

t.test('§5.2: election outcome in one round of votes', async (t) => {
  const cases: [number, Record<string, boolean>, Role][] = [
    [1, {}, Role.Leader],
    [3, { 2: true, 3: true }, Role.Leader],
    [3, { 2: true }, Role.Leader],
    [5, { 2: true, 3: true, 4: true, 5: true }, Role.Leader],
    [5, { 2: true, 3: true, 4: true }, Role.Leader],
    [5, { 2: true, 3: true }, Role.Leader],
    [3, { 2: false, 3: false }, Role.Follower],
    [5, { 2: false, 3: false, 4: false, 5: false }, Role.Follower],
    [5, { 2: true, 3: false, 4: false, 5: false }, Role.Follower],
    [3, {}, Role.Candidate],
    [5, { 2: true }, Role.Candidate],
    [5, { 2: false, 3: false }, Role.Candidate],
    [5, {}, Role.Candidate],
  ];
  for (const [size, votes, want] of cases) {
    const n = newRaft('1', ids(size));
    n.campaign();
    for (const [id, granted] of Object.entries(votes)) {
      n.raft.step(
        message({ type: MsgType.VoteResp, from: id, to: '1', term: n.raft.term, reject: !granted }),
      );
    }
    t.equal(n.raft.role, want, `size ${size} votes ${JSON.stringify(votes)}`);
    t.equal(n.raft.term, 1);
  }
});

t.test(
  '§5.2: a follower votes for at most one candidate per term, first come first served',
  async (t) => {
    const cases: [string, string, boolean][] = [
      [NONE, '2', false],
      [NONE, '3', false],
      ['2', '2', false],
      ['3', '3', false],
      ['2', '3', true],
      ['3', '2', true],
    ];
    for (const [vote, candidate, wantReject] of cases) {
      const n = newRaft('1', V3, { state: { hardState: { term: 1, vote, commit: 0 } } });
      n.raft.step(message({ type: MsgType.Vote, from: candidate, to: '1', term: 1 }));
      t.same(
        takeMsgs(n).map((m) => [m.type, m.to, m.term, m.reject]),
        [[MsgType.VoteResp, candidate, 1, wantReject]],
        `vote=${vote || 'none'} candidate=${candidate}`,
      );
    }
  },
);

t.test(
  '§5.2: a candidate that hears from a leader of its term or later falls back to follower',
  async (t) => {
    for (const term of [1, 2]) {
      const n = newRaft('1', V3);
      n.campaign();
      t.equal(n.raft.role, Role.Candidate);
      n.raft.step(message({ type: MsgType.App, from: '2', to: '1', term }));
      t.equal(n.raft.role, Role.Follower);
      t.equal(n.raft.term, term);
    }
  },
);

t.test('§5.2: election timeouts are randomized in [et, 2et) and cover the range', async (t) => {
  const n = newRaft('1', V3);
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) {
    n.raft.becomeFollower(n.raft.term + 1, NONE);
    const to = n.raft.randomizedTimeout();
    t.ok(to >= 10 && to < 20, `timeout ${to} in range`);
    seen.add(to);
  }
  t.equal(seen.size, 10, 'every value in [10, 20) occurs');
});

t.test('§5.3: the leader appends a proposal and replicates it', async (t) => {
  const n = newRaft('1', V3);
  n.raft.becomeCandidate();
  n.raft.becomeLeader();
  commitNoop(n);
  const li = n.raft.log.lastIndex();
  n.propose([new TextEncoder().encode('some data')]);
  t.equal(n.raft.log.lastIndex(), li + 1);
  t.equal(n.raft.log.committed, li);
  const msgs = takeMsgs(n);
  t.same(brief(msgs), [
    { type: MsgType.App, to: '2', term: 1, index: li, logTerm: 1, commit: li, reject: false },
    { type: MsgType.App, to: '3', term: 1, index: li, logTerm: 1, commit: li, reject: false },
  ]);
  t.same(
    msgs[0]!.entries.map((e) => [e.index, e.term, new TextDecoder().decode(e.data)]),
    [[li + 1, 1, 'some data']],
  );
  t.same(
    n.raft.log.unstableEntries().map((e) => e.index),
    [li + 1],
  );
});

t.test(
  '§5.3: the leader commits an entry once a majority has it, and tells followers',
  async (t) => {
    const n = newRaft('1', V3);
    n.raft.becomeCandidate();
    n.raft.becomeLeader();
    commitNoop(n);
    const li = n.raft.log.lastIndex();
    n.propose([new TextEncoder().encode('some data')]);
    const apps = drain(n);
    for (const m of apps) {
      n.raft.step(
        message({
          type: MsgType.AppResp,
          from: m.to,
          to: '1',
          term: 1,
          index: m.index + m.entries.length,
        }),
      );
    }
    t.equal(n.raft.log.committed, li + 1);
    const rd = n.ready();
    t.same(
      rd.committedEntries.map((e) => new TextDecoder().decode(e.data)),
      ['some data'],
    );
    t.same(
      rd.messages.filter((m) => m.type === MsgType.App).map((m) => m.commit),
      [li + 1, li + 1],
    );
  },
);

t.test('§5.3: commit needs acknowledgements from a majority', async (t) => {
  const cases: [number, string[], boolean][] = [
    [1, [], true],
    [3, [], false],
    [3, ['2'], true],
    [3, ['2', '3'], true],
    [5, [], false],
    [5, ['2'], false],
    [5, ['2', '3'], true],
    [5, ['2', '3', '4'], true],
    [5, ['2', '3', '4', '5'], true],
  ];
  for (const [size, acceptors, want] of cases) {
    const n = newRaft('1', ids(size));
    n.raft.becomeCandidate();
    n.raft.becomeLeader();
    drain(n);
    const li = n.raft.log.lastIndex();
    n.propose([new TextEncoder().encode('x')]);
    for (const m of takeMsgs(n)) {
      if (acceptors.includes(m.to)) {
        n.raft.step(
          message({
            type: MsgType.AppResp,
            from: m.to,
            to: '1',
            term: 1,
            index: m.index + m.entries.length,
          }),
        );
      }
    }
    t.equal(n.raft.log.committed > li, want, `size ${size} acceptors ${acceptors}`);
  }
});

t.test(
  '§5.3: committing an entry commits all preceding entries, even of older terms',
  async (t) => {
    const cases: Entry[][] = [[], [entry(1, 2)], [entry(1, 2), entry(2, 2)], [entry(1, 1)]];
    for (const prev of cases) {
      const n = newRaft('1', V3, {
        state: { entries: prev, hardState: { term: 2, vote: NONE, commit: 0 } },
      });
      n.raft.becomeCandidate();
      n.raft.becomeLeader();
      n.propose([new TextEncoder().encode('some data')]);
      for (const m of drain(n)) {
        n.raft.step(
          message({
            type: MsgType.AppResp,
            from: m.to,
            to: '1',
            term: 3,
            index: m.index + m.entries.length,
          }),
        );
      }
      const li = prev.length;
      const rd = n.ready();
      t.same(
        rd.committedEntries.map((e) => [e.index, e.term]),
        [...prev.map((e) => [e.index, e.term]), [li + 1, 3], [li + 2, 3]],
      );
    }
  },
);

t.test('§5.3: a follower commits what the leader says is committed', async (t) => {
  const cases: [Entry[], number][] = [
    [[entry(1, 1, 'some data')], 1],
    [[entry(1, 1, 'some data'), entry(2, 1, 'some data2')], 2],
    [[entry(1, 1, 'some data2'), entry(2, 1, 'some data')], 2],
    [[entry(1, 1, 'some data'), entry(2, 1, 'some data2')], 1],
  ];
  for (const [es, commit] of cases) {
    const n = newRaft('1', V3);
    n.raft.becomeFollower(1, '2');
    n.raft.step(message({ type: MsgType.App, from: '2', to: '1', term: 1, entries: es, commit }));
    t.equal(n.raft.log.committed, commit);
    const applied: number[] = [];
    while (n.hasReady()) {
      const rd = n.ready();
      applied.push(...rd.committedEntries.map((e) => e.index));
      n.advance(rd);
    }
    t.same(
      applied,
      es.slice(0, commit).map((e) => e.index),
      'applied once persisted',
    );
  }
});

t.test(
  '§5.3: a follower rejects an append whose previous entry it does not have, with a hint',
  async (t) => {
    // log: (1,1) (2,2); committed 1
    const cases: [number, number, number, boolean, number, number][] = [
      // logTerm, index, wantIndex, reject, rejectHint, hintTerm
      [0, 0, 1, false, 0, 0],
      [1, 1, 1, false, 0, 0],
      [2, 2, 2, false, 0, 0],
      [1, 2, 2, true, 1, 1],
      [3, 3, 3, true, 2, 2],
    ];
    for (const [logTerm, index, wIndex, wReject, wHint, wHintTerm] of cases) {
      const n = newRaft('1', V3, {
        state: {
          entries: [entry(1, 1), entry(2, 2)],
          hardState: { term: 0, vote: NONE, commit: 1 },
        },
      });
      n.raft.becomeFollower(2, '2');
      n.raft.step(message({ type: MsgType.App, from: '2', to: '1', term: 2, logTerm, index }));
      const [m] = takeMsgs(n);
      t.same(
        [m!.type, m!.index, m!.reject, m!.rejectHint, m!.logTerm],
        [MsgType.AppResp, wIndex, wReject, wHint, wHintTerm],
        `append at (${index}, ${logTerm})`,
      );
    }
  },
);

t.test('§5.3: a follower deletes conflicting entries and appends new ones', async (t) => {
  const cases: [number, number, Entry[], number[], number[]][] = [
    [2, 2, [entry(3, 3)], [1, 2, 3], [3]],
    [1, 1, [entry(2, 3), entry(3, 4)], [1, 3, 4], [3, 4]],
    [0, 0, [entry(1, 1)], [1, 2], []],
    [0, 0, [entry(1, 3)], [3], [3]],
  ];
  for (const [index, logTerm, es, wTerms, wUnstable] of cases) {
    const n = newRaft('1', V3, { state: { entries: [entry(1, 1), entry(2, 2)] } });
    n.raft.becomeFollower(2, NONE);
    n.raft.step(
      message({ type: MsgType.App, from: '2', to: '1', term: 2, logTerm, index, entries: es }),
    );
    t.same(terms(n), wTerms);
    t.same(
      n.raft.log.unstableEntries().map((e) => e.term),
      wUnstable,
    );
  }
});

t.test(
  '§5.3 Figure 7: the leader brings every kind of divergent follower in line with its log',
  async (t) => {
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers = [
      [1, 1, 1, 4, 4, 5, 5, 6, 6],
      [1, 1, 1, 4],
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      [1, 1, 1, 4, 4, 4, 4],
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    ];
    const term = 8;
    for (const ft of followers) {
      const lead = newRaft('1', V3, {
        state: {
          entries: ents(...leaderTerms),
          hardState: { term, vote: NONE, commit: leaderTerms.length },
        },
      });
      const follower = newRaft('2', V3, {
        state: { entries: ents(...ft), hardState: { term: term - 1, vote: NONE, commit: 0 } },
      });
      const net = new Network([lead, follower, null]);
      net.campaign('1');
      net.send(message({ type: MsgType.VoteResp, from: '3', to: '1', term: term + 1 }));
      t.equal(lead.raft.role, Role.Leader, `leader elected against follower ${ft}`);
      net.propose('1');
      t.same(terms(follower), terms(lead), `follower ${ft} matches the leader`);
      t.equal(follower.raft.log.committed, lead.raft.log.committed);
    }
  },
);

t.test('§5.4.1: a voter grants only candidates whose log is at least as up to date', async (t) => {
  const cases: [number[], number, number, boolean][] = [
    [[1], 1, 1, false],
    [[1], 1, 2, false],
    [[1, 1], 1, 1, true],
    [[1], 2, 1, false],
    [[1], 2, 2, false],
    [[1, 1], 2, 1, false],
    [[2], 1, 1, true],
    [[2], 1, 2, true],
    [[2, 1], 1, 1, true],
  ];
  for (const [logTerms, logTerm, index, wReject] of cases) {
    const n = raftWithLog('1', ['1', '2'], logTerms);
    n.raft.step(message({ type: MsgType.Vote, from: '2', to: '1', term: 3, logTerm, index }));
    const [m] = takeMsgs(n);
    t.equal(m!.type, MsgType.VoteResp);
    t.equal(m!.reject, wReject, `log ${logTerms} vs candidate (${index}, ${logTerm})`);
  }
});

t.test(
  '§5.4.2: the leader commits only entries of its current term by counting replicas',
  async (t) => {
    const cases: [number, number][] = [
      [1, 0],
      [2, 0],
      [3, 3],
    ];
    for (const [index, wCommit] of cases) {
      const n = newRaft('1', ['1', '2'], {
        state: {
          entries: [entry(1, 1), entry(2, 2)],
          hardState: { term: 2, vote: NONE, commit: 0 },
        },
      });
      n.raft.becomeCandidate();
      n.raft.becomeLeader();
      takeMsgs(n);
      n.propose([new Uint8Array(0)]);
      n.raft.step(message({ type: MsgType.AppResp, from: '2', to: '1', term: n.raft.term, index }));
      t.equal(n.raft.log.committed, wCommit, `ack of index ${index}`);
    }
  },
);
