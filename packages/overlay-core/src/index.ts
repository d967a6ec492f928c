// @vnet/overlay-core's public API: the master and agent daemons to embed, a client of the
// masters, the operator's config, the CNI chain executor (libcni's runtime half), and the
// contract of the node and HTTP APIs.
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
  addNetworkList,
  CniConfigError,
  CniExecError,
  DEFAULT_CNI_PATH,
  delNetworkList,
  type ExecOptions as CniExecOptions,
  loadConfList,
  type RuntimeConf as CniRuntimeConf,
} from './cni/exec.js';
export type { CniConfList, CniPluginConf, CniResult } from './cni/spec.js';
export { type Capacity, capacity } from './config/capacity.js';
export { loadConfigFile, parseConfigText } from './config/load.js';
export {
  ConfigError,
  type ConfigIssue,
  formatIssue,
  type NetworkConfig,
  type OverlayConfig,
} from './config/types.js';
export { type ValidationResult, validateNetworkConfig } from './config/validate.js';
export { type MasterOptions, type RunningMaster, startMaster } from './master/daemon.js';
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
export { ERRORS, type ErrorCode, RETRY_ELSEWHERE } from './protocol/errors.js';
export type { Allocation__Output } from './protocol/messages.js';
export {
  parseTaskRecord,
  TASK_PREFIX,
  type TaskPortJson,
  type TaskRecordJson,
  type TaskReport,
  type TaskRuntime,
  type TaskSink,
  taskKey,
} from './protocol/task-record.js';
