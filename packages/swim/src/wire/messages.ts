// The messages of the protocol and their msgpack encoding. Every message is a msgpack array
// `[type, ...fields]`; a datagram body is the array `[senderName, message, message, ...]`, built
// by concatenating pre-encoded messages behind an array header, so queued broadcasts are
// encoded once and piggybacked many times.
import { Packr, Unpackr } from 'msgpackr';
import { DropError } from './envelope.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
// 'auto' (numbers within 2^53, bigints beyond) is supported by msgpackr 2 but missing from its types.
const unpackr = new Unpackr({
  useRecords: false,
  int64AsType: 'auto' as 'bigint',
  copyBuffers: true,
});

/** msgpack-encodes a value (plain maps, no extensions beyond msgpackr's defaults). */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes one msgpack value; throws DropError('decode') on malformed input. */
export function unpack(data: Uint8Array): unknown {
  try {
    return unpackr.unpack(data);
  } catch (err) {
    throw new DropError('decode', `undecodable msgpack: ${(err as Error).message}`);
  }
}

export const MessageType = {
  ping: 1,
  indirectPing: 2,
  ack: 3,
  nack: 4,
  alive: 5,
  suspect: 6,
  dead: 7,
  entry: 8,
  // Stream (TCP) messages.
  syncRequest: 20,
  syncResponse: 21,
  syncData: 22,
  syncDone: 23,
  entryPush: 24,
} as const;

export const MemberStateCode = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type MemberStateName = keyof typeof MemberStateCode;
const STATE_NAMES: MemberStateName[] = ['alive', 'suspect', 'dead', 'left'];

export interface PingMessage {
  type: typeof MessageType.ping;
  seq: number;
  /** The name the prober means to reach: an address reused by another member does not ack. */
  target: string;
  /** The sender's store digest, so members that missed an update notice (optional). */
  digest?: number | undefined;
}
export interface IndirectPingMessage {
  type: typeof MessageType.indirectPing;
  seq: number;
  target: string;
  targetAddr: string;
  /** Lifeguard: the helper answers with a nack if the target stays silent. */
  nack: boolean;
}
export interface AckMessage {
  type: typeof MessageType.ack;
  seq: number;
  digest?: number | undefined;
}
export interface NackMessage {
  type: typeof MessageType.nack;
  seq: number;
}
/** Everything the group knows about one member's latest life. */
export interface MemberRecord {
  name: string;
  addr: string;
  incarnation: number;
  /** When this process started (epoch ms): a larger value is a newer life of the same name. */
  boot: number;
  metaVersion: number;
  meta: unknown;
}
export interface AliveMessage extends MemberRecord {
  type: typeof MessageType.alive;
}
/** Suspect and dead name one life (`boot`) of a member, so stale news of an old life is ignored. */
export interface SuspectMessage {
  type: typeof MessageType.suspect;
  name: string;
  boot: number;
  incarnation: number;
  from: string;
}
export interface DeadMessage {
  type: typeof MessageType.dead;
  name: string;
  boot: number;
  incarnation: number;
  /** The member that declared it; equal to `name` for a graceful leave. */
  from: string;
}
/** A replicated store entry; its inner layout is checked by the store's codec. */
export interface EntryMessage {
  type: typeof MessageType.entry;
  entry: unknown[];
}
export type PacketMessage =
  | PingMessage
  | IndirectPingMessage
  | AckMessage
  | NackMessage
  | AliveMessage
  | SuspectMessage
  | DeadMessage
  | EntryMessage;

/** A member as carried in a full-state exchange. */
export interface MemberSnapshot extends MemberRecord {
  state: MemberStateName;
}
export interface SyncRequest {
  type: typeof MessageType.syncRequest;
  from: string;
  join: boolean;
  members: MemberSnapshot[];
  digest: Uint8Array;
}
export interface SyncResponse {
  type: typeof MessageType.syncResponse;
  from: string;
  members: MemberSnapshot[];
  /** Store buckets whose digests differ, and the responder's key hashes in them. */
  buckets: number[];
  hashes: Array<[string, number]>;
}
export interface SyncData {
  type: typeof MessageType.syncData;
  entries: unknown[][];
  wants: string[];
}
export interface SyncDone {
  type: typeof MessageType.syncDone;
  entries: unknown[][];
}
export interface EntryPush {
  type: typeof MessageType.entryPush;
  from: string;
  entries: unknown[][];
}
export type StreamMessage = SyncRequest | SyncResponse | SyncData | SyncDone | EntryPush;

