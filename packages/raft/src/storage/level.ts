import { crc32 } from 'node:zlib';
import type { ChainedBatch } from 'classic-level';
import { ClassicLevel } from 'classic-level';
import {
  CodecError,
  decodeEntry,
  decodeHardState,
  encodeEntry,
  encodeHardState,
  metaFromTuple,
  metaToTuple,
  pack,
  unpack,
} from '../core/codec.js';
import type { InitialState } from '../core/rawnode.js';
import { emptyState } from '../core/rawnode.js';
import type { Entry, HardState, NodeId, Snapshot } from '../core/types.js';
import { CorruptStoreError } from '../errors.js';
import type { StoreFilesReport } from './leveldb-files.js';
import { lockHolder, verifyStoreFiles } from './leveldb-files.js';
import type { RaftStorage, StorageUpdate } from './storage.js';

/*
 * Layout (one LevelDB per node):
 *   "m"             node metadata: [format version, node id]
 *   "h"             hard state
 *   "s"             snapshot metadata: [meta, data length, data crc32]
 *   "d"             snapshot data
 *   "e" + u64be(i)  log entry i
 * Every value is framed as u32be(crc32(payload)) + payload, so a damaged record is detected on
 * load and reported by name instead of being used or silently dropped.
 */
const FORMAT = 1;
const KEY_META = Buffer.from('m');
const KEY_HARD = Buffer.from('h');
const KEY_SNAP = Buffer.from('s');
const KEY_SNAP_DATA = Buffer.from('d');
const ENTRY_PREFIX = 0x65; // 'e'

type Batch = ChainedBatch<ClassicLevel<Buffer, Buffer>, Buffer, Buffer>;

function entryKey(index: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = ENTRY_PREFIX;
  k.writeBigUInt64BE(BigInt(index), 1);
  return k;
}

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(crc32(payload), 0);
  out.set(payload, 4);
  return out;
}

export interface LevelStorageOptions {
  /** The node this store belongs to; opening another node's store is refused. */
  nodeId: NodeId;
  /** Sync writes that the Ready asks to sync (default true). Off only for throwaway tests. */
  fsync?: boolean;
}

