// vnet's CNI plugin (spec 1.0/1.1), last in every config list vnet writes. It configures nothing
// itself: `bridge` + `host-local` already attached the container; this plugin tells the local
// agent, over its task socket (task-socket.ts), which task got which addresses and ports, and
// hands the container the agent's resolver through the result's `dns`.
//
// Naming a task: CNI_ARGS `VNET_TASK=<name>;VNET_FRAMEWORK=<framework>`, or the config's
// `args.cni.vnet.{task,framework}`, or the runtime's first alias on this network
// (`runtimeConfig.aliases`, e.g. podman's --network-alias); otherwise the container's short id
// and framework `vnet`. Kept to node built-ins and spec.ts: every container start pays its load.

import { spawn } from 'node:child_process';
import { request } from 'node:http';
import {
  CniCode,
  type CniConfList,
  CniError,
  type CniPortMapping,
  type CniResult,
  SUPPORTED_VERSIONS,
  type VnetPluginConf,
} from './spec.js';

/** vnet's own error codes (100+ are the plugin's). */
export const VnetCode = {
  /** The agent answered ADD with an error (the task report was refused). */
  agentRefused: 100,
  /** CHECK: the container's interface lacks an address of the result. */
  addressMissing: 101,
} as const;

export interface PluginInput {
  env: Record<string, string | undefined>;
  stdin: string;
}

export interface PluginOutput {
  /** 0 on success, 1 with a CNI error on stdout. */
  exitCode: number;
  stdout: string;
}

/** The task id the plugin reports: `cni-<container id>`, plus `-<ifname>` when it is not eth0. */
export const cniTaskId = (containerId: string, ifname: string): string =>
  ifname === 'eth0' ? `cni-${containerId}` : `cni-${containerId}-${ifname}`;

const AGENT_TIMEOUT_MS = 5_000;

interface AgentAnswer {
  status: number;
  body: unknown;
}

/** One request to the agent's task socket; rejects when the agent cannot be reached. */
function agent(socket: string, method: string, path: string, body?: unknown): Promise<AgentAnswer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        timeout: AGENT_TIMEOUT_MS,
        headers: text ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = raw ? JSON.parse(raw) : undefined;
          } catch {
            // an answer that is not JSON is reported as its text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${AGENT_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(text);
  });
}

const agentDown = (e: unknown): boolean =>
  ['ENOENT', 'ECONNREFUSED'].includes((e as NodeJS.ErrnoException).code ?? '');

const answerText = (a: AgentAnswer): string => {
  const b = a.body as { error?: unknown } | undefined;
  return typeof b?.error === 'string' ? b.error : `HTTP ${a.status}`;
};

function unreachable(socket: string, e: unknown): CniError {
  return new CniError(
    CniCode.tryAgainLater,
    `the vnet agent is not reachable on ${socket}: ${(e as Error).message}`,
    'is `vnet agent` running on this node?',
  );
}

