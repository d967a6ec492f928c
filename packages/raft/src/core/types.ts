/** Node identifier. Any non-empty string; `NONE` ('') means "nobody". */
export type NodeId = string;
export const NONE: NodeId = '';

export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Application command, or an encoded ConfChange; empty for the leader's no-op entry. */
  data: Uint8Array;
}

/** State that must be on stable storage before messages depending on it are sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

export const ConfChangeType = { AddVoter: 0, AddLearner: 1, Remove: 2 } as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/** One membership change; `context` travels with it (e.g. the new member's address). */
export interface ConfChange {
  type: ConfChangeType;
  id: NodeId;
  context?: string;
}

export const MsgType = {
  // Local messages: never leave the node.
  Hup: 0,
  Beat: 1,
  Prop: 2,
  Unreachable: 3,
  SnapStatus: 4,
  CheckQuorum: 5,
  // Wire messages.
  App: 10,
  AppResp: 11,
  Vote: 12,
  VoteResp: 13,
  PreVote: 14,
  PreVoteResp: 15,
  Snap: 16,
  Heartbeat: 17,
  HeartbeatResp: 18,
  TransferLeader: 19,
  TimeoutNow: 20,
  ReadIndex: 21,
  ReadIndexResp: 22,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

export const MSG_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(MsgType).map(([k, v]) => [v, k]),
);

export interface Message {
  type: MsgType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** Term of the entry at `index` (App), of the candidate's last entry (Vote), or a hint (AppResp). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: Snapshot;
  /** Read-index request id, or 'transfer' on a vote forced by leader transfer. */
  context: string;
}

export const Role = { Follower: 0, PreCandidate: 1, Candidate: 2, Leader: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const ROLE_NAMES = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A linearizable read point: state applied up to `index` may serve the request `context`. */
export interface ReadState {
  index: number;
  context: string;
}

export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: '',
    ...fields,
  };
}

export function isLocalMsg(t: MsgType): boolean {
  return t < MsgType.App;
}

export function isResponseMsg(t: MsgType): boolean {
  return (
    t === MsgType.AppResp ||
    t === MsgType.VoteResp ||
    t === MsgType.HeartbeatResp ||
    t === MsgType.Unreachable ||
    t === MsgType.PreVoteResp
  );
}

export function voteRespType(t: MsgType): MsgType {
  if (t === MsgType.Vote) return MsgType.VoteResp;
  if (t === MsgType.PreVote) return MsgType.PreVoteResp;
  throw new Error(`not a vote message: ${MSG_TYPE_NAMES[t]}`);
}

/** Bytes an entry is charged for in size limits (payload plus a fixed header estimate). */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}
