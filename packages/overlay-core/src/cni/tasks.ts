// A minimal CNI runtime for tasks on an overlay (what Mesos' UCR did for DC/OS): a fresh network
// namespace `vnet-<id>`, the overlay's config list run through exec.ts (so vnet's plugin reports
// the task to the agent), and a command started detached inside the namespace. Each task's state
// (including the list and the ADD result DEL needs, as libcni caches them) is a JSON file in the
// state dir, written before anything is created, so `stop` can clean up after a run that died.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import {
  access,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  addNetworkList,
  CniExecError,
  checkNetworkList,
  delNetworkList,
  findPlugins,
  loadConfList,
  type RuntimeConf,
} from './exec.js';
import { cniTaskId } from './plugin.js';
import type { CniConfList, CniPortMapping, CniResult, VnetPluginConf } from './spec.js';

export const DEFAULT_TASK_STATE_DIR = '/run/vnet/tasks';
const NETNS_DIR = '/var/run/netns';
const IFNAME = 'eth0';

export interface TaskState {
  /** The task id the agent knows: `cni-<containerId>`. */
  id: string;
  containerId: string;
  name: string;
  framework: string;
  network: string;
  /** Namespace name (under /var/run/netns). */
  netns: string;
  ifname: string;
  /** Container addresses with their prefix. */
  ips: string[];
  ports: CniPortMapping[];
  /** The command's pid and /proc start time (a reused pid is not the task). */
  pid?: number;
  pidStart?: string;
  command: string[];
  log: string;
  cniPath: string[];
  confList: CniConfList;
  result?: CniResult;
}

export interface RunTaskOptions {
  network: string;
  name: string;
  framework?: string;
  ports?: CniPortMapping[];
  confDir: string;
  cniPath: string[];
  stateDir: string;
  command: string[];
}

/** A bad `vnet task` request (unknown network, bad port, missing plugin): nothing was left behind. */
export class TaskError extends Error {
  override name = 'TaskError';
}

/** `CONTAINER:HOST[/udp|/tcp]` -> a port mapping. */
export function parsePortSpec(spec: string): CniPortMapping {
  const m = /^([0-9]{1,5}):([0-9]{1,5})(?:\/(tcp|udp))?$/.exec(spec);
  const ok = (n: number) => n >= 1 && n <= 65535;
  if (!m || !ok(Number(m[1])) || !ok(Number(m[2]))) {
    throw new TaskError(
      `port ${JSON.stringify(spec)} is not CONTAINER:HOST[/udp] (ports 1-65535, e.g. 80:8080 or 53:5353/udp)`,
    );
  }
  return { containerPort: Number(m[1]), hostPort: Number(m[2]), protocol: m[3] ?? 'tcp' };
}

function runCmd(argv: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr: stderr.trim() }));
  });
}

async function runOk(argv: string[]): Promise<void> {
  const r = await runCmd(argv);
  if (r.code !== 0) throw new TaskError(`${argv.join(' ')}: ${r.stderr || `exit ${r.code}`}`);
}

/** /proc/PID/stat's start time, or undefined when no such process runs (zombies count as gone). */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

const stateFile = (dir: string, containerId: string) => join(dir, `${containerId}.json`);

