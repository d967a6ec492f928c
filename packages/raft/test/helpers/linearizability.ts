// A linearizability checker for key-value histories: Wing & Gong's search with Lowe's memoization
// (as in porcupine), run per key (P-compositionality: a history is linearizable iff each key's
// sub-history is). Written values are expected to be unique per key.

/** One client operation. `ret` is Infinity when the outcome is unknown (it may or may not apply). */
export interface KvOp {
  client: number;
  key: string;
  kind: 'put' | 'get';
  /** The value written (put) or read (get; null when absent). */
  value: string | null;
  call: number;
  ret: number;
}

export interface CheckResult {
  ok: boolean;
  /** The first key whose history is not linearizable, with that history, when !ok. */
  key?: string;
  history?: KvOp[];
}

interface Event {
  op: number;
  isCall: boolean;
  time: number;
  match: Event | undefined;
  prev: Event | undefined;
  next: Event | undefined;
}

/** Register model: state is the current value. */
function step(state: string | null, op: KvOp): [boolean, string | null] {
  if (op.kind === 'put') return [true, op.value];
  return [op.value === state, state];
}

/** Checks one key's operations against a register that starts as null. */
export function checkRegister(ops: KvOp[]): boolean {
  if (ops.length === 0) return true;
  const events: Event[] = [];
  ops.forEach((op, i) => {
    const c: Event = {
      op: i,
      isCall: true,
      time: op.call,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const r: Event = {
      op: i,
      isCall: false,
      time: op.ret,
      match: c,
      prev: undefined,
      next: undefined,
    };
    c.match = r;
    events.push(c, r);
  });
  // Calls sort before returns at equal times: treat touching operations as concurrent.
  events.sort(
    (a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1),
  );
  const head: Event = {
    op: -1,
    isCall: false,
    time: -1,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }

  const lift = (e: Event) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const r = e.match!;
    r.prev!.next = r.next;
    if (r.next) r.next.prev = r.prev;
  };
  const unlift = (e: Event) => {
    const r = e.match!;
    r.prev!.next = r;
    if (r.next) r.next.prev = r;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  let state: string | null = null;
  let linearized = 0n;
  const cache = new Set<string>();
  const stack: { e: Event; state: string | null }[] = [];
  let entry = head.next;
  let budget = 5_000_000;
  while (head.next) {
    if (!entry) return false;
    if (--budget === 0)
      throw new Error(`linearizability search gave up after 5M steps (${ops.length} operations)`);
    if (entry.isCall) {
      const [ok, next] = step(state, ops[entry.op]!);
      const bits = linearized | (1n << BigInt(entry.op));
      const key = `${bits.toString(36)}|${next ?? '\u0000'}`;
      if (ok && !cache.has(key)) {
        cache.add(key);
        stack.push({ e: entry, state });
        state = next;
        linearized = bits;
        lift(entry);
        entry = head.next;
      } else {
        entry = entry.next;
      }
    } else {
      // An operation returned before we could place it: undo the last choice.
      const top = stack.pop();
      if (!top) return false;
      state = top.state;
      linearized &= ~(1n << BigInt(top.e.op));
      unlift(top.e);
      entry = top.e.next;
    }
  }
  return true;
}

export function checkKv(history: KvOp[]): CheckResult {
  const byKey = new Map<string, KvOp[]>();
  for (const op of history) {
    let l = byKey.get(op.key);
    if (!l) {
      l = [];
      byKey.set(op.key, l);
    }
    l.push(op);
  }
  for (const [key, all] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // A write of unknown outcome whose (unique) value nobody read can always be placed after
    // everything else, so it cannot decide the verdict: leave it out to keep the search small.
    const read = new Set(all.filter((o) => o.kind === 'get').map((o) => o.value));
    const ops = all.filter((o) => o.kind === 'get' || o.ret !== Infinity || read.has(o.value));
    if (!checkRegister(ops)) return { ok: false, key, history: ops };
  }
  return { ok: true };
}
