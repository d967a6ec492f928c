// Command lines of the real `vnet master` and `vnet agent`, started in host namespaces, and
// their readiness (GET /health answers 200, asked from inside the host's namespace).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host } from './cluster.js';
import type { HttpRequest, HttpResponse } from './netns.js';
import type { Exit, NsProcess } from './process.js';
import type { WaitOptions } from './wait.js';

/** The repo's `vnet` launcher (override with VNET_BIN). */
export function vnetBin(): string {
  return (
    process.env.VNET_BIN ??
    fileURLToPath(new URL('../../../packages/overlay-core/bin/vnet.js', import.meta.url))
  );
}

/** `node <vnet.js> ARGS...` */
export function vnetArgv(args: readonly string[]): string[] {
  const bin = vnetBin();
  if (!existsSync(bin)) throw new Error(`the vnet CLI is not at ${bin} (set VNET_BIN)`);
  return [process.execPath, bin, ...args];
}

export interface DaemonOptions {
  /** More arguments, appended (e.g. ['--log-level', 'debug']). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Data dir; default `<run>/hosts/<host>/<role>`. */
  dataDir?: string;
  /** HTTP API port on the host's underlay address. */
  httpPort?: number;
}

export interface MasterOptions extends DaemonOptions {
  /** Path of the config file (see `cluster.file()`). */
  config: string;
  /** All masters of the cluster, this one included; default just this host. */
  masters?: Host[];
  /** This master's id; default its host name. Peers are named by their host names. */
  id?: string;
  /** Raft peer port; default 7001. */
  raftPort?: number;
  /** Node-facing gRPC port; default 7000. */
  grpcPort?: number;
}

export interface AgentOptions extends DaemonOptions {
  /** The master hosts (their gRPC port: `masterPort`, default 7000). */
  masters: Host[];
  masterPort?: number;
  /** Agent on a master: a VTEP and a subnet, no container bridges. */
  noBridges?: boolean;
}

/** A started vnet daemon: its host, process and HTTP API. */
export class VnetDaemon {
  constructor(
    readonly role: 'master' | 'agent',
    readonly host: Host,
    readonly process: NsProcess,
    /** host:port of its HTTP API. */
    readonly httpAddress: string,
    readonly dataDir: string,
  ) {}

  /** URL of a path of its HTTP API. */
  url(path = '/'): string {
    return `http://${this.httpAddress}${path}`;
  }

  /** An HTTP request to its API, made from its host's namespace. */
  http(path: string, req?: HttpRequest): Promise<HttpResponse> {
    return this.host.http(this.url(path), req);
  }

  /**
   * Waits until GET /health answers 200 (default within 30 s); fails at once, with the end of its
   * log, if the process exits meanwhile.
   */
  async ready(opts: WaitOptions = {}): Promise<this> {
    await this.host.waitHttp(this.url('/health'), (r) => r.status === 200, {
      timeoutMs: 30_000,
      stopIf: () => this.process.exitReason(),
      ...opts,
    });
    return this;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    return this.process.kill(signal);
  }

  stop(graceMs?: number): Promise<Exit | undefined> {
    return this.process.stop(graceMs);
  }

  /** Stops and starts it again with the same command line and data dir. */
  async restart(graceMs?: number): Promise<this> {
    await this.process.restart(graceMs);
    return this;
  }
}

/** The argv of `vnet master` on `host` (with the default data dir created). */
export function masterArgv(host: Host, opts: MasterOptions): string[] {
  const masters = opts.masters ?? [host];
  if (!masters.includes(host)) {
    throw new Error(`master ${host.name} is not in its own masters list`);
  }
  const raftPort = opts.raftPort ?? 7001;
  return vnetArgv([
    'master',
    '--id',
    opts.id ?? host.name,
    '--peers',
    masters.map((m) => `${m.name}=${m.ip}:${raftPort}`).join(','),
    '--listen',
    `${host.ip}:${opts.grpcPort ?? 7000}`,
    '--http',
    `${host.ip}:${opts.httpPort ?? 8080}`,
    '--config',
    opts.config,
    '--data-dir',
    opts.dataDir ?? host.dir('master'),
    ...(opts.args ?? []),
  ]);
}

/** A host's CNI files: what its agent writes and `vnet task` reads (each host its own). */
export function cniPaths(host: Host): {
  confDir: string;
  dataDir: string;
  socket: string;
  stateDir: string;
} {
  return {
    confDir: host.dir('cni/net.d'),
    dataDir: host.dir('cni/networks'),
    socket: join(host.dir('run'), 'tasks.sock'),
    stateDir: host.dir('tasks'),
  };
}

/** The argv of `vnet agent` on `host` (with the default data dir created). */
export function agentArgv(host: Host, opts: AgentOptions): string[] {
  const port = opts.masterPort ?? 7000;
  const cni = cniPaths(host);
  return vnetArgv([
    'agent',
    '--ip',
    host.ip,
    '--masters',
    opts.masters.map((m) => `${m.ip}:${port}`).join(','),
    ...(opts.noBridges ? ['--no-bridges'] : []),
    '--data-dir',
    opts.dataDir ?? host.dir('agent'),
    '--http',
    `${host.ip}:${opts.httpPort ?? 8090}`,
    // The node's own CNI files (the hosts share one file system).
    '--cni-conf-dir',
    cni.confDir,
    '--cni-data-dir',
    cni.dataDir,
    '--task-socket',
    cni.socket,
    ...(opts.args ?? []),
  ]);
}

/** Starts `vnet master` in `host` (without waiting for readiness: `await d.ready()`). */
export function startMaster(host: Host, opts: MasterOptions): VnetDaemon {
  const argv = masterArgv(host, opts);
  const proc = host.spawn(argv, { name: 'vnet-master', ...(opts.env && { env: opts.env }) });
  const dataDir = argv[argv.indexOf('--data-dir') + 1]!;
  return new VnetDaemon('master', host, proc, `${host.ip}:${opts.httpPort ?? 8080}`, dataDir);
}

/** Starts `vnet master` on each of `hosts`, all with the same peer set; ids are host names. */
export function startMasters(
  hosts: Host[],
  opts: Omit<MasterOptions, 'masters' | 'id' | 'dataDir'>,
): VnetDaemon[] {
  return hosts.map((h) => startMaster(h, { ...opts, masters: hosts }));
}

/** Starts `vnet agent` in `host` (without waiting for readiness: `await d.ready()`). */
export function startAgent(host: Host, opts: AgentOptions): VnetDaemon {
  const argv = agentArgv(host, opts);
  const proc = host.spawn(argv, { name: 'vnet-agent', ...(opts.env && { env: opts.env }) });
  const dataDir = argv[argv.indexOf('--data-dir') + 1]!;
  return new VnetDaemon('agent', host, proc, `${host.ip}:${opts.httpPort ?? 8090}`, dataDir);
}
