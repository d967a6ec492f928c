// @vnet/swim/sim: the deterministic simulator, for testing code built on the library.
export {
  type MemberConditions,
  type NetworkConditions,
  Simulator,
  type SimulatorOptions,
  type SimulatorStats,
} from './simulator.js';
