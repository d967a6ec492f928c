export type { CacheOptions } from './forward/cache.js';
export type { MetricsSnapshot } from './metrics.js';
export { taskLabel, toLabel } from './names.js';
export { prometheusRegistry } from './prometheus.js';
export {
  type BoundAddress,
  type ListenAddress,
  NavstarServer,
  type NavstarServerOptions,
} from './server/server.js';
export type { TcpOptions } from './server/tcp.js';
export {
  ManualSource,
  type RecordSnapshot,
  type RecordSource,
  type SourceEvent,
} from './source.js';
export {
  type LookupResult,
  RecordStore,
  type RecordStoreOptions,
  type SourceStatus,
} from './store.js';
export { DEFAULT_ZONES, type ZoneOptions } from './zone/compile.js';
export {
  type PortProtocol,
  type TaskPort,
  type TaskRecord,
  TaskRecordError,
} from './zone/records.js';