const MAX_NAME = 256;
const MAX_ADDR = 64;

function bad(what: string): never {
  throw new DropError('decode', `malformed ${what}`);
}
function str(v: unknown, what: string, max = MAX_NAME): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) bad(what);
  return v;
}
function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(what);
  return v;
}
function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) bad(what);
  return v;
}

export function encodeMessage(m: PacketMessage | StreamMessage): Uint8Array {
  return packr.pack(messageArray(m));
}

function memberArray(m: MemberSnapshot): unknown[] {
  return [m.name, m.addr, m.incarnation, MemberStateCode[m.state], m.boot, m.metaVersion, m.meta];
}

function messageArray(m: PacketMessage | StreamMessage): unknown[] {
  switch (m.type) {
    case MessageType.ping:
      return m.digest === undefined
        ? [m.type, m.seq, m.target]
        : [m.type, m.seq, m.target, m.digest];
    case MessageType.indirectPing:
      return [m.type, m.seq, m.target, m.targetAddr, m.nack];
    case MessageType.ack:
      return m.digest === undefined ? [m.type, m.seq] : [m.type, m.seq, m.digest];
    case MessageType.nack:
      return [m.type, m.seq];
    case MessageType.alive:
      return [m.type, m.name, m.addr, m.incarnation, m.boot, m.metaVersion, m.meta];
    case MessageType.suspect:
    case MessageType.dead:
      return [m.type, m.name, m.boot, m.incarnation, m.from];
    case MessageType.entry:
      return [m.type, m.entry];
    case MessageType.syncRequest:
      return [m.type, m.from, m.join, m.members.map(memberArray), m.digest];
    case MessageType.syncResponse:
      return [m.type, m.from, m.members.map(memberArray), m.buckets, m.hashes.flat()];
    case MessageType.syncData:
      return [m.type, m.entries, m.wants];
    case MessageType.syncDone:
      return [m.type, m.entries];
    case MessageType.entryPush:
      return [m.type, m.from, m.entries];
  }
}

function decodeMember(v: unknown): MemberSnapshot {
  const a = arr(v, 'member');
  const state = STATE_NAMES[uint(a[3], 'member state')];
  if (!state) bad('member state');
  return {
    name: str(a[0], 'member name'),
    addr: str(a[1], 'member address', MAX_ADDR),
    incarnation: uint(a[2], 'incarnation'),
    state,
    boot: uint(a[4], 'boot'),
    metaVersion: uint(a[5], 'meta version'),
    meta: a[6] ?? null,
  };
}

function entries(v: unknown): unknown[][] {
  return arr(v, 'entries').map((e) => arr(e, 'entry'));
}

/**
 * One decoded message, or null for a message type this version does not know (so a newer peer
 * may add types). Throws DropError('decode') for a malformed message.
 */
