// `vnet task run|list|stop|check`: tasks on an overlay through its CNI config list, each in its own
// network namespace (a small CNI runtime, src/cni/tasks.ts), reported to the agent by vnet's plugin.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CNI_CONF_DIR, DEFAULT_CNI_PATH } from '../cni/exec.js';
import type { CniPortMapping } from '../cni/spec.js';
import {
  checkTask,
  DEFAULT_TASK_STATE_DIR,
  listTasks,
  parsePortSpec,
  runTask,
  stopTask,
  TaskError,
  type TaskState,
} from '../cni/tasks.js';
import { renderTable } from './table.js';

function portSpec(value: string, previous: CniPortMapping[] = []): CniPortMapping[] {
  try {
    return [...previous, parsePortSpec(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

const cniPathFlag = (value: string): string[] => value.split(':').filter((d) => d !== '');

const portText = (p: CniPortMapping) =>
  `${p.containerPort}:${p.hostPort}${p.protocol === 'udp' ? '/udp' : ''}`;

/** What `run --json` and `list --json` print of a task. */
const summary = (s: TaskState, alive?: boolean) => ({
  id: s.id,
  name: s.name,
  framework: s.framework,
  network: s.network,
  netns: s.netns,
  ips: s.ips,
  ports: s.ports.map(portText),
  pid: s.pid ?? null,
  ...(alive !== undefined && { alive }),
  log: s.log,
});

/** Failures are TaskErrors (exit 1 with the message); main.ts prints them. */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TaskError) throw e;
    throw new TaskError((e as Error).message);
  }
}

export function addTaskCommand(program: Command): void {
  const task = program
    .command('task')
    .description(
      "tasks on an overlay: a network namespace attached through the overlay's CNI config list",
    );
  const stateDir = (c: Command) =>
    c.option(
      '--state-dir <dir>',
      "where the tasks' state and logs are kept",
      DEFAULT_TASK_STATE_DIR,
    );

  stateDir(
    task
      .command('run')
      .description('start CMD in a new network namespace attached to the overlay NETWORK')
      .requiredOption('--network <name>', 'the overlay (the name of its CNI config list)')
      .requiredOption('--name <task>', 'the task name (DNS: <task>.<framework>.containerip.dcos)')
      .option('--framework <name>', 'the framework name', 'vnet')
      .option('--port <container:host[/udp]>', 'map a host port to the task; repeatable', portSpec)
      .option('--cni-conf-dir <dir>', 'CNI network config lists', DEFAULT_CNI_CONF_DIR)
      .addOption(
        new Option('--cni-path <dirs>', 'CNI plugin dirs, :-separated')
          .argParser(cniPathFlag)
          .default(DEFAULT_CNI_PATH, DEFAULT_CNI_PATH.join(':')),
      )
      .option('--json', 'print the task as JSON')
      .argument('<cmd...>', 'the command (after --)'),
  ).action(
    async (
      command: string[],
      o: {
        network: string;
        name: string;
        framework: string;
        port?: CniPortMapping[];
        cniConfDir: string;
        cniPath: string[];
        stateDir: string;
        json?: boolean;
      },
    ) => {
      const s = await guarded(() =>
        runTask({
          network: o.network,
          name: o.name,
          framework: o.framework,
          ports: o.port ?? [],
          confDir: o.cniConfDir,
          cniPath: o.cniPath,
          stateDir: o.stateDir,
          command,
        }),
      );
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary(s))}\n`);
        return;
      }
      const ports = s.ports.length ? `  ports ${s.ports.map(portText).join(',')}` : '';
      process.stdout.write(
        `${s.id}\n${s.name}.${s.framework} on ${s.network}: ${s.ips.join(' ')}${ports}  pid ${s.pid}  netns ${s.netns}\n`,
      );
    },
  );

  stateDir(
    task.command('list').description("this host's tasks").option('--json', 'as JSON'),
  ).action(async (o: { stateDir: string; json?: boolean }) => {
    const tasks = await guarded(() => listTasks(o.stateDir));
    if (o.json) {
      process.stdout.write(`${JSON.stringify(tasks.map((t) => summary(t, t.alive)))}\n`);
      return;
    }
    const rows = tasks.map((t) => [
      t.id,
      t.name,
      t.framework,
      t.network,
      t.ips.join(',') || '-',
      t.ports.map(portText).join(',') || '-',
      String(t.pid ?? '-'),
      t.alive ? 'yes' : 'no',
    ]);
    process.stdout.write(
      `${renderTable(['ID', 'NAME', 'FRAMEWORK', 'NETWORK', 'IPS', 'PORTS', 'PID', 'ALIVE'], rows)}\n`,
    );
  });

  stateDir(
    task
      .command('stop')
      .description('kill a task, detach it (CNI DEL) and remove its namespace and state')
      .argument('<id>', 'cni-<id> as `run` printed it, or <id>'),
  ).action(async (id: string, o: { stateDir: string }) => {
    const s = await guarded(() => stopTask(o.stateDir, id));
    process.stdout.write(`${s.id} stopped\n`);
  });

  stateDir(
    task
      .command('check')
      .description("CNI CHECK of a task's attachment (every plugin of its list)")
      .argument('<id>', 'cni-<id> or <id>'),
  ).action(async (id: string, o: { stateDir: string }) => {
    const s = await guarded(() => checkTask(o.stateDir, id));
    process.stdout.write(`${s.id} ok\n`);
  });
}
