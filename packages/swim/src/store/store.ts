// A fully replicated key-value store of CRDT values (lashup-style). Pure: it applies local
// writes and remote entries, keeps the anti-entropy digest, tombstones and owner bindings, and
// tells its host what to spread. The host (`Swim`) moves entries by gossip and full syncs.

import { pack } from '../wire/messages.js';
import { elementId, entryFromWire, entryToWire, hashBytes, normalizeValue } from './codec.js';
import {
  type Binding,
  type CrdtKind,
  type CrdtValue,
  cloneEntry,
  type EntryState,
  isPresent,
  latestWrite,
  type MapValue,
  mergeEntry,
  type RegisterValue,
  type SetValue,
} from './crdt.js';
import { bucketOf, Digest } from './digest.js';
import { HybridClock } from './hlc.js';

/** One key as readers see it. Values are shared with the store: treat them as read-only. */
export interface StoreEntry {
  key: string;
  kind: CrdtKind;
  /** register: the value; set: the elements; map: an object of the fields. */
  value: unknown;
  /** The member whose liveness the key is bound to, or null. */
  owner: string | null;
}

export type StoreEvent =
  | { type: 'snapshot'; entries: StoreEntry[] }
  | { type: 'put'; entry: StoreEntry }
  | {
      type: 'delete';
      key: string;
      previous: StoreEntry;
      /**
       * True when the key vanished because the member it was bound to died, left or restarted
       * (nobody deleted it; a restarted owner may write it again soon).
       */
      ownerGone: boolean;
    };

export type StoreListener = (event: StoreEvent) => void;

export interface Subscription {
  close(): void;
}

export interface WriteOptions {
  /**
   * Bind the key to this member's liveness (true) or unbind it (false): a bound key vanishes on
   * every member once this member is declared dead or leaves. Omitted: keep the key's binding.
   */
  bound?: boolean;
}

export interface OwnerLife {
  state: 'alive' | 'suspect' | 'dead' | 'left';
  boot: number;
}

export interface StoreHost {
  readonly self: string;
  readonly boot: number;
  now(): number;
  wallClock(): number;
  /** What the membership knows of a member's current life. */
  ownerLife(name: string): OwnerLife | undefined;
  /** An entry changed here (locally or by a merge) and should be spread. */
  spread(key: string, wire: unknown[], encodedSize: number): void;
  /** A subscriber threw. */
  listenerError(err: unknown): void;
}

export interface StoreSettings {
  tombstoneGrace: number;
  tombstoneMaxAge: number;
  maxValueSize: number;
}

export interface StoreStats {
  keys: number;
  tombstones: number;
  remoteApplied: number;
  remoteUnchanged: number;
  /** Remote entries refused because they are bound to a dead member or an old life. */
  remoteRefused: number;
  tombstonesCollected: number;
  ownerDrops: number;
}

/** A local write the store refuses (wrong kind, bound to another member, too large). */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

interface Slot {
  state: EntryState;
  wire: unknown[];
  hash: number;
  present: boolean;
}

interface Sub {
  prefix: string;
  listener: StoreListener;
}

const MAX_KEY_LENGTH = 1024;
const KIND_RANK: Record<CrdtKind, number> = { register: 0, set: 1, map: 2 };

function viewValue(v: CrdtValue): unknown {
  switch (v.kind) {
    case 'register':
      return v.value;
    case 'set':
      return [...v.elems.entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([, e]) => e.value);
    case 'map':
      return Object.fromEntries(
        [...v.fields.entries()]
          .sort((a, b) => (a[0] < b[0] ? -1 : 1))
          .map(([f, writes]) => [f, latestWrite(writes)?.value]),
      );
  }
}

function viewOf(s: EntryState): StoreEntry {
  return {
    key: s.key,
    kind: s.value.kind,
    value: viewValue(s.value),
    owner: s.binding?.owner ?? null,
  };
}

function sameBinding(b: Binding | null, owner: string | null, boot: number): boolean {
  if (!b) return owner === null;
  return b.owner === owner && (owner === null || b.boot === boot);
}