export function decodeMessage(v: unknown): PacketMessage | StreamMessage | null {
  const a = arr(v, 'message');
  const type = a[0];
  switch (type) {
    case MessageType.ping: {
      const m: PingMessage = {
        type,
        seq: uint(a[1], 'ping seq'),
        target: str(a[2], 'ping target'),
      };
      if (a[3] !== undefined) m.digest = uint(a[3], 'ping digest');
      return m;
    }
    case MessageType.indirectPing:
      return {
        type,
        seq: uint(a[1], 'indirect ping seq'),
        target: str(a[2], 'indirect ping target'),
        targetAddr: str(a[3], 'indirect ping address', MAX_ADDR),
        nack: a[4] === true,
      };
    case MessageType.ack: {
      const m: AckMessage = { type, seq: uint(a[1], 'ack seq') };
      if (a[2] !== undefined) m.digest = uint(a[2], 'ack digest');
      return m;
    }
    case MessageType.nack:
      return { type, seq: uint(a[1], 'nack seq') };
    case MessageType.alive:
      return {
        type,
        name: str(a[1], 'alive name'),
        addr: str(a[2], 'alive address', MAX_ADDR),
        incarnation: uint(a[3], 'alive incarnation'),
        boot: uint(a[4], 'alive boot'),
        metaVersion: uint(a[5], 'alive meta version'),
        meta: a[6] ?? null,
      };
    case MessageType.suspect:
    case MessageType.dead:
      return {
        type,
        name: str(a[1], 'suspect/dead name'),
        boot: uint(a[2], 'suspect/dead boot'),
        incarnation: uint(a[3], 'suspect/dead incarnation'),
        from: str(a[4], 'suspect/dead sender'),
      };
    case MessageType.entry:
      return { type, entry: arr(a[1], 'entry') };
    case MessageType.syncRequest: {
      const digest = a[4];
      if (!(digest instanceof Uint8Array)) bad('sync digest');
      return {
        type,
        from: str(a[1], 'sync sender'),
        join: a[2] === true,
        members: arr(a[3], 'sync members').map(decodeMember),
        digest,
      };
    }
    case MessageType.syncResponse: {
      const flat = arr(a[4], 'sync hashes');
      if (flat.length % 2 !== 0) bad('sync hashes');
      const hashes: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2) {
        hashes.push([str(flat[i], 'sync key', 1 << 16), uint(flat[i + 1], 'sync hash')]);
      }
      return {
        type,
        from: str(a[1], 'sync sender'),
        members: arr(a[2], 'sync members').map(decodeMember),
        buckets: arr(a[3], 'sync buckets').map((b) => uint(b, 'sync bucket')),
        hashes,
      };
    }
    case MessageType.syncData:
      return {
        type,
        entries: entries(a[1]),
        wants: arr(a[2], 'sync wants').map((k) => str(k, 'wanted key', 1 << 16)),
      };
    case MessageType.syncDone:
      return { type, entries: entries(a[1]) };
    case MessageType.entryPush:
      return { type, from: str(a[1], 'push sender'), entries: entries(a[2]) };
    default:
      if (typeof type !== 'number') bad('message type');
      return null;
  }
}

/** msgpack array header for `n` elements. */
function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Largest array header a datagram body can have (more than 15 messages). */
export const BODY_HEADER_MAX = 3;

/** `[sender, ...messages]` from the encoded sender name and pre-encoded messages. */
export function buildBody(sender: Uint8Array, messages: readonly Uint8Array[]): Uint8Array {
  const header = arrayHeader(messages.length + 1);
  let size = header.length + sender.length;
  for (const m of messages) size += m.length;
  const out = new Uint8Array(size);
  out.set(header, 0);
  let at = header.length;
  out.set(sender, at);
  at += sender.length;
  for (const m of messages) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}

export interface DecodedBody {
  sender: string;
  messages: PacketMessage[];
  /** Messages of types this version does not know, skipped. */
  unknown: number;
}

/** Parses a datagram body; throws DropError for anything malformed. */
export function parseBody(body: Uint8Array): DecodedBody {
  const a = arr(unpack(body), 'packet body');
  const sender = str(a[0], 'packet sender');
  const messages: PacketMessage[] = [];
  let unknown = 0;
  for (let i = 1; i < a.length; i++) {
    const m = decodeMessage(a[i]);
    if (m === null || m.type >= MessageType.syncRequest) unknown++;
    else messages.push(m as PacketMessage);
  }
  return { sender, messages, unknown };
}

/** Parses a stream frame body into one stream message. */
export function parseStreamMessage(body: Uint8Array): StreamMessage {
  const m = decodeMessage(unpack(body));
  if (m === null || m.type < MessageType.syncRequest) bad('stream message type');
  return m as StreamMessage;
}
