// Real `vnet master` processes on 127.0.0.1 for the tests: each with its own LevelDB data dir,
// started through the CLI, ready once GET /health answers 200; stopped (SIGKILL if need be) in
// teardown.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VNET = fileURLToPath(new URL('../../../bin/vnet.js', import.meta.url));

/** Whether a TCP port on 127.0.0.1 can be bound now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// Ports below Linux's ephemeral range (32768-60999): a port the kernel hands out for bind(0) or
// an outgoing connection may be taken again before a master binds it late, after catching up.
let nextPort = 20_000 + ((process.pid * 37) % 12_000);

/** A free TCP port on 127.0.0.1 outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = nextPort;
    nextPort = nextPort >= 32_000 ? 20_000 : nextPort + 1;
    if (await bindable(port)) return port;
  }
}

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
    for (const id of ids) {
      c.masters.push({
        id,
        raft: `127.0.0.1:${await freePort()}`,
        grpc: `127.0.0.1:${await freePort()}`,
        http: `127.0.0.1:${await freePort()}`,
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
    const proc = spawn(process.execPath, [VNET, ...this.args(m, extra)], {
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

/** One HTTP request to a master: status and parsed JSON body. */
export async function api(
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
