// `vnet master`: one member of the overlay master cluster. It opens the overlay replicated log
// (a @vnet/raft node on LevelDB under the data dir), checks its config file against the log once
// it has caught up with the cluster, and serves the node-facing gRPC service and the HTTP API.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  CorruptStoreError,
  GrpcServer,
  GrpcTransport,
  type Logger as RaftLogger,
  RaftNode,
} from '@vnet/raft';
import type { Logger } from 'pino';
import type { NetworkConfig } from '../config/types.js';
import { formatHostPort, type HostPort } from '../net/host-port.js';
import type { ConfigConflict } from '../protocol/documents.js';
import { serverCredentials, type TlsFiles } from '../security/tls.js';
import type { CommandResult } from './commands.js';
import { conflictMessage, conflictsOf, diffConfig } from './config-diff.js';
import { addOverlayMasterService } from './grpc-service.js';
import { createHttpApi } from './http-api.js';
import { MasterMetrics } from './metrics.js';
import { Proposer } from './proposer.js';
import { addRejoinService, requestRejoin } from './rejoin.js';
import { MasterStateMachine } from './state-machine.js';

export interface MasterOptions {
  /** This master's Raft member id. */
  id: string;
  /** Raft peer addresses (id -> host:port) of every founding master, this one included. */
  peers: Record<string, string>;
  /** The node-facing gRPC service. */
  listen: HostPort;
  /** The HTTP API. */
  http: HostPort;
  /** The validated config file. */
  config: NetworkConfig;
  configFile: string;
  dataDir: string;
  tls?: TlsFiles;
  token?: string;
  /** Remove (or re-create) overlays the file dropped (or changed) through the log. */
  applyRemovals?: boolean;
  /** Start empty and have the leader re-add this master (after its data dir was wiped). */
  rejoin?: boolean;
  /** The command line, to quote in messages. */
  argv: string[];
  logger: Logger;
  /** Raft tick (default 100 ms). */
  tickMs?: number;
  /** How long to wait for a quorum of masters at start (default: forever). */
  quorumWaitMs?: number;
}

/** A start-up failure with the exit code and the message for the operator. */
export class MasterStartError extends Error {
  override name = 'MasterStartError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const EXIT_CONFLICT = 3;
export const EXIT_DAMAGED_STORE = 4;

export interface RunningMaster {
  node: RaftNode<CommandResult>;
  sm: MasterStateMachine;
  /** Bound ports (useful when 0 was asked). */
  ports: { raft: number; grpc: number; http: number };
  stop(): Promise<void>;
}

function raftLogger(log: Logger): RaftLogger {
  return (level, msg, fields) => log[level]({ ...fields, component: 'raft' }, msg);
}

export async function startMaster(opts: MasterOptions): Promise<RunningMaster> {
  const log = opts.logger;
  const raftAddress = opts.peers[opts.id];
  if (!raftAddress) {
    throw new MasterStartError(`--peers has no address for this master's --id ${opts.id}`, 2);
  }
  await mkdir(opts.dataDir, { recursive: true });
  const storeDir = join(opts.dataDir, 'overlay-replicated-log');

  const tls = opts.tls ? { tls: opts.tls } : {};
  const transport = new GrpcTransport(tls);
  const raftServer = new GrpcServer(tls);
  transport.addToServer(raftServer);
  const sm = new MasterStateMachine();
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    cleanups.length = 0;
  };

