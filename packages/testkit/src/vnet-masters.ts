// Real `vnet master` processes on 127.0.0.1 for overlay-core's tests and bench: each with its
// own LevelDB data dir, started through the CLI given as `vnet` (a path to its launcher), ready
// once GET /health answers 200; stopped (SIGKILL if need be) by destroy(). Their ports come from
// below the ephemeral range (freePorts): a master binds late, after catching up, and a port from
// bind(0) could be taken by an outgoing connection meanwhile.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './ports.js';

export interface MasterProc {
  id: string;
  raft: string;
  grpc: string;
  http: string;
  dataDir: string;
  proc: ChildProcess | undefined;
  /** Everything the process wrote (stdout and stderr), across restarts. */
  output: string;
  exit: Promise<number | null> | undefined;
}

export interface ClusterOptions {
  /** The `vnet` launcher (overlay-core's bin/vnet.js). */
  vnet: string;
  n: 1 | 3 | 5;
  /** The config file's text (YAML or JSON). */
  config: string;
  token?: string;
  extraArgs?: string[];
}

export class MasterCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'vnet-masters-'));
  readonly configFile = join(this.dir, 'config.yaml');
  readonly masters: MasterProc[] = [];
  private tokenFile: string | undefined;

  private constructor(readonly opts: ClusterOptions) {}

  static async create(opts: ClusterOptions): Promise<MasterCluster> {
    const c = new MasterCluster(opts);
    writeFileSync(c.configFile, opts.config);
    if (opts.token !== undefined) {
      c.tokenFile = join(c.dir, 'token');
      writeFileSync(c.tokenFile, `${opts.token}\n`);
    }
    const ids = ['a', 'b', 'c', 'd', 'e'].slice(0, opts.n);
    const ports = await freePorts(3 * ids.length);
    for (const [i, id] of ids.entries()) {
      c.masters.push({
        id,
        raft: `127.0.0.1:${ports[3 * i]}`,
        grpc: `127.0.0.1:${ports[3 * i + 1]}`,
        http: `127.0.0.1:${ports[3 * i + 2]}`,
        dataDir: join(c.dir, id),
        proc: undefined,
        output: '',
        exit: undefined,
      });
    }
    return c;
  }

  get peers(): string {
    return this.masters.map((m) => `${m.id}=${m.raft}`).join(',');
  }

  args(m: MasterProc, extra: string[] = []): string[] {
    return [
      'master',
      '--id',
      m.id,
      '--peers',
      this.peers,
      '--listen',
      m.grpc,
      '--http',
      m.http,
      '--config',
      this.configFile,
      '--data-dir',
      m.dataDir,
      '--raft-tick-ms',
      '50',
      ...(this.tokenFile ? ['--token-file', this.tokenFile] : []),
      ...(this.opts.extraArgs ?? []),
      ...extra,
    ];
  }

  /** Starts a master process (not waiting for it to be ready). */
  start(m: MasterProc, extra: string[] = []): void {
    const proc = spawn(process.execPath, [this.opts.vnet, ...this.args(m, extra)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    m.proc = proc;
    proc.stdout!.on('data', (d) => (m.output += d));
    proc.stderr!.on('data', (d) => (m.output += d));
    m.exit = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  async startAll(): Promise<void> {
    for (const m of this.masters) this.start(m);
    await this.ready();
  }

  /** Waits until every running master answers /health with 200. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const m of this.masters) {
      if (!m.proc || m.proc.exitCode !== null) continue;
      for (;;) {
        const r = await fetch(`http://${m.http}/health`).catch(() => undefined);
        if (r?.status === 200) break;
        if (m.proc.exitCode !== null) {
          throw new Error(`master ${m.id} exited with ${m.proc.exitCode}:\n${m.output}`);
        }
        if (Date.now() > deadline) throw new Error(`master ${m.id} not ready:\n${m.output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async leader(): Promise<MasterProc> {
    for (let i = 0; i < 100; i++) {
      for (const m of this.masters) {
        if (!m.proc || m.proc.exitCode !== null) continue;
        const h = (await fetch(`http://${m.http}/health`)
          .then((r) => r.json())
          .catch(() => undefined)) as { role?: string } | undefined;
        if (h?.role === 'leader') return m;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no leader');
  }

  async kill(m: MasterProc, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (!m.proc || m.proc.exitCode !== null || m.proc.signalCode !== null)
      return m.proc?.exitCode ?? null;
    m.proc.kill(signal);
    return (await m.exit) ?? null;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.masters.map((m) => this.kill(m, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One HTTP request to `base` (host:port): its status, JSON body (else text) and headers. */
export async function httpApi(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are arbitrary JSON, checked by the asserts
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`http://${base}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
