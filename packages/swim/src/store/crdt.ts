// The CRDT values of the store and their merges (join-semilattices: merging is commutative,
// associative and idempotent, so replicas converge whatever the order of delivery).
//
// - register: a last-writer-wins register ordered by (hybrid timestamp, node name); a delete is
//   a register holding a tombstone.
// - set / map: observed-remove (add-wins) without per-element tombstones, riak_dt's ORSWOT
//   shape: every add carries a dot (node, timestamp); a per-key version vector remembers what
//   was seen, so a dot missing on one side was removed there if that side had seen it.
//   A map field keeps the value of each surviving write and shows the latest one, so the
//   value always comes from a write that survived (which keeps the merge associative).

export interface Stamp {
  ts: number;
  node: string;
}

export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** Dots or a version vector: node → timestamp. */
export type Clock = Map<string, number>;

export interface RegisterValue {
  kind: 'register';
  stamp: Stamp;
  deleted: boolean;
  value: unknown;
}
export interface SetValue {
  kind: 'set';
  vv: Clock;
  /** Element id (canonical encoding) → the element and the dots that added it. */
  elems: Map<string, { value: unknown; dots: Clock }>;
}
/** A map field's surviving concurrent writes: writer → (timestamp, value). */
export type FieldWrites = Map<string, { ts: number; value: unknown }>;
export interface MapValue {
  kind: 'map';
  vv: Clock;
  /** The visible value of a field is its write with the largest (timestamp, writer). */
  fields: Map<string, FieldWrites>;
}
export type CrdtValue = RegisterValue | SetValue | MapValue;
export type CrdtKind = CrdtValue['kind'];

/** Who a key's life is bound to (a last-writer-wins register itself). */
export interface Binding {
  owner: string | null;
  boot: number;
  stamp: Stamp;
}

export interface EntryState {
  key: string;
  binding: Binding | null;
  value: CrdtValue;
}

const KIND_RANK: Record<CrdtKind, number> = { register: 0, set: 1, map: 2 };

/** Whether the key currently holds something (not a tombstone). */
export function isPresent(v: CrdtValue): boolean {
  switch (v.kind) {
    case 'register':
      return !v.deleted;
    case 'set':
      return v.elems.size > 0;
    case 'map':
      return v.fields.size > 0;
  }
}

/** Merges `remote` into `local` (mutating it); true when `local` changed. */
export function mergeEntry(local: EntryState, remote: EntryState): boolean {
  let changed = false;
  if (
    remote.binding &&
    (!local.binding || compareStamps(remote.binding.stamp, local.binding.stamp) > 0)
  ) {
    local.binding = { ...remote.binding };
    changed = true;
  }
  const l = local.value;
  const r = remote.value;
  if (l.kind !== r.kind) {
    // Two kinds for one key can only come from concurrent creation: a fixed rank decides.
    if (KIND_RANK[r.kind] > KIND_RANK[l.kind]) {
      local.value = cloneValue(r);
      return true;
    }
    return changed;
  }
  if (l.kind === 'register') {
    const rr = r as RegisterValue;
    if (compareStamps(rr.stamp, l.stamp) > 0) {
      local.value = { ...rr, stamp: { ...rr.stamp } };
      return true;
    }
    return changed;
  }
  if (l.kind === 'set') {
    const rs = r as SetValue;
    changed = mergeElements(l.elems, rs.elems, l.vv, rs.vv, (e) => e.dots) || changed;
    return mergeClock(l.vv, rs.vv) || changed;
  }
  const rm = r as MapValue;
  changed = mergeElements(l.fields, rm.fields, l.vv, rm.vv, fieldDots) || changed;
  return mergeClock(l.vv, rm.vv) || changed;
}

/** The latest write of a field: the largest (timestamp, writer). */
export function latestWrite(
  f: FieldWrites,
): { node: string; ts: number; value: unknown } | undefined {
  let best: { node: string; ts: number; value: unknown } | undefined;
  for (const [node, w] of f) {
    if (!best || compareStamps({ ts: w.ts, node }, best) > 0)
      best = { node, ts: w.ts, value: w.value };
  }
  return best;
}