  try {
    const raftPort = await raftServer.listen(raftAddress);
    cleanups.push(() => raftServer.close(0));
    let node: RaftNode<CommandResult>;
    try {
      node = await RaftNode.start<CommandResult>({
        id: opts.id,
        ...(opts.rejoin ? { join: true } : { peers: opts.peers }),
        dataDir: storeDir,
        stateMachine: sm,
        transport,
        logger: raftLogger(log),
        ...(opts.tickMs ? { tickMs: opts.tickMs } : {}),
      });
    } catch (e) {
      if (e instanceof CorruptStoreError) {
        throw new MasterStartError(
          `${e.message}\nthis master's copy of the overlay replicated log cannot be trusted, so it will not start.\n` +
            `to recover, with a quorum of the other masters running: move ${storeDir} aside ` +
            `(e.g. mv ${storeDir} ${storeDir}.damaged) and start this master again with the same flags plus --rejoin: ` +
            "the leader removes its old incarnation, adds it back empty, and it receives the other masters' snapshot and log.\n" +
            'with a single master (or if every copy is damaged) there is no other copy: restore the data dir from a backup.',
          EXIT_DAMAGED_STORE,
        );
      }
      throw e;
    }
    cleanups.push(() => node.stop());
    node.on('error', (e) => log.fatal({ err: e }, 'raft stopped'));
    node.on('leader', ({ leader, term }) => log.info({ leader, term }, 'leader'));

    addRejoinService(raftServer, node as RaftNode<unknown>, log);
    if (opts.rejoin) {
      // An empty joiner knows no one until the log tells it: give the transport the founders.
      transport.setPeers(opts.peers);
      await requestRejoin({ id: opts.id, peers: opts.peers, log, ...tls });
    }
    const proposer = new Proposer(node, tls);
    proposer.addToServer(raftServer);
    cleanups.push(() => proposer.close());
    const metrics = new MasterMetrics(node, sm);
    let ready = false;
    const httpServer = createHttpApi({
      id: opts.id,
      node,
      sm,
      proposer,
      metrics,
      ...(opts.token !== undefined && { token: opts.token }),
      ready: () => ready,
    });
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', (e) =>
        reject(new MasterStartError(`--http ${formatHostPort(opts.http)}: ${e.message}`, 1)),
      );
      httpServer.listen(opts.http.port, opts.http.host, resolve);
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeAllConnections();
        }),
    );

    // A conflict in this master's own copy of the log is reported even without a quorum (the
    // other masters may be refusing the same file and gone); otherwise catch up and check the
    // current state.
    const localConflicts = conflictsWith(sm, opts);
    const caughtUp = await catchUp(
      node,
      log,
      localConflicts.length > 0 ? 5_000 : opts.quorumWaitMs,
    ).then(
      () => true,
      (e) => {
        if (localConflicts.length === 0) throw e;
        return false;
      },
    );
    if (!caughtUp) refuseConflicts(opts, sm, localConflicts);
    await applyConfigFile(opts, node, sm, proposer);

    const grpcServer = new grpc.Server();
    addOverlayMasterService(grpcServer, {
      node,
      sm,
      proposer,
      metrics,
      ...(opts.token !== undefined && { token: opts.token }),
    });
    const listen = formatHostPort(opts.listen);
    const grpcPort = await new Promise<number>((resolve, reject) => {
      grpcServer.bindAsync(listen, serverCredentials(opts.tls), (err, port) =>
        err ? reject(new MasterStartError(`--listen ${listen}: ${err.message}`, 1)) : resolve(port),
      );
    });
    cleanups.push(() => grpcServer.forceShutdown());
    ready = true;
    log.info(
      { id: opts.id, raft: raftAddress, grpc: listen, http: formatHostPort(opts.http) },
      'overlay master ready',
    );
    return {
      node,
      sm,
      ports: {
        raft: raftPort,
        grpc: grpcPort,
        http: (httpServer.address() as { port: number }).port,
      },
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Waits until this master has caught up with a leader's commit index (ReadIndex). */
async function catchUp(node: RaftNode<CommandResult>, log: Logger, waitMs?: number): Promise<void> {
  const deadline = waitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + waitMs;
  let warned = 0;
  for (;;) {
    try {
      await node.read();
      return;
    } catch (e) {
      if (Date.now() >= deadline) {
        throw new MasterStartError(
          `no quorum of masters answered within ${waitMs} ms: ${(e as Error).message}`,
          1,
        );
      }
      if (Date.now() - warned > 10_000) {
        warned = Date.now();
        log.warn({ reason: (e as Error).message }, 'waiting for a quorum of masters');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** How the config file conflicts with this master's copy of the log (none with --apply-removals). */
function conflictsWith(sm: MasterStateMachine, opts: MasterOptions): ConfigConflict[] {
  const ipam = sm.ipam;
  if (!ipam) return [];
  return conflictsOf(
    diffConfig(ipam.config, opts.config),
    ipam.config,
    (name) => ipam.holders(name).length,
    ipam.nodeCount,
  ).filter((c) => !(opts.applyRemovals && c.removable));
}

function refuseConflicts(
  opts: MasterOptions,
  sm: MasterStateMachine,
  conflicts: ConfigConflict[],
): never {
  throw new MasterStartError(
    conflictMessage({
      conflicts,
      configFile: opts.configFile,
      dataDir: opts.dataDir,
      argv: opts.argv,
      log: sm.ipam!.config,
    }),
    EXIT_CONFLICT,
  );
}

/** Brings the config file into the log, or refuses to start when it conflicts. */
async function applyConfigFile(
  opts: MasterOptions,
  node: RaftNode<CommandResult>,
  sm: MasterStateMachine,
  proposer: Proposer,
): Promise<void> {
  const log = opts.logger;
  const current = conflictsWith(sm, opts);
  if (current.length > 0) refuseConflicts(opts, sm, current);
  for (;;) {
    const r = await proposer
      .propose({
        op: 'ensure-config',
        config: opts.config,
        applyRemovals: opts.applyRemovals ?? false,
      })
      .catch((e: Error) => {
        log.warn({ reason: e.message }, 'could not write the config to the log yet; retrying');
        return undefined;
      });
    if (!r) {
      await new Promise((res) => setTimeout(res, 500));
      continue;
    }
    if (r.ok) {
      if (r.op === 'ensure-config') {
        log.info(
          { initialized: r.initialized, added: r.added, removed: r.removed, updated: r.updated },
          'config file applied to the overlay replicated log',
        );
      }
      // Make the applied config visible here before serving.
      await node.read();
      return;
    }
    if (r.code === 'CONFIG_CONFLICT') refuseConflicts(opts, sm, r.conflicts ?? []);
    throw new MasterStartError(`${opts.configFile}: ${r.message}`, 2);
  }
}
