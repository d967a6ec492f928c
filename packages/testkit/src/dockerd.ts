// A real dockerd (Debian's `docker.io`) for tests, inside a test's network namespace: started
// with `nsenter --net` (`ip netns exec` remounts /sys and hides the cgroup mounts dockerd needs),
// its data, exec root and socket in a directory of its own under /tmp (`/tmp/vdk<pid>-<n>`:
// unix socket paths must stay short). No image can be pulled here: `importBusybox` imports one
// made of Debian's busybox-static through the Engine API. `stop()` removes everything it made
// (containers, the daemon and its containerd, leftover shims, dockerd's mounts, the directory),
// also after the daemon was killed; a later run sweeps what a dead run left.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { runSync } from './exec.js';
import { NETNS_DIR } from './netns.js';
import { alive } from './pids.js';

/** The Engine API version the helpers speak (Docker 20.10; later engines serve it too). */
export const DOCKERD_API = '1.41';
const DIR_PREFIX = '/tmp/vdk';
const BUSYBOX = '/bin/busybox';
/** The busybox applets linked in the imported image. */
const APPLETS = [
  'sh',
  'sleep',
  'ping',
  'ip',
  'nc',
  'cat',
  'ls',
  'httpd',
  'wget',
  'nslookup',
  'true',
];

export interface DockerdOptions {
  /** The network namespace dockerd runs in (created by the test). */
  netns: string;
  /** Let dockerd manage iptables (FORWARD policy DROP, DOCKER-* chains). Default false. */
  iptables?: boolean;
  /** Containers keep running while dockerd is down (`--live-restore`). Default false. */
  liveRestore?: boolean;
  /**
   * Resolvers for containers (`--dns <ip>` per address): on user-defined networks Docker's
   * embedded DNS (127.0.0.11) forwards the names it does not know to them.
   */
  dns?: readonly string[];
}

export class DockerApiCallError extends Error {
  override name = 'DockerApiCallError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let counter = 0;
let swept = false;

/** Processes whose command line mentions `dir` (dockerd, its containerd, shims). */
function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${dir}/`)) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Mount points at or under `dir`, deepest first (dockerd bind-mounts its data root on itself). */
function mountsUnder(dir: string): string[] {
  const decode = (s: string) =>
    s.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => decode(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Kills what was started for `dir`, unmounts and deletes it. */
function cleanDir(dir: string): void {
  for (const pid of processesOf(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  for (const m of mountsUnder(dir)) runSync(['umount', '-l', m]);
  rmSync(dir, { recursive: true, force: true });
}

/** Removes what dockerd runs of dead test processes left under /tmp. */
export function sweepDeadDockerd(): string[] {
  const dead = readdirSync('/tmp')
    .map((n) => `/tmp/${n}`)
    .filter((d) => {
      const m = /^\/tmp\/vdk(\d+)-\d+$/.exec(d);
      return m && (Number(m[1]) === process.pid || !alive(Number(m[1])));
    });
  for (const d of dead) cleanDir(d);
  return dead;
}

export class Dockerd {
  readonly dir: string;
  readonly socket: string;
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(readonly options: DockerdOptions) {
    if (!swept) {
      swept = true;
      sweepDeadDockerd();
    }
    this.dir = `${DIR_PREFIX}${process.pid}-${counter++}`;
    this.socket = join(this.dir, 'docker.sock');
    mkdirSync(this.dir, { recursive: true });
  }

  /** `unix://<socket>`, what `--docker-host` takes. */
  get host(): string {
    return `unix://${this.socket}`;
  }