export class Store {
  readonly #host: StoreHost;
  readonly #settings: StoreSettings;
  readonly #hlc: HybridClock;
  readonly #slots = new Map<string, Slot>();
  readonly #buckets = new Map<number, Set<string>>();
  readonly #digest = new Digest();
  /** Keys holding a tombstone → `now()` when they became one here. */
  readonly #tombstones = new Map<string, number>();
  readonly #byOwner = new Map<string, Set<string>>();
  /** Peer name → `now()` at the start of the last complete full sync with it. */
  readonly #synced = new Map<string, number>();
  readonly #subs = new Set<Sub>();
  readonly #stats = {
    remoteApplied: 0,
    remoteUnchanged: 0,
    remoteRefused: 0,
    tombstonesCollected: 0,
    ownerDrops: 0,
  };

  constructor(host: StoreHost, settings: StoreSettings) {
    this.#host = host;
    this.#settings = settings;
    this.#hlc = new HybridClock(() => host.wallClock());
  }

  get stats(): StoreStats {
    return {
      keys: this.#slots.size - this.#tombstones.size,
      tombstones: this.#tombstones.size,
      ...this.#stats,
    };
  }

  // ---- reads -------------------------------------------------------------------------------

  get(key: string): unknown {
    const s = this.#slots.get(key);
    return s?.present ? viewValue(s.state.value) : undefined;
  }

  has(key: string): boolean {
    return this.#slots.get(key)?.present === true;
  }

  entry(key: string): StoreEntry | undefined {
    const s = this.#slots.get(key);
    return s?.present ? viewOf(s.state) : undefined;
  }

  /** Present entries whose key starts with `prefix`, sorted by key. */
  entries(prefix = ''): StoreEntry[] {
    const out: StoreEntry[] = [];
    for (const [key, s] of this.#slots) {
      if (s.present && key.startsWith(prefix)) out.push(viewOf(s.state));
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // ---- local writes ----------------------------------------------------------------------

  /** Sets a last-writer-wins register. */
  put(key: string, value: unknown, opts: WriteOptions = {}): void {
    const v = normalizeValue(value);
    this.#write(key, 'register', opts, (state, ts) => {
      state.value = {
        kind: 'register',
        stamp: { ts, node: this.#host.self },
        deleted: false,
        value: v,
      };
    });
  }

  /** Deletes a key of any kind (a register tombstone, or every observed element or field). */
  delete(key: string): void {
    const s = this.#slots.get(key);
    if (!s?.present) return;
    this.#write(key, s.state.value.kind, {}, (state, ts) => {
      const v = state.value;
      if (v.kind === 'register') {
        state.value = {
          kind: 'register',
          stamp: { ts, node: this.#host.self },
          deleted: true,
          value: null,
        };
      } else if (v.kind === 'set') v.elems.clear();
      else v.fields.clear();
    });
  }

  /** Adds elements to an observed-remove set (an add concurrent with a remove wins). */
  add(key: string, values: readonly unknown[], opts: WriteOptions = {}): void {
    const norm = values.map(normalizeValue);
    this.#write(key, 'set', opts, (state, ts) => {
      const v = state.value as SetValue;
      v.vv.set(this.#host.self, ts);
      for (const value of norm)
        v.elems.set(elementId(value), { value, dots: new Map([[this.#host.self, ts]]) });
    });
  }

  /** Removes the elements this member has observed. */
  remove(key: string, values: readonly unknown[]): void {
    const s = this.#slots.get(key);
    if (s?.state.value.kind !== 'set') return;
    const ids = values.map((v) => elementId(normalizeValue(v)));
    if (!ids.some((id) => (s.state.value as SetValue).elems.has(id))) return;
    this.#write(key, 'set', {}, (state) => {
      for (const id of ids) (state.value as SetValue).elems.delete(id);
    });
  }

  /** Sets one field of an observed-remove map (fields are last-writer-wins registers). */
  setField(key: string, field: string, value: unknown, opts: WriteOptions = {}): void {
    if (typeof field !== 'string' || field.length === 0)
      throw new StoreError('a map field name must be a non-empty string');
    const v = normalizeValue(value);
    this.#write(key, 'map', opts, (state, ts) => {
      const m = state.value as MapValue;
      m.vv.set(this.#host.self, ts);
      m.fields.set(field, new Map([[this.#host.self, { ts, value: v }]]));
    });
  }

  /** Removes one field of a map. */
  deleteField(key: string, field: string): void {
    const s = this.#slots.get(key);
    if (s?.state.value.kind !== 'map' || !s.state.value.fields.has(field)) return;
    this.#write(key, 'map', {}, (state) => {
      (state.value as MapValue).fields.delete(field);
    });
  }

  #write(
    key: string,
    kind: CrdtKind,
    opts: WriteOptions,
    mutate: (s: EntryState, ts: number) => void,
  ): void {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new StoreError(`a store key must be a string of 1..${MAX_KEY_LENGTH} characters`);
    }
    const self = this.#host.self;
    const slot = this.#slots.get(key);
    const owner = slot?.state.binding?.owner;
    if (owner && owner !== self) {
      throw new StoreError(`key "${key}" is bound to member ${owner}; only it can write the key`);
    }
    if (slot && slot.state.value.kind !== kind) {
      const was = slot.state.value.kind;
      if (slot.present || KIND_RANK[was] > KIND_RANK[kind]) {
        throw new StoreError(`key "${key}" holds a ${was}, not a ${kind}`);
      }
    }
    const state: EntryState =
      slot && slot.state.value.kind === kind
        ? cloneEntry(slot.state)
        : {
            key,
            binding: slot ? slot.state.binding : null,
            value: emptyValue(kind),
          };
    const ts = this.#hlc.tick();
    mutate(state, ts);
    if (opts.bound !== undefined) {
      const wantOwner = opts.bound ? self : null;
      if (!sameBinding(state.binding, wantOwner, this.#host.boot)) {
        state.binding = {
          owner: wantOwner,
          boot: this.#host.boot,
          stamp: { ts: this.#hlc.tick(), node: self },
        };
      }
    }
    const wire = entryToWire(state);
    const bytes = pack(wire);
    if (bytes.length > this.#settings.maxValueSize) {
      throw new StoreError(
        `key "${key}" would take ${bytes.length} bytes, more than maxValueSize ${this.#settings.maxValueSize}`,
      );
    }
    this.#commit(state, true, wire, bytes);
  }

  // ---- subscriptions -------------------------------------------------------------------------

  /**
   * Calls `listener` with a snapshot of the keys under `prefix` now, then with every change to
   * them, until closed.
   */
  subscribe(prefix: string, listener: StoreListener): Subscription {
    const sub: Sub = { prefix, listener };
    this.#deliver(sub, { type: 'snapshot', entries: this.entries(prefix) });
    this.#subs.add(sub);
    return { close: () => this.#subs.delete(sub) };
  }

  /** The same as `subscribe`, as an async iterator (`for await (const ev of store.changes(p))`). */
  changes(prefix: string): AsyncIterableIterator<StoreEvent> {
    const queue: StoreEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const sub = this.subscribe(prefix, (ev) => {
      queue.push(ev);
      wake?.();
    });
    const iterator: AsyncIterableIterator<StoreEvent> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        while (queue.length === 0 && !closed) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
        const value = queue.shift();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        closed = true;
        sub.close();
        wake?.();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  #deliver(sub: Sub, ev: StoreEvent): void {
    try {
      sub.listener(ev);
    } catch (err) {
      this.#host.listenerError(err);
    }
  }

  #emit(
    key: string,
    before: StoreEntry | undefined,
    after: StoreEntry | undefined,
    ownerGone = false,
  ): void {
    if (!before && !after) return;
    for (const sub of this.#subs) {
      if (!key.startsWith(sub.prefix)) continue;
      if (after) this.#deliver(sub, { type: 'put', entry: after });
      else if (before) this.#deliver(sub, { type: 'delete', key, previous: before, ownerGone });
    }
  }

  // ---- replication -----------------------------------------------------------------------

  /**
   * Merges an entry from another member; true if it changed anything here. With `spread` false
   * the change is not passed on (entries learned in bulk by a full sync).
   */
  applyRemote(wire: readonly unknown[], spread = true): boolean {
    const remote = entryFromWire(wire);
    if (!this.#accepts(remote)) {
      this.#stats.remoteRefused++;
      return false;
    }
    this.#observeClocks(remote);
    const slot = this.#slots.get(remote.key);
    let state: EntryState;
    if (slot) {
      state = cloneEntry(slot.state);
      if (!mergeEntry(state, remote)) {
        this.#stats.remoteUnchanged++;
        return false;
      }
    } else {
      state = remote;
    }
    this.#stats.remoteApplied++;
    this.#commit(state, spread);
    return true;
  }

  /**
   * Applies entries received in a full sync without spreading them. Returns the ones that changed
   * something here, and the keys where this store still holds more than the sender sent (a
   * tombstone or later writes), which the sender should get back.
   */
  mergeSync(entries: readonly unknown[][]): { changed: unknown[][]; ahead: string[] } {
    const changed: unknown[][] = [];
    const ahead: string[] = [];
    for (const wire of entries) {
      if (this.applyRemote(wire, false)) changed.push(wire);
      const key = wire[0] as string;
      const slot = this.#slots.get(key);
      if (slot && slot.hash !== hashBytes(pack(wire))) ahead.push(key);
    }
    return { changed, ahead };
  }

  /** Entries bound to a dead member, or to an older life of a member, are refused. */
  #accepts(e: EntryState): boolean {
    const owner = e.binding?.owner;
    if (!owner || !e.binding) return true;
    const boot = e.binding.boot;
    if (owner === this.#host.self) return boot >= this.#host.boot;
    const life = this.#host.ownerLife(owner);
    if (!life) return true;
    if (boot < life.boot) return false;
    return !((life.state === 'dead' || life.state === 'left') && boot === life.boot);
  }

  #observeClocks(e: EntryState): void {
    const v = e.value;
    if (e.binding) this.#hlc.observe(e.binding.stamp.ts);
    if (v.kind === 'register') this.#hlc.observe(v.stamp.ts);
    else for (const ts of v.vv.values()) this.#hlc.observe(ts);
  }

  /** Stores a new state for its key, and passes it on when `spread`. */
  #commit(state: EntryState, spread: boolean, wire = entryToWire(state), bytes = pack(wire)): void {
    const key = state.key;
    const old = this.#slots.get(key);
    const before = old?.present ? viewOf(old.state) : undefined;
    const present = isPresent(state.value);
    const hash = hashBytes(bytes);
    if (old?.present) this.#digest.toggle(key, old.hash);
    if (present) {
      this.#digest.toggle(key, hash);
      this.#tombstones.delete(key);
    } else if (!old || old.present) {
      this.#tombstones.set(key, this.#host.now());
    }
    this.#indexOwner(key, old?.state.binding?.owner ?? null, state.binding?.owner ?? null);
    if (!old) {
      const b = bucketOf(key);
      let set = this.#buckets.get(b);
      if (!set) {
        set = new Set();
        this.#buckets.set(b, set);
      }
      set.add(key);
    }
    this.#slots.set(key, { state, wire, hash, present });
    if (spread) this.#host.spread(key, wire, bytes.length);
    this.#emit(key, before, present ? viewOf(state) : undefined);
  }

  #indexOwner(key: string, was: string | null, now: string | null): void {
    if (was === now) return;
    if (was) {
      const set = this.#byOwner.get(was);
      set?.delete(key);
      if (set?.size === 0) this.#byOwner.delete(was);
    }
    if (now) {
      let set = this.#byOwner.get(now);
      if (!set) {
        set = new Set();
        this.#byOwner.set(now, set);
      }
      set.add(key);
    }
  }

  /** Forgets a key here without a tombstone (owner gone, or tombstone collected). */
  #drop(key: string): void {
    const slot = this.#slots.get(key);
    if (!slot) return;
    if (slot.present) this.#digest.toggle(key, slot.hash);
    this.#tombstones.delete(key);
    this.#indexOwner(key, slot.state.binding?.owner ?? null, null);
    this.#buckets.get(bucketOf(key))?.delete(key);
    this.#slots.delete(key);
    // Only dropOwner drops a present key (collected tombstones are not present).
    if (slot.present) this.#emit(key, viewOf(slot.state), undefined, true);
  }

  /** A 48-bit summary of everything present here: equal stores have equal roots. */
  rootDigest(): number {
    return this.#digest.root();
  }

  /** The anti-entropy digest of what is present here. */
  digest(): Uint8Array {
    return this.#digest.encode();
  }

  differingBuckets(remoteDigest: Uint8Array): number[] {
    return this.#digest.differing(remoteDigest);
  }

  /** Hashes of the present keys in `buckets`. */
  hashesIn(buckets: readonly number[]): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const b of buckets) {
      for (const key of this.#buckets.get(b) ?? []) {
        const s = this.#slots.get(key) as Slot;
        if (s.present) out.push([key, s.hash]);
      }
    }
    return out;
  }

  /**
   * Given the buckets that differ and the peer's key hashes in them: the entries the peer lacks
   * or holds differently, and the keys we want from it. A tombstone is sent wherever the peer
   * still holds that key.
   */
  reconcile(
    buckets: readonly number[],
    remoteHashes: ReadonlyArray<[string, number]>,
  ): { send: unknown[][]; wants: string[] } {
    const remote = new Map(remoteHashes);
    const send: unknown[][] = [];
    const wants: string[] = [];
    for (const b of buckets) {
      for (const key of this.#buckets.get(b) ?? []) {
        const s = this.#slots.get(key) as Slot;
        const rh = remote.get(key);
        if (s.present) {
          if (rh !== s.hash) send.push(s.wire);
          if (rh !== undefined && rh !== s.hash) wants.push(key);
        } else if (rh !== undefined) {
          send.push(s.wire);
          wants.push(key);
        }
      }
    }
    for (const key of remote.keys()) if (!this.#slots.has(key)) wants.push(key);
    return { send, wants };
  }

  /** Wire forms of `keys` that exist here (tombstones included). */
  wireOf(keys: readonly string[]): unknown[][] {
    const out: unknown[][] = [];
    for (const key of keys) {
      const s = this.#slots.get(key);
      if (s) out.push(s.wire);
    }
    return out;
  }

  /** Records that a full sync with `peer` that started at `since` completed. */
  markSynced(peer: string, since: number): void {
    if ((this.#synced.get(peer) ?? -1) < since) this.#synced.set(peer, since);
  }

  forgetPeer(peer: string): void {
    this.#synced.delete(peer);
  }

  /**
   * Drops tombstones that are safe to forget: older than the grace period and created before the
   * last full sync with every live peer (so every live member holds them or something newer),
   * or older than the maximum age whatever happened.
   */
  collectGarbage(livePeers: readonly string[]): number {
    const now = this.#host.now();
    let minSynced = Number.POSITIVE_INFINITY;
    for (const p of livePeers)
      minSynced = Math.min(minSynced, this.#synced.get(p) ?? Number.NEGATIVE_INFINITY);
    let n = 0;
    for (const [key, since] of this.#tombstones) {
      const age = now - since;
      if (
        (age >= this.#settings.tombstoneGrace && since < minSynced) ||
        age >= this.#settings.tombstoneMaxAge
      ) {
        this.#drop(key);
        n++;
      }
    }
    this.#stats.tombstonesCollected += n;
    return n;
  }

  /** Drops every key bound to `owner` in lives up to `boot` (it died, left or restarted). */
  dropOwner(owner: string, boot: number): number {
    const keys = this.#byOwner.get(owner);
    if (!keys) return 0;
    let n = 0;
    for (const key of [...keys]) {
      const b = this.#slots.get(key)?.state.binding;
      if (b && b.owner === owner && b.boot <= boot) {
        this.#drop(key);
        n++;
      }
    }
    this.#stats.ownerDrops += n;
    return n;
  }

  /** Wire forms of the keys bound to this member (to spread again after a refuted death). */
  ownBound(): unknown[][] {
    return this.wireOf([...(this.#byOwner.get(this.#host.self) ?? [])]);
  }
}

function emptyValue(kind: CrdtKind): CrdtValue {
  switch (kind) {
    case 'register':
      return {
        kind: 'register',
        stamp: { ts: 0, node: '' },
        deleted: true,
        value: null,
      } satisfies RegisterValue;
    case 'set':
      return { kind: 'set', vv: new Map(), elems: new Map() };
    case 'map':
      return { kind: 'map', vv: new Map(), fields: new Map() };
  }
}
