// @vnet/swim: SWIM group membership with Lifeguard, and a replicated CRDT key-value store.
export { AddressError, joinHostPort, splitHostPort } from './address.js';
export {
  LAN,
  LOCAL,
  PROFILES,
  type ProfileName,
  type ProtocolSettings,
  RESPONSIVE,
  resolveSettings,
  SwimConfigError,
  WAN,
} from './config.js';
export {
  pushPullScale,
  retransmitLimit,
  suspicionConfirmations,
  suspicionTimeout,
} from './membership/math.js';
export type {
  Member,
  MemberEvent,
  MemberEventType,
  MemberState,
  MembershipStats,
} from './membership/membership.js';
export { type Random, seededRandom } from './random.js';
export { createSwim, type NetOptions, NetRuntime } from './runtime/net.js';
export type {
  Runtime,
  RuntimeHandlers,
  StreamConn,
  StreamHandler,
  Timer,
} from './runtime/types.js';
export {
  type OwnerLife,
  Store,
  type StoreEntry,
  StoreError,
  type StoreEvent,
  type StoreListener,
  type StoreStats,
  type Subscription,
  type WriteOptions,
} from './store/store.js';
export { JoinError, Swim, type SwimEvents, type SwimOptions, type SwimStats } from './swim.js';
export { type DropReason, PROTOCOL_VERSION } from './wire/envelope.js';
export { Keyring, KeyringError } from './wire/keyring.js';