/** RaftStorage on LevelDB (classic-level): one atomic write batch per Ready. */
export class LevelStorage implements RaftStorage {
  private first = 0;
  private last = 0;

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly path: string,
    private readonly nodeId: NodeId,
    private readonly fsync: boolean,
    /** What the check of LevelDB's files found before opening (e.g. a torn tail it let go). */
    readonly verified: StoreFilesReport,
  ) {}

  /**
   * Opens the store. LevelDB's own files (write-ahead logs, MANIFEST, CURRENT, tables) are checked
   * first, since LevelDB's recovery passes over damage silently and then deletes the evidence:
   * damage rejects with CorruptStoreError and leaves the directory untouched.
   */
  static async open(path: string, opts: LevelStorageOptions): Promise<LevelStorage> {
    let verified: StoreFilesReport;
    try {
      verified = await verifyStoreFiles(path);
    } catch (e) {
      // Files being written by a running process can look damaged: say that it is in use.
      const pid = e instanceof CorruptStoreError ? await lockHolder(path) : undefined;
      if (pid !== undefined)
        throw new Error(
          `cannot open raft store at ${path}: it is in use (process ${pid} holds its LOCK)`,
        );
      throw e;
    }
    const db = new ClassicLevel<Buffer, Buffer>(path, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: Error }).cause;
      throw new Error(
        `cannot open raft store at ${path}: ${cause?.message ?? (e as Error).message}`,
      );
    }
    return new LevelStorage(db, path, opts.nodeId, opts.fsync ?? true, verified);
  }

  private corrupt(record: string, detail: string): never {
    throw new CorruptStoreError(this.path, record, detail);
  }

  private unframe(value: Buffer, record: string): Buffer {
    if (value.length < 4)
      this.corrupt(record, `record is ${value.length} bytes, too short for its checksum`);
    const payload = value.subarray(4);
    const want = value.readUInt32BE(0);
    const got = crc32(payload);
    if (want !== got) {
      this.corrupt(
        record,
        `checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`,
      );
    }
    return payload;
  }

  private decode<T>(record: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof CodecError) this.corrupt(record, e.message);
      throw e;
    }
  }

  async load(): Promise<InitialState | undefined> {
    const metaRaw = await this.db.get(KEY_META);
    if (metaRaw === undefined) {
      for await (const _ of this.db.keys({ limit: 1 }))
        this.corrupt('metadata', 'missing, but the store is not empty');
      await this.db.put(KEY_META, frame(pack([FORMAT, this.nodeId])), { sync: this.fsync });
      return undefined;
    }
    const meta = this.decode('metadata', () =>
      unpack(this.unframe(metaRaw, 'metadata'), 'metadata'),
    ) as unknown[];
    if (!Array.isArray(meta) || meta[0] !== FORMAT)
      this.corrupt('metadata', `unknown format ${JSON.stringify(meta)}`);
    if (meta[1] !== this.nodeId) {
      throw new Error(
        `raft store at ${this.path} belongs to node ${String(meta[1])}, not ${this.nodeId}`,
      );
    }

    const state = emptyState();
    const hardRaw = await this.db.get(KEY_HARD);
    if (hardRaw !== undefined) {
      state.hardState = this.decode('hard state', () =>
        decodeHardState(this.unframe(hardRaw, 'hard state')),
      );
    }
    const snapRaw = await this.db.get(KEY_SNAP);
    if (snapRaw !== undefined) {
      state.snapshot = this.loadSnapshot(snapRaw, await this.db.get(KEY_SNAP_DATA));
    }

    const entries: Entry[] = [];
    let prev: Entry | undefined;
    for await (const [key, value] of this.db.iterator({
      gte: entryKey(0),
      lte: entryKey(Number.MAX_SAFE_INTEGER),
    })) {
      const index = Number(key.readBigUInt64BE(1));
      const record = `entry ${index}`;
      const e = this.decode(record, () => decodeEntry(this.unframe(value, record), record));
      if (e.index !== index) this.corrupt(record, `holds entry ${e.index}`);
      if (prev && index !== prev.index + 1)
        this.corrupt(`entries ${prev.index + 1}..${index - 1}`, 'missing');
      if (prev && e.term < prev.term)
        this.corrupt(record, `term ${e.term} is lower than the term ${prev.term} before it`);
      entries.push(e);
      prev = e;
    }
    const snap = state.snapshot.meta;
    this.first = entries[0]?.index ?? 0;
    this.last = prev?.index ?? 0;
    if (entries.length > 0 && this.first > snap.index + 1) {
      this.corrupt(
        `entries ${snap.index + 1}..${this.first - 1}`,
        `missing between the snapshot at ${snap.index} and the log`,
      );
    }
    const atSnap = entries.find((e) => e.index === snap.index);
    if (atSnap && atSnap.term !== snap.term) {
      this.corrupt(
        `entry ${snap.index}`,
        `term ${atSnap.term} differs from the snapshot's term ${snap.term}`,
      );
    }
    const lastIndex = Math.max(this.last, snap.index);
    if (state.hardState.commit > lastIndex) {
      this.corrupt(
        'hard state',
        `commit ${state.hardState.commit} is beyond the last stored entry ${lastIndex}`,
      );
    }
    if (prev && prev.term > state.hardState.term) {
      this.corrupt(
        `entry ${prev.index}`,
        `term ${prev.term} is newer than the stored term ${state.hardState.term}`,
      );
    }
    state.entries = entries.filter((e) => e.index > snap.index);
    return state;
  }

  private loadSnapshot(raw: Buffer, dataRaw: Buffer | undefined): Snapshot {
    const t = this.decode('snapshot', () =>
      unpack(this.unframe(raw, 'snapshot'), 'snapshot'),
    ) as unknown[];
    if (!Array.isArray(t) || t.length !== 3) this.corrupt('snapshot', 'malformed metadata');
    const meta = this.decode('snapshot', () => metaFromTuple(t[0]));
    if (dataRaw === undefined) this.corrupt('snapshot data', 'missing');
    const data = this.unframe(dataRaw, 'snapshot data');
    if (data.length !== t[1])
      this.corrupt('snapshot data', `is ${data.length} bytes, metadata says ${String(t[1])}`);
    return { meta, data };
  }

  async save(u: StorageUpdate): Promise<void> {
    // A chained batch hands each key and value straight to LevelDB; the array form of batch()
    // costs several times more per operation in JavaScript.
    const batch = this.db.batch();
    let first = this.first;
    let last = this.last;
    if (u.snapshot) {
      this.putSnapshot(batch, u.snapshot);
      for (let i = first; i > 0 && i <= last; i++) batch.del(entryKey(i));
      first = 0;
      last = 0;
    }
    if (u.entries.length > 0) {
      const from = u.entries[0]!.index;
      const to = u.entries[u.entries.length - 1]!.index;
      for (let i = Math.max(to + 1, first); i <= last; i++) batch.del(entryKey(i));
      for (const e of u.entries) batch.put(entryKey(e.index), frame(encodeEntry(e)));
      if (first === 0 || from < first) first = from;
      last = to;
    }
    if (u.hardState) batch.put(KEY_HARD, frame(encodeHardState(u.hardState)));
    if (batch.length === 0) return batch.close();
    await batch.write({ sync: u.sync && this.fsync });
    this.first = first;
    this.last = last;
  }

  private putSnapshot(batch: Batch, s: Snapshot): void {
    batch.put(KEY_SNAP, frame(pack([metaToTuple(s.meta), s.data.length, crc32(s.data)])));
    batch.put(KEY_SNAP_DATA, frame(s.data));
  }

  async saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> {
    const batch = this.db.batch();
    this.putSnapshot(batch, snapshot);
    let first = this.first;
    for (; first > 0 && first <= compactTo && first <= this.last; first++)
      batch.del(entryKey(first));
    if (first > this.last) first = 0;
    await batch.write({ sync: this.fsync });
    this.first = first;
    if (first === 0) this.last = 0;
  }

  /** Stored entry range, for status and tests. */
  storedRange(): { first: number; last: number } {
    return { first: this.first, last: this.last };
  }

  /** The hard state on disk (for tests and tools). */
  async storedHardState(): Promise<HardState | undefined> {
    const raw = await this.db.get(KEY_HARD);
    return raw === undefined ? undefined : decodeHardState(this.unframe(raw, 'hard state'));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
