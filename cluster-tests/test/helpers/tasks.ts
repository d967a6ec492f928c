// Tasks on a cluster's nodes the way operators start them: `vnet task run|stop` in the node's
// namespace through the node's CNI config lists (the agent writes them) with vnet's plugin
// installed once per run; commands inside a task's namespace; and DNS lookups with `dig`.
import { join } from 'node:path';
import { type Cluster, cniPaths, type Host, vnetArgv } from '../../src/index.js';

export interface Task {
  id: string;
  name: string;
  framework: string;
  network: string;
  netns: string;
  /** Addresses without their prefix. */
  ips: string[];
  host: Host;
}

/** Installs vnet's CNI plugin into the run dir once; the CNI path for `vnet task`. */
export async function cniPath(cluster: Cluster): Promise<string> {
  const bin = join(cluster.runDir, 'cni-bin');
  await cluster.hosts[0]!.execOk(vnetArgv(['cni', 'install', '--bin-dir', bin]));
  return `${bin}:/usr/lib/cni`;
}

export interface RunOptions {
  network?: string;
  framework?: string;
  ports?: string[];
  cmd?: string[];
}

/** `vnet task run ... --json` on `host`; the task (the command keeps running). */
export async function runTask(
  host: Host,
  path: string,
  name: string,
  opts: RunOptions = {},
): Promise<Task> {
  const r = await host.execOk(taskRunArgv(host, path, name, opts));
  const s = JSON.parse(r.stdout) as Omit<Task, 'host'>;
  return { ...s, ips: s.ips.map((ip) => ip.split('/')[0]!), host };
}

/** The argv of `vnet task run` on `host` (for a run expected to fail). */
export function taskRunArgv(host: Host, path: string, name: string, opts: RunOptions = {}) {
  const cni = cniPaths(host);
  return vnetArgv([
    'task',
    'run',
    '--network',
    opts.network ?? 'dcos',
    '--name',
    name,
    '--framework',
    opts.framework ?? 'marathon',
    ...(opts.ports ?? []).flatMap((p) => ['--port', p]),
    '--cni-conf-dir',
    cni.confDir,
    '--cni-path',
    path,
    '--state-dir',
    cni.stateDir,
    '--json',
    '--',
    ...(opts.cmd ?? ['sleep', '1000000']),
  ]);
}

export async function stopTask(task: Task): Promise<void> {
  await task.host.execOk(
    vnetArgv(['task', 'stop', task.id, '--state-dir', cniPaths(task.host).stateDir]),
  );
}

/** Stops every task still running on the hosts (a test's teardown). */
export async function stopAllTasks(hosts: Host[]): Promise<void> {
  for (const h of hosts) {
    const dir = cniPaths(h).stateDir;
    const r = await h.exec(vnetArgv(['task', 'list', '--json', '--state-dir', dir]));
    if (r.code !== 0) continue;
    for (const t of JSON.parse(r.stdout) as { id: string }[]) {
      await h.exec(vnetArgv(['task', 'stop', t.id, '--state-dir', dir]));
    }
  }
}

/** `argv` run inside a task's namespace (from its node). */
export function inTask(task: Task, argv: string[]) {
  return task.host.exec(['ip', 'netns', 'exec', task.netns, ...argv], { timeoutMs: 20_000 });
}

/** A web server in a task: busybox httpd on port 80 serving `text` at `/`. */
export function httpd(host: Host, text: string): string[] {
  const dir = host.dir(`www-${text}`);
  return ['sh', '-c', `echo ${text} > ${dir}/index.html && exec busybox httpd -f -p 80 -h ${dir}`];
}

/** `dig` from inside a namespace (argv prefix) at `server`: status and sorted A answers. */
export async function dig(
  run: (argv: string[]) => Promise<{ stdout: string }>,
  server: string,
  name: string,
): Promise<{ status: string; a: string[] }> {
  const r = await run(['dig', `@${server}`, '+tries=1', '+time=2', name, 'A']);
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? 'NO-ANSWER';
  const a = r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith(';') && /\sIN\s+A\s/.test(l))
    .map((l) => l.split(/\s+/).at(-1)!)
    .sort();
  return { status, a };
}
