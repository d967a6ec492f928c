export type { IpFamily } from '@vnet/ip';
// Address text as decoded objects carry it (re-exported from @vnet/ip).
export { formatIpBytes as formatIp, formatMac } from '@vnet/ip';
export type { Message, RawAttribute } from './codec/attributes.js';
export { parseMessages } from './codec/attributes.js';
export type { Failure } from './engine.js';
export {
  errnoName,
  NetlinkDecodeError,
  NetlinkError,
  type NetlinkErrorInit,
  NetlinkSpecError,
} from './errors.js';
export type {
  AddressEvent,
  ChangeEvent,
  ChangeKind,
  FdbEvent,
  LinkEvent,
  MonitorErrorEvent,
  MonitorEvent,
  NeighbourEvent,
  NexthopEvent,
  OverrunEvent,
  RouteEvent,
  RuleEvent,
} from './monitor/events.js';
export {
  MONITOR_GROUPS,
  Monitor,
  type MonitorGroup,
  type MonitorOptions,
} from './monitor/monitor.js';
export {
  type Addresses,
  type Fdb,
  type Links,
  type Neighbours,
  Netlink,
  type NetlinkOptions,
  type Nexthops,
  type OperationResult,
  type Routes,
  type Rules,
} from './netlink.js';
export { NETNS_RUN_DIR, type NetnsRef } from './netns.js';
export type { Address, AddressAction, AddressFilter, AddressSpec } from './objects/address.js';
export { decodeAddress } from './objects/address.js';
export type { LinkRef } from './objects/common.js';
export type {
  BridgeInfo,
  BridgeSpec,
  Ipv4Settings,
  Link,
  LinkAttributes,
  LinkChange,
  LinkFilter,
  LinkInfo,
  LinkSpec,
  OperState,
  VethPeerSpec,
  VxlanInfo,
  VxlanSpec,
} from './objects/link.js';
export { decodeLink } from './objects/link.js';
export type {
  FdbAction,
  FdbEntry,
  FdbFilter,
  FdbSpec,
  Neighbour,
  NeighbourAction,
  NeighbourFilter,
  NeighbourSpec,
  NeighbourStateName,
} from './objects/neighbour.js';
export { decodeFdb, decodeNeighbour, NUD_STATES } from './objects/neighbour.js';
export type {
  Nexthop,
  NexthopAction,
  NexthopFilter,
  NexthopGroupMember,
  NexthopSpec,
} from './objects/nexthop.js';
export { decodeNexthop } from './objects/nexthop.js';
export type {
  NextHop,
  Route,
  RouteAction,
  RouteFilter,
  RouteSpec,
  RouteTypeName,
} from './objects/route.js';
export { decodeRoute, ROUTE_TYPES } from './objects/route.js';
export type { Rule, RuleAction, RuleActionName, RuleSpec } from './objects/rule.js';
export { decodeRule, RULE_ACTIONS } from './objects/rule.js';
export { SCOPES, type ScopeName } from './objects/scope.js';
export type { Operation } from './operations.js';
