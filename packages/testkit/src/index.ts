// Helpers for the tests and benches of the vnet workspaces (a devDependency only: no library
// imports it at run time).
export { type BenchResult, benchResultLine } from './bench-result.js';
export {
  DOCKERD_API,
  DockerApiCallError,
  Dockerd,
  type DockerdOptions,
  sweepDeadDockerd,
} from './dockerd.js';
export { EtcdCluster } from './etcd.js';
export {
  ExecError,
  type ExecOptions,
  type ExecResult,
  parseJsonOutput,
  run,
  runOk,
  showCommand,
} from './exec.js';
export {
  bridgeJson,
  bridgeJsonSync,
  type IpObject,
  ipJson,
  ipJsonSync,
  ipSync,
} from './iproute2.js';
export {
  addNetns,
  deleteNetns,
  deleteNetnsSync,
  type EnterVia,
  listNetns,
  NETNS_DIR,
  netns,
  netnsArgv,
  netnsOwner,
  sweepDeadNetns,
  type Teardown,
} from './netns.js';
export { alive, startTime } from './pids.js';
export { Podman, type PodmanOptions, podmanAvailable } from './podman.js';
export { freePorts, PortTakenError, portTakenIn, withFreePorts } from './ports.js';
export { requireRoot } from './root.js';
export { mulberry32, testSeed, testSeeds } from './seed.js';
export { median, percentile } from './stats.js';
export { startUnbound, type Unbound, type UnboundOptions } from './unbound.js';
export { type ClusterOptions, httpApi, MasterCluster, type MasterProc } from './vnet-masters.js';