async function saveState(dir: string, s: TaskState): Promise<void> {
  const tmp = `${stateFile(dir, s.containerId)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, stateFile(dir, s.containerId));
}

const runtimeConf = (s: TaskState): RuntimeConf => ({
  containerId: s.containerId,
  netns: join(NETNS_DIR, s.netns),
  ifname: s.ifname,
  args: [
    ['IgnoreUnknown', '1'],
    ['VNET_TASK', s.name],
    ['VNET_FRAMEWORK', s.framework],
  ],
  capabilityArgs: { portMappings: s.ports },
});

const vnetConf = (list: CniConfList): VnetPluginConf | undefined =>
  list.plugins.find((p): p is VnetPluginConf => p.type === 'vnet');

/**
 * host-local's "no IP addresses available" names neither the overlay nor the node: say both, and
 * tell the agent (its task socket, best effort) so that it can report the overlay's half full.
 */
async function explainExhaustion(list: CniConfList, e: CniExecError): Promise<TaskError> {
  const vnet = vnetConf(list);
  const ipam = (list.plugins[0]?.ipam ?? {}) as { ranges?: { subnet?: string }[][] };
  const half = ipam.ranges?.[0]?.[0]?.subnet;
  const node = vnet?.node ?? 'this node';
  const msg =
    `overlay ${list.name} has no free address left on node ${node}` +
    `${half ? ` (its CNI half ${half} is full)` : ''}: ${e.error.message}`;
  if (vnet) {
    const body = { network: list.name, ...(vnet.node && { node: vnet.node }), error: msg };
    await new Promise<void>((resolve) => {
      const req = request(
        { socketPath: vnet.agentSocket, method: 'POST', path: '/v1/exhausted', timeout: 2000 },
        (res) => res.resume().on('end', resolve),
      );
      req.on('error', () => resolve());
      req.on('timeout', () => req.destroy());
      req.end(JSON.stringify(body));
    });
  }
  return new TaskError(msg);
}

/** The executable `command` names (a path, or a name found on PATH), or undefined. */
async function executable(command: string): Promise<string | undefined> {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(':')
        .filter(Boolean)
        .map((d) => join(d, command));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      if ((await stat(c)).isFile()) return c;
    } catch {
      // not there, or not executable
    }
  }
  return undefined;
}

/** Starts `command` detached inside the namespace; fails if it cannot be executed. */
async function startCommand(s: TaskState): Promise<number> {
  // Checked here rather than by waiting to see whether nsenter exits at once: no fixed wait.
  if (!(await executable(s.command[0]!))) {
    throw new TaskError(`cannot run ${JSON.stringify(s.command[0])}: not found or not executable`);
  }
  const log = await open(s.log, 'a', 0o600);
  try {
    const child = spawn('nsenter', [`--net=${join(NETNS_DIR, s.netns)}`, '--', ...s.command], {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    });
    const started = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (!started || child.pid === undefined) {
      throw new TaskError(`cannot run nsenter for ${JSON.stringify(s.command[0])} (see ${s.log})`);
    }
    child.unref();
    return child.pid;
  } finally {
    await log.close();
  }
}

const STOP_GRACE_MS = 5_000;

/** SIGTERM to the task's process group (its own session), SIGKILL after a grace period. */
async function kill(pid: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  const started = startTime(pid);
  signal('SIGTERM');
  for (let waited = 0; waited < STOP_GRACE_MS; waited += 50) {
    if (startTime(pid) !== started) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  signal('SIGKILL');
}

/** Tears a task down: the command's process group, CNI DEL, the namespace, its files. */
async function teardown(dir: string, s: TaskState): Promise<string[]> {
  const problems: string[] = [];
  if (s.pid !== undefined && startTime(s.pid) === s.pidStart) await kill(s.pid);
  try {
    await delNetworkList(s.confList, runtimeConf(s), s.result, { cniPath: s.cniPath });
  } catch (e) {
    problems.push((e as Error).message);
  }
  const r = await runCmd(['ip', 'netns', 'del', s.netns]);
  if (r.code !== 0 && !/No such file|not exist/i.test(r.stderr)) problems.push(r.stderr);
  await rm(stateFile(dir, s.containerId), { force: true });
  await rm(s.log, { force: true });
  return problems;
}

/** Runs a task: namespace, CNI ADD, command. On any failure everything made is removed again. */
export async function runTask(o: RunTaskOptions): Promise<TaskState> {
  if (o.command.length === 0) throw new TaskError('no command to run (give it after --)');
  let list: CniConfList;
  try {
    list = await loadConfList(o.confDir, o.network);
    await findPlugins(list, o.cniPath);
  } catch (e) {
    throw new TaskError((e as Error).message);
  }
  await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  const containerId = randomBytes(6).toString('hex');
  const s: TaskState = {
    id: cniTaskId(containerId, IFNAME),
    containerId,
    name: o.name,
    framework: o.framework ?? 'vnet',
    network: o.network,
    netns: `vnet-${containerId}`,
    ifname: IFNAME,
    ips: [],
    ports: o.ports ?? [],
    command: o.command,
    log: join(o.stateDir, `${containerId}.log`),
    cniPath: o.cniPath,
    confList: list,
  };
  await saveState(o.stateDir, s);
  let exhausted: CniExecError | undefined;
  try {
    await runOk(['ip', 'netns', 'add', s.netns]);
    await runOk(['ip', '-n', s.netns, 'link', 'set', 'lo', 'up']);
    try {
      s.result = await addNetworkList(list, runtimeConf(s), { cniPath: o.cniPath });
    } catch (e) {
      if (e instanceof CniExecError && /no IP addresses available/i.test(e.error.message)) {
        exhausted = e;
      }
      throw e;
    }
    s.ips = (s.result.ips ?? []).map((ip) => ip.address);
    await saveState(o.stateDir, s);
    s.pid = await startCommand(s);
    s.pidStart = startTime(s.pid);
    await saveState(o.stateDir, s);
    return s;
  } catch (e) {
    await teardown(o.stateDir, s);
    // Told once the failed attempt's veth is gone, so the agent counts the half as it is.
    if (exhausted) throw await explainExhaustion(list, exhausted);
    throw e;
  }
}

export interface ListedTask extends TaskState {
  alive: boolean;
}

/** Every task of the state dir, with whether its command still runs. */
export async function listTasks(stateDir: string): Promise<ListedTask[]> {
  let files: string[];
  try {
    files = (await readdir(stateDir)).filter((f) => f.endsWith('.json')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: ListedTask[] = [];
  for (const f of files) {
    try {
      const s = JSON.parse(await readFile(join(stateDir, f), 'utf8')) as TaskState;
      out.push({ ...s, alive: s.pid !== undefined && startTime(s.pid) === s.pidStart });
    } catch {
      // a file being written, or not ours
    }
  }
  return out;
}

async function findTask(stateDir: string, id: string): Promise<TaskState> {
  const tasks = await listTasks(stateDir);
  const t = tasks.find((x) => x.id === id || x.containerId === id);
  if (!t) {
    throw new TaskError(
      `no task ${JSON.stringify(id)} in ${stateDir}${tasks.length ? ` (tasks: ${tasks.map((x) => x.id).join(', ')})` : ''}`,
    );
  }
  const { alive: _, ...state } = t as ListedTask;
  return state;
}

/** Stops a task (by `cni-<id>` or `<id>`): kills it, runs CNI DEL, removes namespace and state. */
export async function stopTask(stateDir: string, id: string): Promise<TaskState> {
  const s = await findTask(stateDir, id);
  const problems = await teardown(stateDir, s);
  if (problems.length > 0) {
    throw new TaskError(`task ${s.id} stopped, but: ${problems.join('; ')}`);
  }
  return s;
}

/** CNI CHECK of a task's attachment (every plugin of its list). */
export async function checkTask(stateDir: string, id: string): Promise<TaskState> {
  const s = await findTask(stateDir, id);
  if (!s.result) throw new TaskError(`task ${s.id} has no CNI result (its ADD did not finish)`);
  await checkNetworkList(s.confList, runtimeConf(s), s.result, { cniPath: s.cniPath });
  return s;
}
