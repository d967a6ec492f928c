// Network namespaces for tests, named `<prefix><pid>-...` so that a later run can tell whose they
// are: created for a test and deleted in its teardown (tap runs it when the test fails too), and
// those of runs whose process died swept away. Commands run inside one with `netnsArgv`.
import { readdirSync } from 'node:fs';
import { run, runOk, runOkSync, runSync } from './exec.js';
import { alive } from './pids.js';

export const NETNS_DIR = '/var/run/netns';

/** Every namespace mounted under /var/run/netns. */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** The pid in a name `<prefix><pid>-...`, or undefined for a name of another prefix. */
export function netnsOwner(prefix: string, name: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d+)-/.exec(name.slice(prefix.length));
  return m ? Number(m[1]) : undefined;
}

/** Creates namespaces in one `ip -batch` (rejects with ip's message). */
export async function addNetns(names: readonly string[]): Promise<void> {
  await runOk(['ip', '-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
}

const deleteBatch = (names: readonly string[]) => names.map((n) => `netns del ${n}\n`).join('');

/** Deletes namespaces in one `ip -force -batch`; missing ones are fine. */
export async function deleteNetns(names: readonly string[]): Promise<void> {
  if (names.length) await run(['ip', '-force', '-batch', '-'], { input: deleteBatch(names) });
}

/** deleteNetns for exit and signal handlers (no event loop there). */
export function deleteNetnsSync(names: readonly string[]): void {
  if (names.length) runSync(['ip', '-force', '-batch', '-'], deleteBatch(names));
}

/**
 * Deletes the namespaces of `prefix` whose owner process is gone, and returns their names. With
 * `includeOwn`, this process's own count as gone: before it has made any, they can only be those
 * of a dead run whose pid was reused.
 */
export function sweepDeadNetns(prefix: string, opts: { includeOwn?: boolean } = {}): string[] {
  const dead = listNetns().filter((name) => {
    const pid = netnsOwner(prefix, name);
    if (pid === undefined) return false;
    return pid === process.pid ? opts.includeOwn === true : !alive(pid);
  });
  deleteNetnsSync(dead);
  return dead;
}

/** What `netns` needs of a tap test. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

const sweptPrefixes = new Set<string>();
let counter = 0;

/**
 * A fresh namespace `<prefix><pid>-<tag><n>`, deleted in `t`'s teardown. The first one of a prefix
 * in this process sweeps what dead runs left of that prefix.
 */
export function netns(t: Teardown, prefix: string, tag = 'n'): string {
  if (!sweptPrefixes.has(prefix)) {
    sweptPrefixes.add(prefix);
    sweepDeadNetns(prefix, { includeOwn: true });
  }
  const name = `${prefix}${process.pid}-${tag}${counter++}`;
  runOkSync(['ip', 'netns', 'add', name]);
  t.teardown(() => deleteNetns([name]));
  return name;
}

/**
 * How a command enters a namespace: `nsenter` changes only the network namespace (what dockerd
 * needs); `ip-netns-exec` also remounts /sys for it and applies /etc/netns/NAME/ files.
 */
export type EnterVia = 'nsenter' | 'ip-netns-exec';

/** The argv that runs `argv` inside the namespace `ns`. */
export function netnsArgv(
  ns: string,
  argv: readonly string[],
  via: EnterVia = 'nsenter',
): string[] {
  return via === 'ip-netns-exec'
    ? ['ip', 'netns', 'exec', ns, ...argv]
    : ['nsenter', `--net=${NETNS_DIR}/${ns}`, '--', ...argv];
}
