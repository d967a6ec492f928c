// A CNI runtime's side of a config list, as libcni does it: find the list by name in a conf dir,
// find each plugin on the CNI path, and run ADD in list order (each plugin gets the previous
// result), DEL in reverse order (each gets the final ADD result) and CHECK in order. The runtime
// injects `name`, `cniVersion`, `runtimeConfig` (only the capabilities a plugin declares) and
// `prevResult` into each plugin's config. A failing plugin's CNI error travels in CniExecError.

import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isObject } from '../input.js';
import { type CniConfList, CniError, type CniPluginConf, type CniResult } from './spec.js';

export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';
/** Where CNI plugins live: the usual install dir, then Debian's containernetworking-plugins. */
export const DEFAULT_CNI_PATH = ['/opt/cni/bin', '/usr/lib/cni'];
export const DEFAULT_PLUGIN_TIMEOUT_MS = 30_000;

/** What the runtime knows of one attachment. */
export interface RuntimeConf {
  containerId: string;
  /** Path of the container's network namespace. */
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs. */
  args?: [string, string][];
  /** Capability arguments (`portMappings`, `aliases`, ...), given to plugins that declare them. */
  capabilityArgs?: Record<string, unknown>;
}

export interface ExecOptions {
  cniPath: readonly string[];
  timeoutMs?: number;
}

/** A plugin failed: its type, the command, and its CNI error (code, msg, details). */
export class CniExecError extends Error {
  override name = 'CniExecError';
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly error: CniError,
  ) {
    super(
      `CNI plugin ${plugin} ${command} failed (code ${error.code}): ${error.message}${error.details ? ` (${error.details})` : ''}`,
    );
  }
}

/** A config list from a conf dir is malformed or missing. */
export class CniConfigError extends Error {
  override name = 'CniConfigError';
}

function asConfList(v: unknown, file: string): CniConfList | undefined {
  if (!isObject(v) || typeof v.name !== 'string') return undefined;
  if (Array.isArray(v.plugins)) {
    if (!v.plugins.every((p) => isObject(p) && typeof p.type === 'string')) {
      throw new CniConfigError(`${file}: every plugin needs a "type"`);
    }
    return v as unknown as CniConfList;
  }
  // A single-plugin `.conf` file is a list of one.
  if (typeof v.type === 'string') {
    const { name, cniVersion, ...plugin } = v;
    return {
      name,
      cniVersion: typeof cniVersion === 'string' ? cniVersion : '0.2.0',
      plugins: [plugin as CniPluginConf],
    };
  }
  return undefined;
}

/** The config list named `name` in `dir` (files in lexical order, the first wins, as libcni). */
export async function loadConfList(dir: string, name: string): Promise<CniConfList> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) =>
      ['.conf', '.conflist', '.json'].includes(extname(f)),
    );
  } catch (e) {
    throw new CniConfigError(`CNI conf dir ${dir}: ${(e as Error).message}`);
  }
  const seen: string[] = [];
  for (const f of files.sort()) {
    let v: unknown;
    try {
      v = JSON.parse(await readFile(join(dir, f), 'utf8'));
    } catch {
      continue; // another runtime's broken file is not ours to judge
    }
    const list = asConfList(v, join(dir, f));
    if (!list) continue;
    if (list.name === name) return list;
    seen.push(list.name);
  }
  throw new CniConfigError(
    `no CNI network ${JSON.stringify(name)} in ${dir} (${seen.length ? `found: ${seen.join(', ')}` : 'it holds none'})`,
  );
}

/** The executable of plugin `type` on the CNI path. */
export async function findPlugin(type: string, cniPath: readonly string[]): Promise<string> {
  if (type.includes('/') || type === '' || type.startsWith('.')) {
    throw new CniConfigError(`CNI plugin type ${JSON.stringify(type)} is not a plugin name`);
  }
  for (const dir of cniPath) {
    const file = join(dir, type);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not in this dir
    }
  }
  throw new CniConfigError(`CNI plugin ${JSON.stringify(type)} not found in ${cniPath.join(':')}`);
}

