// vnet's cluster harness: hosts, an outside host and containers as network namespaces on one
// machine, the real vnet processes in them, and the helpers scenario tests wait and look with.
export { firstHost, intToIp, ipToInt, nth, parseCidr4 } from './addr.js';
export {
  Cluster,
  type ClusterOptions,
  Container,
  type ContainerOptions,
  type DestroyOptions,
  Host,
  type TestLike,
  type UnderlayOptions,
} from './cluster.js';
export {
  groupMembers,
  listOurNamespaces,
  namespaceInodes,
  ownerPid,
  type ProcessInside,
  processesIn,
  runsRoot,
  type SweepResult,
  sweepLeftovers,
} from './leftovers.js';
export {
  HttpError,
  type HttpRequest,
  type HttpResponse,
  type IpAddrLink,
  type IpLink,
  Netns,
  type Peer,
  WhoamiServer,
} from './netns.js';
export { type PingOptions, type PingResult, type PingStats, parsePing, pingArgv } from './ping.js';
export { type Exit, NsProcess, type SpawnOptions } from './process.js';
export {
  type AgentOptions,
  agentArgv,
  cniPaths,
  type DaemonOptions,
  type MasterOptions,
  masterArgv,
  startAgent,
  startMaster,
  startMasters,
  VnetDaemon,
  vnetArgv,
  vnetBin,
} from './vnet.js';
export { describeObservation, sleep, type WaitOptions, WaitTimeoutError, waitFor } from './wait.js';
