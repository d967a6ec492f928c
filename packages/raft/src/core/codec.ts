import { Packr } from 'msgpackr';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  Snapshot,
  SnapshotMeta,
} from './types.js';
import { ConfChangeType, EntryType, MSG_TYPE_NAMES, MsgType } from './types.js';

/**
 * msgpack encodings of the protocol's records, shared by the transports (wire) and the storage
 * (disk). Records are compact positional arrays; every decoder checks shape and types and throws a
 * CodecError naming the offending field, so a bad peer or a damaged record never reaches the core.
 */
export class CodecError extends Error {
  override name = 'CodecError';
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

export function unpack(buf: Uint8Array, what: string): unknown {
  try {
    return packr.unpack(buf);
  } catch (e) {
    throw new CodecError(`${what}: not valid msgpack (${(e as Error).message})`);
  }
}

function fail(what: string, detail: string): never {
  throw new CodecError(`${what}: ${detail}`);
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(what, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(what, `expected a string, got ${typeof v}`);
  return v;
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(what, `expected bytes, got ${typeof v}`);
  return v;
}

function arr(v: unknown, what: string, len?: number): unknown[] {
  if (!Array.isArray(v)) fail(what, `expected an array, got ${typeof v}`);
  if (len !== undefined && v.length !== len) fail(what, `expected ${len} fields, got ${v.length}`);
  return v;
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------- entries

type EntryTuple = [number, number, number, Uint8Array];

export function entryToTuple(e: Entry): EntryTuple {
  return [e.term, e.index, e.type, e.data];
}

export function entryFromTuple(v: unknown, what = 'entry'): Entry {
  const a = arr(v, what, 4);
  const type = num(a[2], `${what}.type`);
  if (type !== EntryType.Normal && type !== EntryType.ConfChange)
    fail(`${what}.type`, `unknown entry type ${type}`);
  return {
    term: num(a[0], `${what}.term`),
    index: num(a[1], `${what}.index`),
    type: type as EntryType,
    data: bytes(a[3] ?? EMPTY, `${what}.data`),
  };
}

export function encodeEntry(e: Entry): Buffer {
  return pack(entryToTuple(e));
}

export function decodeEntry(buf: Uint8Array, what = 'entry'): Entry {
  return entryFromTuple(unpack(buf, what), what);
}

// ---------------------------------------------------------------- hard state, snapshots

export function encodeHardState(h: HardState): Buffer {
  return pack([h.term, h.vote, h.commit]);
}

export function decodeHardState(buf: Uint8Array, what = 'hard state'): HardState {
  const a = arr(unpack(buf, what), what, 3);
  return {
    term: num(a[0], `${what}.term`),
    vote: str(a[1], `${what}.vote`),
    commit: num(a[2], `${what}.commit`),
  };
}

function confFromTuple(v: unknown, what: string): ConfState {
  const a = arr(v, what, 2);
  return {
    voters: arr(a[0], `${what}.voters`).map((x, i) => str(x, `${what}.voters[${i}]`)),
    learners: arr(a[1], `${what}.learners`).map((x, i) => str(x, `${what}.learners[${i}]`)),
  };
}

export function metaToTuple(m: SnapshotMeta): unknown[] {
  return [m.index, m.term, [m.conf.voters, m.conf.learners]];
}

export function metaFromTuple(v: unknown, what = 'snapshot meta'): SnapshotMeta {
  const a = arr(v, what, 3);
  return {
    index: num(a[0], `${what}.index`),
    term: num(a[1], `${what}.term`),
    conf: confFromTuple(a[2], `${what}.conf`),
  };
}

export function emptySnapshot(): Snapshot {
  return { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: EMPTY };
}

// ---------------------------------------------------------------- conf changes

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return pack([cc.type, cc.id, cc.context ?? '']);
}

export function decodeConfChange(buf: Uint8Array, what = 'conf change'): ConfChange {
  const a = arr(unpack(buf, what), what, 3);
  const type = num(a[0], `${what}.type`);
  if (
    type !== ConfChangeType.AddVoter &&
    type !== ConfChangeType.AddLearner &&
    type !== ConfChangeType.Remove
  ) {
    fail(`${what}.type`, `unknown conf change type ${type}`);
  }
  const id = str(a[1], `${what}.id`);
  if (!id) fail(`${what}.id`, 'empty node id');
  const context = str(a[2], `${what}.context`);
  return context
    ? { type: type as ConfChangeType, id, context }
    : { type: type as ConfChangeType, id };
}

// ---------------------------------------------------------------- messages

const WIRE_TYPES = new Set<number>(Object.values(MsgType).filter((t) => t >= MsgType.App));

/** A message as a positional array; the snapshot payload is sent separately by the transports. */
export function messageToTuple(m: Message, withSnapshotData = true): unknown[] {
  const t: unknown[] = [
    m.type,
    m.to,
    m.from,
    m.term,
    m.logTerm,
    m.index,
    m.commit,
    m.reject ? 1 : 0,
    m.rejectHint,
    m.context,
    m.entries.map(entryToTuple),
  ];
  if (m.snapshot)
    t.push([metaToTuple(m.snapshot.meta), withSnapshotData ? m.snapshot.data : EMPTY]);
  return t;
}

export function messageFromTuple(v: unknown, what = 'message'): Message {
  const a = arr(v, what);
  if (a.length !== 11 && a.length !== 12) fail(what, `expected 11 or 12 fields, got ${a.length}`);
  const type = num(a[0], `${what}.type`);
  if (!WIRE_TYPES.has(type))
    fail(`${what}.type`, `${MSG_TYPE_NAMES[type] ?? type} is not a wire message type`);
  const m: Message = {
    type: type as MsgType,
    to: str(a[1], `${what}.to`),
    from: str(a[2], `${what}.from`),
    term: num(a[3], `${what}.term`),
    logTerm: num(a[4], `${what}.logTerm`),
    index: num(a[5], `${what}.index`),
    commit: num(a[6], `${what}.commit`),
    reject: num(a[7], `${what}.reject`) === 1,
    rejectHint: num(a[8], `${what}.rejectHint`),
    context: str(a[9], `${what}.context`),
    entries: arr(a[10], `${what}.entries`).map((e, i) =>
      entryFromTuple(e, `${what}.entries[${i}]`),
    ),
  };
  if (a.length === 12) {
    const s = arr(a[11], `${what}.snapshot`, 2);
    m.snapshot = {
      meta: metaFromTuple(s[0], `${what}.snapshot.meta`),
      data: bytes(s[1], `${what}.snapshot.data`),
    };
  }
  return m;
}

export function encodeMessages(ms: Message[]): Buffer {
  return pack(ms.map((m) => messageToTuple(m)));
}

export function decodeMessages(buf: Uint8Array, what = 'message batch'): Message[] {
  return arr(unpack(buf, what), what).map((m, i) => messageFromTuple(m, `${what}[${i}]`));
}
