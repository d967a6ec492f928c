// The pure pieces of the membership protocol: memberlist's formulas, Lifeguard's suspicion
// timer and local health, and the transmit-limited broadcast queue.
import t from 'tap';
import { LAN, LOCAL, resolveSettings, SwimConfigError } from '../src/config.js';
import { Awareness } from '../src/membership/awareness.js';
import { BroadcastQueue } from '../src/membership/broadcast-queue.js';
import {
  pushPullScale,
  retransmitLimit,
  suspicionConfirmations,
  suspicionTimeout,
} from '../src/membership/math.js';
import { Suspicion } from '../src/membership/suspicion.js';

t.test('formulas give memberlist LAN/local values', async (t) => {
  // n, LAN retransmits, LAN min/max suspicion (s), local retransmits, local min/max, LAN push-pull
  const table: [number, number, number, number, number, number, number, number][] = [
    [5, 4, 4, 24, 2, 3, 18, 30],
    [10, 8, 4, 24, 4, 3, 18, 30],
    [100, 12, 8, 48, 6, 6, 36, 90],
    [1000, 16, 12, 72, 8, 9, 54, 180],
  ];
  for (const [n, lr, lmin, lmax, cr, cmin, cmax, pp] of table) {
    t.equal(retransmitLimit(LAN.retransmitMult, n), lr, `LAN retransmits n=${n}`);
    t.equal(retransmitLimit(LOCAL.retransmitMult, n), cr, `local retransmits n=${n}`);
    const lanMin = suspicionTimeout(LAN.suspicionMult, n, LAN.probeInterval);
    t.equal(lanMin, lmin * 1000, `LAN min suspicion n=${n}`);
    t.equal(lanMin * LAN.suspicionMaxTimeoutMult, lmax * 1000, `LAN max suspicion n=${n}`);
    const localMin = suspicionTimeout(LOCAL.suspicionMult, n, LOCAL.probeInterval);
    t.equal(localMin, cmin * 1000, `local min suspicion n=${n}`);
    t.equal(localMin * LOCAL.suspicionMaxTimeoutMult, cmax * 1000);
    t.equal(pushPullScale(LAN.pushPullInterval, n), pp * 1000, `LAN push-pull n=${n}`);
  }
  t.equal(LAN.suspicionConfirmations, LAN.suspicionMult - 2, "memberlist's k = suspicionMult - 2");
  t.equal(LOCAL.suspicionConfirmations, LOCAL.suspicionMult - 2);
  t.equal(suspicionConfirmations(2, 10), 2);
  t.equal(suspicionConfirmations(2, 3), 0, 'k is 0 when n - 2 < k');
  t.equal(suspicionConfirmations(1, 3), 1);
});

t.test('settings: profiles, overrides and clear errors', async (t) => {
  t.equal(resolveSettings().probeTimeout, 500);
  t.equal(resolveSettings('local').probeTimeout, 200);
  t.equal(resolveSettings('wan', { gossipNodes: 5 }).gossipNodes, 5);
  t.throws(
    () => resolveSettings('lan', { probeTimeout: 2000 }),
    /probeTimeout: must not exceed probeInterval/,
  );
  t.throws(() => resolveSettings('lan', { probeInterval: -1 }), SwimConfigError);
  t.throws(() => resolveSettings('lan', { gossipNodes: 1.5 }), /gossipNodes: must be an integer/);
  t.throws(() => resolveSettings('lan', { packetSize: 100 }), /packetSize/);
  t.throws(() => resolveSettings('lan', { nope: 1 } as never), /nope: unknown setting/);
  t.throws(
    () => resolveSettings('lan', { probeOnSuspicion: 'yes' } as never),
    /expected a boolean/,
  );
  t.throws(() => resolveSettings('fast' as never), /unknown profile/);
});

t.test('suspicion timeout falls from max to min with independent confirmations', async (t) => {
  const s = new Suspicion(1000, 3, 2000, 30_000, 'a');
  t.equal(s.deadline, 31_000, 'no confirmation: max');
  t.notOk(s.confirm('a'), 'the accuser does not confirm its own suspicion');
  t.ok(s.confirm('b'));
  t.notOk(s.confirm('b'), 'one confirmation per member');
  const one = s.timeout();
  t.ok(one < 30_000 && one > 2000);
  t.equal(one, Math.floor(30_000 - (Math.log(2) / Math.log(4)) * 28_000));
  t.ok(s.confirm('c'));
  t.ok(s.confirm('d'));
  t.equal(s.timeout(), 2000, 'k confirmations: min');
  t.notOk(s.confirm('e'), 'no more than k are counted');
  t.equal(new Suspicion(0, 0, 5000, 30_000, 'a').deadline, 5000, 'k = 0: min at once');
});

t.test('awareness stays within [0, max - 1] and scales timeouts', async (t) => {
  const a = new Awareness(8);
  t.equal(a.scale(500), 500);
  a.apply(3);
  t.equal(a.scale(500), 2000);
  a.apply(100);
  t.equal(a.score, 7);
  a.apply(-100);
  t.equal(a.score, 0);
});

t.test(
  'broadcast queue: least-sent first, replaced by key, limited transmits, size budget',
  async (t) => {
    let limit = 3;
    const q = new BroadcastQueue(() => limit);
    const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);
    let done = 0;
    q.queue('a', bytes(10, 1), () => done++);
    q.queue('b', bytes(10, 2));
    t.same(
      q.take(25).map((b) => b[0]),
      [1, 2],
    );
    q.queue('c', bytes(10, 3));
    t.same(
      q.take(10).map((b) => b[0]),
      [3],
      'the never-sent one goes first',
    );
    q.queue('a', bytes(10, 4));
    t.equal(done, 1, 'replacing a broadcast completes the old one');
    t.equal(q.size, 3);
    t.same(
      q
        .take(100)
        .map((b) => b[0])
        .sort(),
      [2, 3, 4],
    );
    q.take(100);
    t.same(
      q.take(100).map((b) => b[0]),
      [4],
      'b and c reached the limit of 3',
    );
    t.equal(q.size, 0);
    limit = 1;
    q.queue('big', bytes(200, 9));
    q.queue('small', bytes(5, 8));
    t.same(
      q.take(50).map((b) => b[0]),
      [8],
      'what does not fit stays queued',
    );
    t.equal(q.size, 1);
    t.same(q.take(50, 2), [], 'overhead counts');
    q.clear();
    t.equal(q.size, 0);
  },
);
