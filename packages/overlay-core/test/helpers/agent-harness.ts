// The agent in-process: its two seams filled with test doubles. ModelKernel is the in-memory
// kernel model behind the agent's Kernel interface; ScriptedMaster plays the masters through
// MasterApi with a real Ipam (real allocations), and the test decides when calls fail, when
// streams end, when a node is deleted or a master comes back. Gossip is real (@vnet/swim over
// UDP and TCP on 127.0.0.x), so two agents in one process find each other as nodes do.
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { NetlinkError, type Operation, type OperationResult } from '@vnet/netlink-ffi';
import { pino } from 'pino';
import type { Test } from 'tap';
import {
  type AgentDeps,
  type AgentOptions,
  type RunningAgent,
  startAgent,
} from '../../src/agent/daemon.js';
import { type MasterApi, MasterCallError, type WatchHandle } from '../../src/api/client.js';
import type { NetworkConfig } from '../../src/config/types.js';
import type { Kernel } from '../../src/dataplane/kernel.js';
import type { KernelState, Sysctl } from '../../src/dataplane/types.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { allocationMessage } from '../../src/master/render.js';
import { ip4 } from '../../src/net/addr.js';
import type { OverlayStatusReport } from '../../src/protocol/allocation.js';
import type { Allocation__Output, StatusReply__Output } from '../../src/protocol/messages.js';
import { hostKernel } from './dataplane-fixtures.js';
import { KernelError, KernelModel } from './kernel-model.js';

/** The in-memory kernel model as the agent's kernel. */
export class ModelKernel implements Kernel {
  readonly model = new KernelModel(hostKernel());
  nft = '';
  readonly sysctlsWritten: Sysctl[] = [];

  async dump(): Promise<KernelState> {
    return this.model.snapshot();
  }

  async apply(operations: Operation[]): Promise<OperationResult[]> {
    return operations.map((operation) => {
      try {
        this.model.apply(operation);
        return { ok: true, operation };
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        const errno = constants.errno[e.code as keyof typeof constants.errno] ?? 22;
        const error = new NetlinkError({
          errno,
          operation: operation.action,
          kind: operation.kind,
          target: JSON.stringify(operation.spec),
        });
        return { ok: false, operation, error };
      }
    });
  }

  async sysctls(list: readonly Sysctl[]): Promise<string[]> {
    this.sysctlsWritten.push(...list);
    return [];
  }

  async nftables(file: string, force = false): Promise<boolean> {
    if (!force && file === this.nft) return false;
    this.nft = file;
    return true;
  }

  /** Names of the links it holds. */
  links(): string[] {
    return this.model.state.links.map((l) => l.name);
  }

  /** `dst nhid` of vnet's main-table routes. */
  routes(): string[] {
    return this.model.state.routes
      .filter((r) => r.protocol === 210 && r.table === 254)
      .map((r) => `${r.dst} ${r.nhid}`);
  }
}

interface Stream {
  ip: string;
  onUpdate: (u: Allocation__Output) => void;
  onEnd: (err: Error | undefined) => void;
  open: boolean;
}

/** The masters, played by the test: a real Ipam behind MasterApi. */
export class ScriptedMaster implements MasterApi {
  readonly ipam: Ipam;
  index = 1;
  registrations = 0;
  /** The next registrations that fail (UNAVAILABLE), one per entry. */
  failures = 0;
  readonly reports: { ip: string; overlays: OverlayStatusReport[] }[] = [];
  private readonly streams: Stream[] = [];
  private readonly reconnectWatchers = new Set<(master: string) => void>();
  rotations = 0;

  constructor(config: NetworkConfig) {
    this.ipam = new Ipam(config);
  }

  get master(): string {
    return 'scripted';
  }

  allocation(ip: string): Allocation__Output {
    return allocationMessage(this.ipam, ip, this.index);
  }

  async register(ip: string, bridges: boolean): Promise<Allocation__Output> {
    if (this.failures > 0) {
      this.failures--;
      throw new MasterCallError(status.UNAVAILABLE, 'no master answered: scripted');
    }
    this.registrations++;
    this.index++;
    this.ipam.register(ip, { bridges });
    return this.allocation(ip);
  }

