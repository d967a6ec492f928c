// Names that say who made them, and the sweep of what dead runs left behind.
//
// Every namespace the harness creates is named `vc<pid>-<n>-...` (pid of the test process, n its
// cluster counter); every process it starts is recorded, with its kernel start time, in
// `<runs>/vc<pid>-<n>/procs.jsonl`. A run whose pid no longer lives (or that is this very process
// before it made anything: the pid was reused) is a leftover: its recorded processes that are
// still the same processes are killed, its namespaces deleted. Live runs are never touched.
import { appendFileSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alive,
  deleteNetnsSync,
  listNetns,
  NETNS_DIR,
  netnsOwner,
  startTime,
  sweepDeadNetns,
} from '@vnet/testkit';

/** The start of every name the harness gives (namespaces, run dirs): `vc<pid>-`. */
const PREFIX = 'vc';

/** Where per-run directories (logs, data dirs, process records) go. */
export function runsRoot(): string {
  return process.env.VNET_CLUSTER_DIR ?? join(tmpdir(), 'vnet-cluster');
}

/** The pid whose run made `name`, or undefined for names that are not ours. */
export function ownerPid(name: string): number | undefined {
  return netnsOwner(PREFIX, name);
}

export interface ProcRecord {
  pid: number;
  start: string;
  argv: string[];
}

/** Appends a started process to its run's record (synchronously: it must be there at a crash). */
export function recordProcess(runDir: string, pid: number, argv: readonly string[]): string {
  const start = startTime(pid) ?? '';
  appendFileSync(join(runDir, 'procs.jsonl'), `${JSON.stringify({ pid, start, argv })}\n`);
  return start;
}

/** Sends `signal` to a recorded process and its group, if it is still that process. */
export function killRecorded(rec: { pid: number; start: string }, signal: NodeJS.Signals): boolean {
  if (startTime(rec.pid) !== rec.start) return false;
  for (const target of [-rec.pid, rec.pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // no such group, or already gone
    }
  }
  return true;
}

/** Our namespace names (any run's) currently mounted under /var/run/netns. */
export function listOurNamespaces(): string[] {
  return listNetns().filter((n) => ownerPid(n) !== undefined);
}

export interface SweepResult {
  namespaces: string[];
  processes: number[];
  runDirs: string[];
}

export interface SweepOptions {
  /** Treat this process's own pid as dead (true only before it has made anything). */
  includeOwn?: boolean;
  /** Remove run directories of dead runs older than this; default one day. */
  keepRunDirsMs?: number;
}

const isDead = (pid: number, includeOwn: boolean) =>
  pid === process.pid ? includeOwn : !alive(pid);

/** Removes what dead runs left: their processes (by recorded pid and start time), namespaces. */
export function sweepLeftovers(opts: SweepOptions = {}): SweepResult {
  const includeOwn = opts.includeOwn ?? false;
  const keepMs = opts.keepRunDirsMs ?? 24 * 3600 * 1000;
  const result: SweepResult = { namespaces: [], processes: [], runDirs: [] };
  const root = runsRoot();
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root).filter((d) => ownerPid(d) !== undefined);
  } catch {
    // no runs yet
  }
  for (const dir of dirs) {
    if (!isDead(ownerPid(dir)!, includeOwn)) continue;
    const path = join(root, dir);
    let records: ProcRecord[] = [];
    try {
      records = readFileSync(join(path, 'procs.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ProcRecord);
    } catch {
      // no processes were started
    }
    for (const rec of records) if (killRecorded(rec, 'SIGKILL')) result.processes.push(rec.pid);
    result.namespaces.push(...sweepTasks(path, result.processes));
    try {
      if (Date.now() - statSync(path).mtimeMs > keepMs || ownerPid(dir) === process.pid) {
        rmSync(path, { recursive: true, force: true });
        result.runDirs.push(path);
      }
    } catch {
      // already gone
    }
  }
  result.namespaces.push(...sweepDeadNetns(PREFIX, { includeOwn }));
  return result;
}

/**
 * The tasks `vnet task run` left in a dead run (state files under `hosts/<host>/tasks/`): their
 * processes (if still the same) are killed and their namespaces (`vnet-<id>`, named outside the
 * harness's prefix) deleted. Returns the namespaces.
 */
function sweepTasks(runDir: string, killed: number[]): string[] {
  const gone: string[] = [];
  let hosts: string[] = [];
  try {
    hosts = readdirSync(join(runDir, 'hosts'));
  } catch {
    return gone;
  }
  for (const host of hosts) {
    const dir = join(runDir, 'hosts', host, 'tasks');
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      let task: { pid?: number; pidStart?: string; netns?: string };
      try {
        task = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      } catch {
        continue;
      }
      if (
        task.pid &&
        task.pidStart &&
        killRecorded({ pid: task.pid, start: task.pidStart }, 'SIGKILL')
      ) {
        killed.push(task.pid);
      }
      if (task.netns && /^vnet-[0-9a-f]+$/.test(task.netns) && listNetns().includes(task.netns)) {
        deleteNetnsSync([task.netns]);
        gone.push(task.netns);
      }
    }
  }
  return gone;
}

let sweptAtStart = false;

/** The sweep a process does once before its first cluster (its own pid counts as dead then). */
export function sweepOnce(): SweepResult | undefined {
  if (sweptAtStart) return undefined;
  sweptAtStart = true;
  return sweepLeftovers({ includeOwn: true });
}

/** The nsfs inode of each mounted namespace (by name); missing names are left out. */
export function namespaceInodes(names: readonly string[]): Map<number, string> {
  const inodes = new Map<number, string>();
  for (const n of names) {
    try {
      inodes.set(statSync(join(NETNS_DIR, n)).ino, n);
    } catch {
      // not mounted
    }
  }
  return inodes;
}

export interface ProcessInside {
  pid: number;
  /** The namespace's name (from the inode map). */
  ns: string;
  cmd: string;
}

/** Every process of the machine whose network namespace is one of `inodes` (any owner). */
export function processesIn(inodes: Map<number, string>): ProcessInside[] {
  const found: ProcessInside[] = [];
  if (inodes.size === 0) return found;
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return found;
  }
  for (const pid of pids) {
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      const ns = m && inodes.get(Number(m[1]));
      if (!ns) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(pid), ns, cmd });
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

/** Live (not zombie) processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X') out.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