/** Every plugin of the list, found (so that a missing one fails before anything is done). */
export function findPlugins(list: CniConfList, cniPath: readonly string[]): Promise<string[]> {
  return Promise.all(list.plugins.map((p) => findPlugin(p.type, cniPath)));
}

/** One plugin's config as the runtime hands it over. */
function pluginConf(
  list: CniConfList,
  plugin: CniPluginConf,
  rt: RuntimeConf,
  prevResult: CniResult | undefined,
): Record<string, unknown> {
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
    if (on && rt.capabilityArgs?.[cap] !== undefined) runtimeConfig[cap] = rt.capabilityArgs[cap];
  }
  return {
    ...plugin,
    name: list.name,
    cniVersion: list.cniVersion,
    ...(Object.keys(runtimeConfig).length > 0 && { runtimeConfig }),
    ...(prevResult && { prevResult }),
  };
}

function execPlugin(
  file: string,
  type: string,
  command: string,
  conf: unknown,
  rt: RuntimeConf,
  opts: ExecOptions,
): Promise<unknown> {
  const env = {
    ...process.env,
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifname,
    CNI_ARGS: (rt.args ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: opts.cniPath.join(':'),
  };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a plugin may exit without reading its config
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new CniExecError(type, command, new CniError(5, `could not run ${file}: ${e.message}`)),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(err).toString('utf8').trim();
      let parsed: unknown;
      try {
        parsed = stdout ? JSON.parse(stdout) : undefined;
      } catch {
        parsed = undefined;
      }
      if (timedOut) {
        reject(
          new CniExecError(type, command, new CniError(11, `no answer within ${timeoutMs} ms`)),
        );
      } else if (code !== 0) {
        const e = parsed as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
        const error =
          typeof e?.code === 'number' && typeof e.msg === 'string'
            ? new CniError(e.code, e.msg, typeof e.details === 'string' ? e.details : undefined)
            : new CniError(999, stderr || stdout || `exited with ${code}`);
        reject(new CniExecError(type, command, error));
      } else {
        resolve(parsed);
      }
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

/** ADD: every plugin in order; returns the last result (the runtime keeps it for DEL and CHECK). */
export async function addNetworkList(
  list: CniConfList,
  rt: RuntimeConf,
  opts: ExecOptions,
): Promise<CniResult> {
  const files = await findPlugins(list, opts.cniPath);
  let prev: CniResult | undefined;
  for (const [i, plugin] of list.plugins.entries()) {
    const r = await execPlugin(
      files[i]!,
      plugin.type,
      'ADD',
      pluginConf(list, plugin, rt, prev),
      rt,
      opts,
    );
    if (!isObject(r)) {
      throw new CniExecError(plugin.type, 'ADD', new CniError(6, 'printed no result'));
    }
    prev = r as unknown as CniResult;
  }
  return prev ?? { cniVersion: list.cniVersion };
}

/**
 * DEL: every plugin in reverse order with the ADD result. Unlike libcni, which stops at the first
 * failure, every plugin is asked (an address lease must be released even when, say, portmap
 * fails); the first failure is thrown afterwards.
 */
export async function delNetworkList(
  list: CniConfList,
  rt: RuntimeConf,
  prevResult: CniResult | undefined,
  opts: ExecOptions,
): Promise<void> {
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      const file = await findPlugin(plugin.type, opts.cniPath);
      await execPlugin(
        file,
        plugin.type,
        'DEL',
        pluginConf(list, plugin, rt, prevResult),
        rt,
        opts,
      );
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}

/** CHECK: every plugin in order with the ADD result; throws the first failure. */
export async function checkNetworkList(
  list: CniConfList,
  rt: RuntimeConf,
  prevResult: CniResult,
  opts: ExecOptions,
): Promise<void> {
  const files = await findPlugins(list, opts.cniPath);
  for (const [i, plugin] of list.plugins.entries()) {
    await execPlugin(
      files[i]!,
      plugin.type,
      'CHECK',
      pluginConf(list, plugin, rt, prevResult),
      rt,
      opts,
    );
  }
}