function fieldDots(f: FieldWrites): Clock {
  return new Map([...f].map(([node, w]) => [node, w.ts]));
}

/** Pointwise maximum into `into`; true if anything grew. */
function mergeClock(into: Clock, from: Clock): boolean {
  let changed = false;
  for (const [node, ts] of from) {
    if ((into.get(node) ?? -1) < ts) {
      into.set(node, ts);
      changed = true;
    }
  }
  return changed;
}

/**
 * ORSWOT merge of elements (set elements or map fields) given by their dots (writer →
 * timestamp): a dot survives if both sides have it, or if one side has it and the other side's
 * version vector has not seen it (so it was not removed there). An element without surviving
 * dots is gone. `dotsOf` reads an element's dots; set elements carry a Clock of dots, map
 * fields a map of writes whose keys and timestamps are the dots.
 */
function mergeElements<T extends FieldWrites | { value: unknown; dots: Clock }>(
  local: Map<string, T>,
  remote: Map<string, T>,
  localVV: Clock,
  remoteVV: Clock,
  dotsOf: (x: T) => Clock,
): boolean {
  let changed = false;
  const ids = new Set([...local.keys(), ...remote.keys()]);
  for (const id of ids) {
    const l = local.get(id);
    const r = remote.get(id);
    const ld = l ? dotsOf(l) : new Map<string, number>();
    const rd = r ? dotsOf(r) : new Map<string, number>();
    // Which side's dot survives, per writer.
    const keep = new Map<string, 'l' | 'r'>();
    for (const [node, ts] of ld) {
      if (rd.get(node) === ts || (remoteVV.get(node) ?? -1) < ts) keep.set(node, 'l');
    }
    for (const [node, ts] of rd) {
      if (keep.has(node)) continue;
      if (ld.get(node) === ts || (localVV.get(node) ?? -1) < ts) keep.set(node, 'r');
    }
    if (keep.size === 0) {
      if (l) {
        local.delete(id);
        changed = true;
      }
      continue;
    }
    const fromRemote = [...keep.values()].some((side) => side === 'r');
    const dropsLocal = [...ld.keys()].some((node) => keep.get(node) !== 'l');
    if (!fromRemote && !dropsLocal) continue;
    local.set(id, combine(l, r, keep) as T);
    changed = true;
  }
  return changed;
}

/** An element holding exactly the kept dots, each taken from the side that kept it. */
function combine<T extends FieldWrites | { value: unknown; dots: Clock }>(
  l: T | undefined,
  r: T | undefined,
  keep: Map<string, 'l' | 'r'>,
): T {
  const any = (l ?? r) as T;
  if (any instanceof Map) {
    const out = new Map<string, unknown>();
    for (const [node, side] of keep) {
      const src = (side === 'l' ? l : r) as Map<string, unknown>;
      const v = src.get(node);
      out.set(node, typeof v === 'object' && v !== null ? { ...v } : v);
    }
    return out as T;
  }
  const e = any as { value: unknown; dots: Clock };
  const dots: Clock = new Map();
  for (const [node, side] of keep) {
    const src = (side === 'l' ? l : r) as { dots: Clock };
    dots.set(node, src.dots.get(node) as number);
  }
  return { value: e.value, dots } as T;
}

export function cloneValue(v: CrdtValue): CrdtValue {
  switch (v.kind) {
    case 'register':
      return { ...v, stamp: { ...v.stamp } };
    case 'set':
      return {
        kind: 'set',
        vv: new Map(v.vv),
        elems: new Map(
          [...v.elems].map(([id, e]) => [id, { value: e.value, dots: new Map(e.dots) }]),
        ),
      };
    case 'map':
      return {
        kind: 'map',
        vv: new Map(v.vv),
        fields: new Map(
          [...v.fields].map(([f, w]) => [f, new Map([...w].map(([n, x]) => [n, { ...x }]))]),
        ),
      };
  }
}

export function cloneEntry(e: EntryState): EntryState {
  return {
    key: e.key,
    binding: e.binding ? { ...e.binding, stamp: { ...e.binding.stamp } } : null,
    value: cloneValue(e.value),
  };
}