  /** dockerd's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** Starts dockerd and waits until it answers; stop() it in the test's teardown. */
  static async start(options: DockerdOptions): Promise<Dockerd> {
    const d = new Dockerd(options);
    try {
      await d.restart();
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  /** Starts dockerd again (same data) after `kill()`. */
  async restart(): Promise<void> {
    const o = this.options;
    // A containerd orphaned by a killed dockerd can stay a zombie here (this sandbox's init does
    // not reap): dockerd would trust its pid file (kill(pid, 0) succeeds on a zombie) and wait
    // for it forever. Without the file it starts a new one, which finds live-restored shims.
    const pidFile = join(this.dir, 'exec', 'containerd', 'containerd.pid');
    const pid = Number(readCmdFile(pidFile));
    if (pid > 0 && !alive(pid)) rmSync(pidFile, { force: true });
    const argv = [
      'nsenter',
      `--net=${NETNS_DIR}/${o.netns}`,
      '--',
      'dockerd',
      ...['--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec')],
      ...['-H', this.host, '--pidfile', join(this.dir, 'docker.pid')],
      '--bridge=none',
      `--iptables=${o.iptables === true}`,
      ...(o.iptables ? ['--ip-masq=false'] : []),
      ...(o.liveRestore ? ['--live-restore'] : []),
      ...(o.dns ?? []).flatMap((ip) => ['--dns', ip]),
    ];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (b: Buffer) => {
      this.log = (this.log + b.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `dockerd exited (${child.exitCode ?? child.signalCode}):\n${this.logTail()}`,
        );
      }
      try {
        await this.api('GET', '/_ping');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`dockerd did not answer within 60 s:\n${this.logTail()}`);
  }

  /** The end of dockerd's log (for failure messages). */
  logTail(lines = 15): string {
    return this.log.trim().split('\n').slice(-lines).join('\n');
  }

  /** SIGKILL to dockerd (its containerd follows; live-restored containers keep running). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // The containerd dockerd started dies with it (parent-death signal): wait for that too.
    const end = Date.now() + 10_000;
    while (
      processesOf(this.dir).some((pid) => /^containerd\0/.test(readCmd(pid))) &&
      Date.now() < end
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** One Engine API call; resolves with the JSON answer, rejects with the status and message. */
  api(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.#request(method, path, {
      contentType: 'application/json',
      write: (req) => req.end(body === undefined ? undefined : JSON.stringify(body)),
    });
  }

  #request(
    method: string,
    path: string,
    how: { contentType: string; write: (req: import('node:http').ClientRequest) => void },
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          method,
          path: `/v${DOCKERD_API}${path}`,
          headers: { host: 'docker', 'content-type': how.contentType },
          timeout: 60_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (s: string) => {
            text += s;
          });
          res.on('end', () => {
            let json: unknown = text;
            try {
              json = text.trim() === '' ? undefined : JSON.parse(text);
            } catch {
              // not JSON (e.g. _ping's "OK")
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(json);
            else
              reject(new DockerApiCallError(status, `${method} ${path}: ${status} ${text.trim()}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      how.write(req);
    });
  }

  /**
   * Imports an image `name` (default `vnet-busybox`) holding Debian's busybox-static as
   * /bin/busybox with its common applets linked: a tar of the root built here, posted to
   * `POST /images/create?fromSrc=-` (what `docker import` does).
   */
  async importBusybox(name = 'vnet-busybox'): Promise<string> {
    const root = join(this.dir, 'image-root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
    const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await this.#request(
      'POST',
      `/images/create?fromSrc=-&repo=${encodeURIComponent(name)}&tag=latest`,
      {
        contentType: 'application/x-tar',
        write: (req) => tar.stdout!.pipe(req),
      },
    );
    rmSync(root, { recursive: true, force: true });
    return name;
  }

  /** Creates and starts a container; resolves with its id. */
  async run(name: string, config: Record<string, unknown>): Promise<string> {
    const created = (await this.api(
      'POST',
      `/containers/create?name=${encodeURIComponent(name)}`,
      config,
    )) as {
      Id: string;
    };
    await this.api('POST', `/containers/${created.Id}/start`);
    return created.Id;
  }

  /** The pid of a running container's first process (enter its namespace with `nsenter -t`). */
  async containerPid(id: string): Promise<number> {
    const c = (await this.api('GET', `/containers/${id}/json`)) as { State?: { Pid?: number } };
    if (!c.State?.Pid) throw new Error(`container ${id} is not running`);
    return c.State.Pid;
  }

  /** Removes every container, stops dockerd, and deletes all it left. Safe to call twice. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        const list = (await this.api('GET', '/containers/json?all=1')) as { Id: string }[];
        await Promise.all(
          list.map((c) => this.api('DELETE', `/containers/${c.Id}?force=1`).catch(() => {})),
        );
      } catch {
        // dockerd not answering: its processes are killed below
      }
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    cleanDir(this.dir);
  }
}

function readCmd(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function readCmdFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
