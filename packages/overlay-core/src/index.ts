// @vnet/overlay-core's public API: the config, the allocator, the node API's contract, the data
// plane's pure computation, and the master and agent daemons.
export {
  type AgentDeps,
  type AgentOptions,
  type RunningAgent,
  startAgent,
} from './agent/daemon.js';
export {
  type MasterApi,
  MasterCallError,
  MasterClient,
  type MasterClientOptions,
} from './api/client.js';
export {
  type Capacity,
  capacity,
  type FamilyCapacity,
  type OverlayCapacity,
} from './config/capacity.js';
export { loadConfigFile, parseConfigText } from './config/load.js';
export {
  ConfigError,
  type ConfigIssue,
  type ConfigPath,
  DEFAULT_OVERLAY_MTU,
  formatIssue,
  formatPath,
  isEnabled,
  isIsolated,
  type NetworkConfig,
  type OverlayConfig,
} from './config/types.js';
export {
  containersPerHalf,
  type ValidateOptions,
  type ValidationResult,
  validateNetworkConfig,
} from './config/validate.js';
export { desiredState, nexthopId, vtepMtu } from './dataplane/desired.js';
export { type DiffResult, diff, planDiff } from './dataplane/diff.js';
export { type Kernel, KernelAdapter } from './dataplane/kernel.js';
export { NFT_FAMILY, NFT_TABLE, renderNftables } from './dataplane/nftables.js';
export {
  type Conflict,
  type DesiredState,
  type DiffOptions,
  HOST_ROUTE_TABLE,
  type KernelState,
  type LocalNode,
  MAIN_TABLE,
  NEXTHOP_BASE_V4,
  NEXTHOP_BASE_V6,
  type NetworkSettings,
  RULE_PRIORITY,
  type Sysctl,
  VNET_PROTOCOL,
} from './dataplane/types.js';
export {
  AllocationError,
  type AllocationErrorCode,
  OverlayExhaustedError,
  VtepExhaustedError,
} from './ipam/errors.js';
export {
  type BlockCount,
  Ipam,
  type IpamSnapshot,
  type NodeOverlay,
  type NodeRecord,
  normalizeNodeIp,
  type PoolCounts,
} from './ipam/ipam.js';
export { type MasterOptions, type RunningMaster, startMaster } from './master/daemon.js';
export { type Cidr, type Family, formatCidr, parseCidr } from './net/cidr.js';
export { formatHostPort, type HostPort, parseHostPort } from './net/host-port.js';
export {
  type AddressUsage,
  dockerBridgeName,
  halves,
  mesosBridgeName,
  OVERLAY_STATUSES,
  type OverlayReport,
  type OverlayStatus,
  type OverlayStatusReport,
  VTEP_NAME,
  VXLAN_PORT,
  VXLAN_VNI,
} from './protocol/allocation.js';
export type {
  AgentHealth,
  AgentJson,
  ErrorDocument,
  MasterHealth,
  NodeView,
  OverlayDocument,
  OverlaysDocument,
  OverlayView,
  StateJson,
} from './protocol/documents.js';
export { ERRORS, type ErrorCode, MasterError, RETRY_ELSEWHERE } from './protocol/errors.js';
export type { Allocation, Allocation__Output } from './protocol/messages.js';
export {
  type NodeAllocation,
  type OverlayShare,
  parseAllocation,
  type Vtep,
} from './protocol/node-allocation.js';
export {
  parseRecord,
  recordJson,
  type VtepRecord,
  type VtepRecordJson,
} from './protocol/vtep-record.js';