/** `K=V;K2=V2` (CNI_ARGS). */
function parseCniArgs(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (text ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(
        CniCode.invalidEnvironment,
        `CNI_ARGS: ${JSON.stringify(pair)} is not K=V`,
      );
    }
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

type Conf = VnetPluginConf &
  Pick<CniConfList, 'cniVersion' | 'name'> & {
    prevResult?: CniResult;
    runtimeConfig?: { portMappings?: CniPortMapping[]; aliases?: Record<string, string[]> };
    args?: { cni?: { vnet?: { task?: unknown; framework?: unknown } } };
  };

function parseConf(stdin: string): Conf {
  let v: unknown;
  try {
    v = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      CniCode.decodeFailure,
      `the network config on stdin is not JSON: ${(e as Error).message}`,
    );
  }
  const c = v as Partial<Conf>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CniError(CniCode.decodeFailure, 'the network config on stdin is not a JSON object');
  }
  if (typeof c.cniVersion !== 'string' || !SUPPORTED_VERSIONS.includes(c.cniVersion)) {
    throw new CniError(
      CniCode.incompatibleVersion,
      `cniVersion ${JSON.stringify(c.cniVersion)} is not supported`,
      `supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  for (const field of ['name', 'agentSocket', 'network'] as const) {
    if (typeof c[field] !== 'string' || c[field] === '') {
      throw new CniError(CniCode.invalidConfig, `config field ${field} must be a non-empty string`);
    }
  }
  return c as Conf;
}

function need(env: PluginInput['env'], ...names: string[]): string[] {
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new CniError(CniCode.invalidEnvironment, `missing environment: ${missing.join(', ')}`);
  }
  return names.map((n) => env[n]!);
}

const ipOf = (cidr: string): string => cidr.split('/')[0]!;

/** The container's addresses in a result: those on its own (sandbox) interfaces. */
function containerIps(result: CniResult): string[] {
  const ifs = result.interfaces ?? [];
  return (result.ips ?? [])
    .filter((ip) => ip.interface === undefined || ifs[ip.interface]?.sandbox)
    .map((ip) => ipOf(ip.address));
}

function ports(conf: Conf): { protocol: 'tcp' | 'udp'; containerPort: number; hostPort: number }[] {
  const list = conf.runtimeConfig?.portMappings ?? [];
  if (!Array.isArray(list)) {
    throw new CniError(CniCode.invalidConfig, 'runtimeConfig.portMappings must be a list');
  }
  return list.map((p, i) => {
    const protocol = (p.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      throw new CniError(
        CniCode.invalidConfig,
        `runtimeConfig.portMappings[${i}].protocol ${JSON.stringify(p.protocol)} is not tcp or udp`,
      );
    }
    return { protocol, containerPort: p.containerPort, hostPort: p.hostPort };
  });
}

const textOr = (...vs: unknown[]): string | undefined =>
  vs.find((v): v is string => typeof v === 'string' && v !== '');

async function add(conf: Conf, env: PluginInput['env']): Promise<CniResult> {
  const [containerId, , ifname] = need(env, 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME');
  const prev = conf.prevResult;
  if (!prev || typeof prev !== 'object') {
    throw new CniError(
      CniCode.invalidConfig,
      'vnet needs a prevResult: put it after bridge/host-local in a config list',
    );
  }
  const args = parseCniArgs(env.CNI_ARGS);
  const named = conf.args?.cni?.vnet;
  const task = {
    id: cniTaskId(containerId!, ifname!),
    // A container id alone is a poor DNS label: its first 12 characters, as Docker shows it.
    name: textOr(
      args.get('VNET_TASK'),
      named?.task,
      conf.runtimeConfig?.aliases?.[conf.network]?.[0],
      containerId!.slice(0, 12),
    ),
    framework: textOr(args.get('VNET_FRAMEWORK'), named?.framework, 'vnet'),
    network: conf.network,
    containerIps: containerIps(prev),
    ports: ports(conf),
    runtime: 'cni',
  };
  let answer: AgentAnswer;
  try {
    answer = await agent(conf.agentSocket, 'PUT', `/v1/tasks/${encodeURIComponent(task.id)}`, task);
  } catch (e) {
    throw unreachable(conf.agentSocket, e);
  }
  if (answer.status !== 200) {
    throw new CniError(
      answer.status >= 500 ? CniCode.tryAgainLater : VnetCode.agentRefused,
      `the vnet agent refused task ${task.id}: ${answerText(answer)}`,
    );
  }
  const dns = conf.dns ? { dns: { ...prev.dns, ...conf.dns } } : {};
  return { ...prev, cniVersion: conf.cniVersion, ...dns };
}

async function del(conf: Conf, env: PluginInput['env']): Promise<void> {
  const [containerId, ifname] = need(env, 'CNI_CONTAINERID', 'CNI_IFNAME');
  const id = cniTaskId(containerId!, ifname!);
  let answer: AgentAnswer;
  try {
    answer = await agent(conf.agentSocket, 'DELETE', `/v1/tasks/${encodeURIComponent(id)}`);
  } catch (e) {
    // DEL must succeed when there is nothing to do: an agent that is down holds no task here.
    if (agentDown(e)) return;
    throw unreachable(conf.agentSocket, e);
  }
  if (answer.status !== 200 && answer.status !== 404) {
    throw new CniError(
      CniCode.tryAgainLater,
      `the vnet agent failed to remove task ${id}: ${answerText(answer)}`,
    );
  }
}

/** The container's addresses on `ifname` inside the namespace `netns`, as `ip -j` lists them. */
function addressesIn(netns: string, ifname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'nsenter',
      [`--net=${netns}`, '--', 'ip', '-j', 'addr', 'show', 'dev', ifname],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`no interface ${ifname} in ${netns}: ${err.trim() || `exit ${code}`}`));
        return;
      }
      const links = JSON.parse(out || '[]') as { addr_info?: { local: string }[] }[];
      resolve(links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
    });
  });
}

async function check(conf: Conf, env: PluginInput['env']): Promise<void> {
  const [containerId, netns, ifname] = need(env, 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME');
  const id = cniTaskId(containerId!, ifname!);
  let answer: AgentAnswer;
  try {
    answer = await agent(conf.agentSocket, 'GET', `/v1/tasks/${encodeURIComponent(id)}`);
  } catch (e) {
    throw unreachable(conf.agentSocket, e);
  }
  if (answer.status === 404) {
    throw new CniError(CniCode.containerUnknown, `the vnet agent does not know task ${id}`);
  }
  if (answer.status !== 200) {
    throw new CniError(CniCode.tryAgainLater, `the vnet agent: ${answerText(answer)}`);
  }
  let have: string[];
  try {
    have = await addressesIn(netns!, ifname!);
  } catch (e) {
    throw new CniError(VnetCode.addressMissing, (e as Error).message);
  }
  const missing = containerIps(conf.prevResult ?? { cniVersion: conf.cniVersion }).filter(
    (ip) => !have.includes(ip),
  );
  if (missing.length > 0) {
    throw new CniError(
      VnetCode.addressMissing,
      `interface ${ifname} in ${netns} lacks ${missing.join(', ')} (task ${id})`,
    );
  }
}

/** GC (1.1): drops this network's CNI tasks whose attachment the runtime no longer holds. */
async function gc(conf: Conf): Promise<void> {
  const valid = (
    conf as { 'cni.dev/valid-attachments'?: { containerID: string; ifname: string }[] }
  )['cni.dev/valid-attachments'];
  if (!Array.isArray(valid)) return;
  const keep = new Set(valid.map((a) => cniTaskId(a.containerID, a.ifname)));
  let answer: AgentAnswer;
  try {
    answer = await agent(conf.agentSocket, 'GET', '/v1/tasks');
  } catch (e) {
    throw unreachable(conf.agentSocket, e);
  }
  const tasks = (answer.body as { tasks?: { id: string; network: string; runtime: string }[] })
    ?.tasks;
  for (const t of tasks ?? []) {
    if (t.runtime === 'cni' && t.network === conf.network && !keep.has(t.id)) {
      await agent(conf.agentSocket, 'DELETE', `/v1/tasks/${encodeURIComponent(t.id)}`);
    }
  }
}

async function status(conf: Conf): Promise<void> {
  try {
    const a = await agent(conf.agentSocket, 'GET', '/v1/health');
    if (a.status === 200) return;
    throw new Error(answerText(a));
  } catch (e) {
    throw new CniError(
      CniCode.notAvailable,
      `the vnet agent is not ready on ${conf.agentSocket}: ${(e as Error).message}`,
    );
  }
}

/** The cniVersion to answer in: the config's when it is one we speak. */
function versionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string' && SUPPORTED_VERSIONS.includes(v)) return v;
  } catch {
    // malformed stdin: answered in our own version
  }
  return '1.0.0';
}

/** Runs one CNI command: what the plugin binary prints and its exit code. */
export async function runPlugin(input: PluginInput): Promise<PluginOutput> {
  const version = versionOf(input.stdin);
  const ok = (v: unknown): PluginOutput => ({
    exitCode: 0,
    stdout: v ? `${JSON.stringify(v)}\n` : '',
  });
  try {
    const command = input.env.CNI_COMMAND;
    if (command === 'VERSION') {
      return ok({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS });
    }
    if (!command)
      throw new CniError(CniCode.invalidEnvironment, 'missing environment: CNI_COMMAND');
    if (!['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'].includes(command)) {
      throw new CniError(
        CniCode.invalidEnvironment,
        `CNI_COMMAND ${JSON.stringify(command)} is not ADD, DEL, CHECK, GC, STATUS or VERSION`,
      );
    }
    const conf = parseConf(input.stdin);
    switch (command) {
      case 'ADD':
        return ok(await add(conf, input.env));
      case 'DEL':
        await del(conf, input.env);
        break;
      case 'CHECK':
        await check(conf, input.env);
        break;
      case 'GC':
        await gc(conf);
        break;
      default:
        await status(conf);
    }
    return ok(undefined);
  } catch (e) {
    const err =
      e instanceof CniError
        ? e
        : new CniError(CniCode.ioFailure, (e as Error).message ?? String(e));
    return { exitCode: 1, stdout: `${JSON.stringify(err.toJson(version))}\n` };
  }
}
