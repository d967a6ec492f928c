// podman (Debian's 4.x, CNI backend) for tests, inside a test's network namespace: rootful, with
// its storage (vfs), run root, OCI runtime wrapper and containers.conf in a temporary directory of
// its own, its CNI config lists read from `cniConfDir` and its plugins from `cniPluginDirs`. This
// sandbox forbids setrlimit and podman always puts rlimits in the OCI spec, so the runtime is a
// wrapper that drops `process.rlimits` before exec'ing runc (DESIGN.md, test machine facts). No
// image can be pulled here: `importBusybox` imports one made of Debian's busybox-static. `stop()`
// removes every container, waits for podman's cleanup processes and removes the directory.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecResult, runOk as execOk, run as execRun, showCommand } from './exec.js';
import { netnsArgv } from './netns.js';
import { alive } from './pids.js';

const BUSYBOX = '/bin/busybox';
/** The busybox applets linked in the imported image. */
const APPLETS = [
  'sh',
  'sleep',
  'ip',
  'cat',
  'ls',
  'ping',
  'wget',
  'nc',
  'httpd',
  'nslookup',
  'true',
];

export interface PodmanOptions {
  /** The network namespace podman runs in (created by the test). */
  netns: string;
  /** Where podman reads CNI config lists (`--cni-config-dir`). Default: `<dir>/cni` (empty). */
  cniConfDir?: string;
  /** Where podman looks for CNI plugins (containers.conf `cni_plugin_dirs`). Default /usr/lib/cni. */
  cniPluginDirs?: readonly string[];
}

/** Drops process.rlimits from the bundle's config.json and from exec's --process file, then runc. */
const runcWrapper = () => `#!/bin/sh
prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b) f="$a/config.json"; k=process ;;
    --process|-p) f="$a"; k="" ;;
    *) f="" ;;
  esac
  if [ -n "$f" ] && [ -f "$f" ]; then
    '${process.execPath}' -e 'const fs=require("fs");const [p,k]=process.argv.slice(1);const c=JSON.parse(fs.readFileSync(p));delete (k?c[k]||{}:c).rlimits;fs.writeFileSync(p,JSON.stringify(c))' "$f" "$k"
  fi
  prev="$a"
done
exec runc "$@"
`;

/** Live processes whose command line mentions `dir` (conmon, podman's cleanup, shims). */
function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid || !alive(Number(p))) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${dir}/`)) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const works = (cmd: string, args: string[]) => spawnSync(cmd, args).status === 0;

/** Why podman tests cannot run here (a skip reason), or false when they can. */
export function podmanAvailable(): string | false {
  const missing = [
    !works('podman', ['--version']) && 'podman',
    !works('runc', ['--version']) && 'runc',
    !works(BUSYBOX, ['true']) && `busybox-static (${BUSYBOX})`,
  ].filter((m): m is string => m !== false);
  return missing.length === 0 ? false : `needs ${missing.join(', ')}`;
}

export class Podman {
  /** podman's own directory (storage, run root, runtime wrapper, containers.conf). */
  readonly dir: string;
  readonly cniConfDir: string;
  private readonly argv: readonly string[];
  private readonly env: NodeJS.ProcessEnv;
  private stopped = false;

  private constructor(readonly options: PodmanOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'vnet-podman-'));
    this.cniConfDir = options.cniConfDir ?? join(this.dir, 'cni');
    mkdirSync(this.cniConfDir, { recursive: true });
    const runtime = join(this.dir, 'runc');
    writeFileSync(runtime, runcWrapper());
    chmodSync(runtime, 0o755);
    const conf = join(this.dir, 'containers.conf');
    const pluginDirs = options.cniPluginDirs ?? ['/usr/lib/cni'];
    writeFileSync(
      conf,
      `[network]\ncni_plugin_dirs = [${pluginDirs.map((d) => JSON.stringify(d)).join(', ')}]\n`,
    );
    this.env = { ...process.env, CONTAINERS_CONF: conf };
    this.argv = netnsArgv(options.netns, [
      'podman',
      ...['--root', join(this.dir, 'storage'), '--runroot', join(this.dir, 'run')],
      ...['--storage-driver', 'vfs'],
      ...['--cni-config-dir', this.cniConfDir, '--network-backend', 'cni'],
      ...['--runtime', runtime, '--cgroup-manager', 'cgroupfs'],
      ...['--events-backend', 'file'],
    ]);
  }

  /** Prepares podman's directory (no daemon: each call is one podman process); stop() it. */
  static async start(options: PodmanOptions): Promise<Podman> {
    return new Podman(options);
  }

  /** `podman <args>` inside the namespace; never rejects for a non-zero exit. */
  run(args: readonly string[], timeoutMs = 120_000): Promise<ExecResult> {
    return execRun([...this.argv, ...args], { env: this.env, timeoutMs });
  }

  /** run() that rejects with an ExecError unless podman exits 0. */
  runOk(args: readonly string[], timeoutMs = 120_000): Promise<ExecResult> {
    return execOk([...this.argv, ...args], { env: this.env, timeoutMs });
  }

  /**
   * Imports an image `name` holding Debian's busybox-static as /bin/busybox with `applets`
   * linked to it (`podman import` of a tar of that root); resolves with the name.
   */
  async importBusybox(name = 'localhost/vnet-bb', applets: readonly string[] = APPLETS) {
    const root = mkdtempSync(join(this.dir, 'image-root-'));
    try {
      mkdirSync(join(root, 'bin'));
      copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
      for (const a of new Set(applets)) symlinkSync('busybox', join(root, 'bin', a));
      const tar = `${root}.tar`;
      await execOk(['tar', '-C', root, '-cf', tar, '.']);
      await this.runOk(['import', tar, name]);
      rmSync(tar, { force: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    return name;
  }

  /** The pid of a running container's first process (enter its namespaces with `nsenter -t`). */
  async containerPid(name: string): Promise<number> {
    const r = await this.runOk(['inspect', '--format', '{{.State.Pid}}', name]);
    const pid = Number(r.stdout.trim());
    if (!(pid > 0)) throw new Error(`podman container ${name} is not running (pid ${r.stdout})`);
    return pid;
  }

  /** Removes every container (at once, `-t 0`) and podman's directory. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const r = await this.run(['rm', '-f', '-a', '-t', '0']);
    // conmon runs `podman container cleanup` as a container ends, which may still write to the
    // storage after rm returned: wait for what mentions the directory (killed after 10 s).
    const end = Date.now() + 10_000;
    while (processesOf(this.dir).length > 0 && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 100));
    }
    for (const pid of processesOf(this.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    // Removed even when podman failed (then its mounts may keep a part: that error wins below).
    let removed: unknown;
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
    } catch (e) {
      removed = e;
    }
    if (r.code !== 0) {
      const argv = [...this.argv, 'rm', '-f', '-a', '-t', '0'];
      throw new Error(`${showCommand(argv)} exited with ${r.code}: ${r.stderr.trim()}`);
    }
    if (removed) throw removed;
  }
}
