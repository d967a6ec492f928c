export { type AgentOptions, type RunningAgent, startAgent } from './agent/daemon.js';
export { MasterCallError, MasterClient, type MasterClientOptions } from './api/client.js';
export * from './config/capacity.js';
export * from './config/load.js';
export * from './config/types.js';
export * from './config/validate.js';
export { desiredState, mesosBridgeName, nexthopId, vtepMtu } from './dataplane/desired.js';
export { type DiffResult, diff, planDiff } from './dataplane/diff.js';
export { NFT_FAMILY, NFT_TABLE, renderNftables } from './dataplane/nftables.js';
export {
  type Conflict,
  type DesiredState,
  type DiffOptions,
  HOST_ROUTE_TABLE,
  type KernelState,
  type LocalNode,
  type LocalOverlay,
  MAIN_TABLE,
  NEXTHOP_BASE_V4,
  NEXTHOP_BASE_V6,
  type NetworkSettings,
  type RemoteNode,
  RULE_PRIORITY,
  type Sysctl,
  VNET_PROTOCOL,
  VXLAN_PORT,
} from './dataplane/types.js';
export * from './ipam/errors.js';
export * from './ipam/ipam.js';
export * from './ipam/state-json.js';
export { type MasterOptions, type RunningMaster, startMaster } from './master/daemon.js';
export * from './net/cidr.js';