  /** What WatchMasters streams (nothing until a test sets it). */
  mastersView: { masters: string[]; leader: string } | undefined;

  watchMasters(
    onUpdate: (m: { masters: string[]; leader: string }) => void,
    _onEnd: (err: Error | undefined) => void,
  ): WatchHandle {
    if (this.mastersView) onUpdate(this.mastersView);
    return { cancel: () => {} };
  }

  async reportStatus(ip: string, overlays: OverlayStatusReport[]): Promise<StatusReply__Output> {
    this.reports.push({ ip, overlays });
    return { changed: true };
  }

  watch(
    ip: string,
    onUpdate: (u: Allocation__Output) => void,
    onEnd: (err: Error | undefined) => void,
  ): WatchHandle {
    const s: Stream = { ip, onUpdate, onEnd, open: true };
    this.streams.push(s);
    // Like a master: the current allocation first.
    queueMicrotask(() => s.open && s.onUpdate(this.allocation(ip)));
    return {
      cancel: () => {
        s.open = false;
      },
    };
  }

  /** Sends every open stream of `ip` a message (default: its current allocation). */
  push(ip: string, message = this.allocation(ip)): void {
    for (const s of this.streams) if (s.open && s.ip === ip) s.onUpdate(message);
  }

  /** Ends every open stream, as a master that dies does. */
  endStreams(): void {
    for (const s of this.streams) {
      if (!s.open) continue;
      s.open = false;
      s.onEnd(new Error('scripted: the stream broke'));
    }
  }

  get openStreams(): number {
    return this.streams.filter((s) => s.open).length;
  }

  /** A master became reachable again. */
  reconnect(): void {
    for (const w of this.reconnectWatchers) w('scripted');
  }

  rotate(): void {
    this.rotations++;
  }

  watchReconnects(onUp: (master: string) => void): () => void {
    this.reconnectWatchers.add(onUp);
    return () => this.reconnectWatchers.delete(onUp);
  }

  close(): void {}
}

/** A gossip port below the ephemeral range, different for each test process. */
export const gossipPort = 21_000 + (process.pid % 9_000);

export interface HarnessAgent {
  agent: RunningAgent;
  kernel: ModelKernel;
  /** Everything it logged (pino's JSON lines, parsed). */
  logs: Record<string, unknown>[];
  /** GET of its HTTP API, parsed. */
  get<T>(path: string): Promise<{ status: number; body: T }>;
  /** Its Prometheus text. */
  metrics(): Promise<string>;
}

/** Starts an agent in-process at 127.0.0.n with a ModelKernel; stopped when `t` ends. */
export async function startTestAgent(
  t: Test,
  master: MasterApi,
  n: number,
  options: Partial<AgentOptions> = {},
  deps: Pick<AgentDeps, 'random'> = {},
): Promise<HarnessAgent> {
  const ip = `127.0.0.${n}`;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vnet-agent-'));
  const kernel = new ModelKernel();
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const agent = await startAgent(
    {
      ip,
      masters: [],
      bridges: true,
      dataDir,
      http: { host: '127.0.0.1', port: 0 },
      gossipPort,
      // Alone in its group unless the test names seeds.
      gossipSeeds: [{ host: ip, port: gossipPort }],
      gossipProfile: 'local',
      gossipSettings: { probeInterval: 200, probeTimeout: 100, gossipInterval: 50 },
      backoff: { initialMs: 20, maxMs: 100 },
      withdrawGraceMs: 200,
      reconcileIntervalMs: 60_000,
      logger,
      ...options,
    },
    { kernel, masters: master, underlay: { ip: ip4(ip)!, dev: 'eth0', mtu: 1500 }, ...deps },
  );
  t.teardown(async () => {
    await agent.stop();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${agent.port}`;
  const get = async <T>(path: string) => {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, body: (await r.json()) as T };
  };
  const metrics = () => fetch(`${base}/metrics`).then((r) => r.text());
  return { agent, kernel, logs, get, metrics };
}

/** Polls `read` until `ok` holds (every 20 ms, up to `ms`); the last value is in the error. */
export async function until<T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (v: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
