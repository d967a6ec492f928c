// Containers on the overlay through real runtimes, started as operators start them: CNI tasks
// (`vnet task run` through the config lists the agent writes and Debian's plugins), a Docker
// container (a real dockerd on one node, its network made by the agent through the Engine API)
// and a podman container (a second CNI runtime on the same lists). They reach each other across
// nodes, any number of them listen on the same port, and every node's navstar names them from
// gossip: containerip, agentip, autoip, master and leader, an outside name forwarded to an
// upstream resolver the test runs, a stopped task and a dead node withdrawn. A node's CNI half
// filling up gives a named error, a metric and the master's view; an agent restarted while its
// tasks run keeps them.
import { Dockerd, Podman, podmanAvailable, requireRoot, startUnbound } from '@vnet/testkit';
import t from 'tap';
import { Cluster, cniPaths, type Host, waitFor } from '../src/index.js';
import { CONFIG, startOverlay } from './helpers/overlay.js';
import {
  cniPath,
  dig,
  httpd,
  inTask,
  runTask,
  stopAllTasks,
  stopTask,
  type Task,
  taskRunArgv,
} from './helpers/tasks.js';

requireRoot(t, 'network namespaces, dockerd, podman and the CNI plugins');
const noPodman = podmanAvailable();
if (noPodman) t.comment(`podman part skipped: ${noPodman}`);

const TINY = `${CONFIG}  - name: tiny
    subnet: 10.98.0.0/16
    prefix: 28
`;

const cluster = await Cluster.create({ hosts: 4 });
const [h1, h2, h3, h4] = cluster.hosts as [Host, Host, Host, Host];
const outside = cluster.outside!;
let dockerd: Dockerd | undefined;
let podman: Podman | undefined;
let upstream: Awaited<ReturnType<typeof startUnbound>> | undefined;
let cleaning: Promise<void> | undefined;
const cleanup = () => (cleaning ??= clean());
const clean = async () => {
  await stopAllTasks([h2, h3, h4]).catch(() => {});
  await podman?.stop().catch(() => {});
  await dockerd?.stop().catch(() => {});
  await upstream?.stop().catch(() => {});
  await cluster.destroy();
};
t.teardown(cleanup);

let image: string;
let oc: Awaited<ReturnType<typeof startOverlay>>;
let path: string;
// A set-up that fails at the top level ends the process before tap's teardowns: clean up here.
try {
  // The nodes' upstream resolver, outside every overlay.
  upstream = await startUnbound({
    netns: outside.ns,
    address: outside.ip,
    port: 53,
    zones: { 'example.test': 'static' },
    data: ['www.example.test. 60 IN A 192.0.2.80'],
    probe: 'www.example.test',
  });
  // Node B (h3) runs Docker; its containers resolve through Docker's embedded DNS, forwarding to
  // the node's navstar.
  dockerd = await Dockerd.start({ netns: h3.ns, dns: [h3.ip] });
  image = await dockerd.importBusybox();
  oc = await startOverlay(cluster, {
    masters: 1,
    agents: 3,
    config: TINY,
    agentArgs: ['--dns-upstream', outside.ip],
    argsFor: (h) => (h === h3 ? ['--docker-host', dockerd!.host, '--dns-listen', h3.ip] : []),
  });
  path = await cniPath(cluster);
} catch (e) {
  await cleanup();
  throw e;
}

/** The gateway of a node's CNI half of `overlay` (its resolver for containers). */
async function mesosGateway(h: Host, overlay = 'dcos'): Promise<string> {
  const info = (await oc.agents.get(h.name)!.http('/overlay-agent/overlay')).json<{
    overlays: { info: { name: string }; mesos_bridge?: { ip: string } }[];
  }>();
  const half = info.overlays.find((o) => o.info.name === overlay)!.mesos_bridge!.ip;
  const [a, b, c, d] = half.split('/')[0]!.split('.').map(Number);
  return `${a}.${b}.${c}.${d! + 1}`;
}

const webs: Task[] = [];
let prober: Task;
let dockerIp = '';
let dockerPid = 0;
/** A command inside the Docker container's network namespace (host binaries). */
const inDocker = (argv: string[]) =>
  h3.exec(['nsenter', '-t', String(dockerPid), '-n', ...argv], { timeoutMs: 20_000 });

t.test(
  'CNI tasks on A and a Docker container on B reach each other; 3 tasks share port 80',
  async (t) => {
    for (const i of [1, 2, 3])
      webs.push(await runTask(h2, path, 'web', { cmd: httpd(h2, `web-${i}`) }));
    t.equal(new Set(webs.map((w) => w.ips[0])).size, 3, 'three addresses from A’s CNI half');
    prober = await runTask(h4, path, 'probe');

    await waitFor(
      'the Docker network dcos',
      () => dockerd!.api('GET', '/networks/dcos'),
      undefined,
      {
        timeoutMs: 30_000,
      },
    );
    const id = await dockerd!.run('db', {
      Image: image,
      Cmd: [
        'sh',
        '-c',
        'mkdir -p /www && echo docker-db > /www/index.html && exec httpd -f -p 80 -h /www',
      ],
      Labels: { 'vnet.task': 'db', 'vnet.framework': 'marathon' },
      HostConfig: { NetworkMode: 'dcos' },
    });
    const c = (await dockerd!.api('GET', `/containers/${id}/json`)) as {
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
      State: { Pid: number };
    };
    dockerIp = c.NetworkSettings.Networks.dcos!.IPAddress;
    dockerPid = c.State.Pid;
    t.match(
      dockerIp,
      /^9\.0\.\d+\.(1[3-9][0-9]|2[0-5][0-9])$/,
      'the container is in B’s upper (Docker) half',
    );

    const ping = await inTask(webs[0]!, ['ping', '-c', '3', '-W', '2', dockerIp]);
    t.match(
      ping.stdout,
      /3 received/,
      `CNI task on A -> Docker container on B: ${ping.stdout.split('\n').at(-3)}`,
    );
    const back = await inDocker(['ping', '-c', '3', '-W', '2', webs[0]!.ips[0]!]);
    t.match(back.stdout, /3 received/, 'and back');
    for (const [i, w] of webs.entries()) {
      const r = await inTask(prober, ['busybox', 'wget', '-qO-', `http://${w.ips[0]}/`]);
      t.equal(r.stdout.trim(), `web-${i + 1}`, `TCP from C to web-${i + 1} on port 80 of A`);
    }
    const db = await inTask(prober, ['busybox', 'wget', '-qO-', `http://${dockerIp}/`]);
    t.equal(db.stdout.trim(), 'docker-db', 'TCP from C to the Docker container on B');
    const fromDocker = await inDocker(['busybox', 'wget', '-qO-', `http://${webs[1]!.ips[0]}/`]);
    t.equal(fromDocker.stdout.trim(), 'web-2', 'TCP from the Docker container to a CNI task');
  },
);

t.test('a podman container on C reaches both', { skip: noPodman }, async (t) => {
  const cni = cniPaths(h4);
  podman = await Podman.start({
    netns: h4.ns,
    cniConfDir: cni.confDir,
    cniPluginDirs: path.split(':'),
  });
  const img = await podman.importBusybox();
  await podman.runOk([
    'run',
    '-d',
    '--name',
    'cache',
    '--network',
    'dcos',
    '--network-alias',
    'cache',
    img,
    'sleep',
    '1000000',
  ]);
  const pid = await podman.containerPid('cache');
  const inPodman = (argv: string[]) =>
    h4.exec(['nsenter', '-t', String(pid), '-n', ...argv], { timeoutMs: 20_000 });
  for (const target of [webs[0]!.ips[0]!, dockerIp]) {
    const r = await inPodman(['ping', '-c', '3', '-W', '2', target]);
    t.match(r.stdout, /3 received/, `podman container on C -> ${target}`);
  }
  const r = await inPodman(['busybox', 'wget', '-qO-', `http://${dockerIp}/`]);
  t.equal(r.stdout.trim(), 'docker-db');
  const resolv = await h4.exec(['nsenter', '-t', String(pid), '-m', 'cat', '/etc/resolv.conf']);
  t.match(resolv.stdout, `nameserver ${await mesosGateway(h4)}`, "its resolver is C's navstar");
});

t.test('DNS from a container on C: every kind of name, a launch and a stop', async (t) => {
  const ns = await mesosGateway(h4);
  const ask = (name: string) => dig((argv) => inTask(prober, argv), ns, name);
  const want = async (name: string, ok: (r: { status: string; a: string[] }) => boolean) =>
    waitFor(`${name} at ${ns}`, () => ask(name), ok, { timeoutMs: 15_000, intervalMs: 50 });

  const webIps = webs.map((w) => w.ips[0]!).sort();
  t.same(
    (await want('web.marathon.containerip.dcos', (r) => r.a.length === 3)).a,
    webIps,
    'containerip: every instance',
  );
  t.same(
    (await ask('web.marathon.containerip.dcos.thisdcos.directory')).a,
    webIps,
    'the long zone too',
  );
  t.same((await ask('web.marathon.agentip.dcos')).a, [h2.ip], 'agentip: their node');
  t.same(
    (await want('db.marathon.containerip.dcos', (r) => r.a.length === 1)).a,
    [dockerIp],
    'a Docker container by its label',
  );
  t.same((await ask('db.marathon.agentip.dcos')).a, [h3.ip]);
  if (!noPodman)
    t.same(
      (await want('cache.vnet.containerip.dcos', (r) => r.a.length === 1)).status,
      'NOERROR',
      'the podman container by its alias',
    );
  t.same((await ask('master.dcos')).a, [h1.ip], 'master.dcos');
  t.same((await want('leader.dcos', (r) => r.a.length === 1)).a, [h1.ip], 'leader.dcos');
  t.same((await ask('www.example.test')).a, ['192.0.2.80'], 'an outside name goes to the upstream');
  t.equal((await ask('nothing.marathon.containerip.dcos')).status, 'NXDOMAIN');

  // autoip: the node for a task with a host port, the container otherwise.
  const launched = Date.now();
  const api = await runTask(h2, path, 'api', { ports: ['80:18080'], cmd: httpd(h2, 'api') });
  const ran = Date.now();
  await want('api.marathon.containerip.dcos', (r) => r.a.length === 1);
  t.comment(
    `a new task resolved on another node ${Date.now() - ran} ms after \`vnet task run\` returned (the run took ${ran - launched} ms)`,
  );
  t.same(
    (await ask('api.marathon.autoip.dcos')).a,
    [h2.ip],
    'autoip: the node when a host port is mapped',
  );
  t.same((await ask('web.marathon.autoip.dcos')).a, webIps, 'else the containers');
  const viaPort = await inTask(prober, ['busybox', 'wget', '-qO-', `http://${h2.ip}:18080/`]);
  t.equal(viaPort.stdout.trim(), 'api', "the host port reaches it through A's address");

  const fromDocker = await dig(inDocker, '127.0.0.11', 'web.marathon.containerip.dcos');
  t.same(fromDocker.a, webIps, "a Docker container resolves them through Docker's embedded DNS");

  const stopped = Date.now();
  await stopTask(webs.pop()!);
  await want('web.marathon.containerip.dcos', (r) => r.a.length === 2);
  t.comment(`a stopped task left DNS ${Date.now() - stopped} ms after \`vnet task stop\` began`);
  await stopTask(api);
  t.equal(
    (await want('api.marathon.containerip.dcos', (r) => r.status === 'NXDOMAIN')).status,
    'NXDOMAIN',
  );
});

t.test("a node's full CNI half: a named error, the metric, the master's view", async (t) => {
  const tiny: Task[] = [];
  for (let i = 0; i < 5; i++) tiny.push(await runTask(h2, path, `t${i}`, { network: 'tiny' }));
  const full = await h2.exec(taskRunArgv(h2, path, 't5', { network: 'tiny' }));
  t.not(full.code, 0, 'the sixth launch fails');
  t.match(
    full.stderr,
    new RegExp(`overlay tiny has no free address left on node ${h2.ip.replace(/\./g, '\\.')}`),
  );
  const metrics = await oc.agents.get(h2.name)!.http('/metrics');
  t.match(
    metrics.body,
    /vnet_agent_cni_exhausted_total\{overlay="tiny"\} 1/,
    'counted by the agent',
  );
  t.match(metrics.body, /vnet_agent_cni_addresses\{overlay="tiny",state="free"\} 0/);
  const view = await waitFor(
    "the master's view of A's tiny half",
    async () =>
      (await oc.masters[0]!.http('/overlay-master/overlays/tiny')).json<{
        agents: { ip: string; addresses?: { mesos?: { used: number; free: number } } }[];
      }>(),
    (v) => v.agents.find((a) => a.ip === h2.ip)?.addresses?.mesos?.free === 0,
    { timeoutMs: 30_000 },
  );
  t.match(
    view.agents.find((a) => a.ip === h2.ip),
    { addresses: { mesos: { used: 5, free: 0 } } },
    'the master shows it full',
  );
  for (const x of tiny) await stopTask(x);
});

t.test('an agent restarted while its tasks run keeps them; a dead node is withdrawn', async (t) => {
  const ns = await mesosGateway(h4);
  const ask = (name: string) => dig((argv) => inTask(prober, argv), ns, name);
  const agentA = oc.agents.get(h2.name)!;
  const before = (await agentA.http('/health')).json<{ tasks: number }>().tasks;
  await agentA.restart();
  await agentA.ready({ timeoutMs: 60_000 });
  t.equal(
    (await agentA.http('/health')).json<{ tasks: number }>().tasks,
    before,
    'the same tasks after the restart',
  );
  t.same(
    (await ask('web.marathon.containerip.dcos')).a.length,
    2,
    'and DNS kept answering for them',
  );

  const killed = Date.now();
  oc.agents.get(h3.name)!.kill('SIGKILL');
  await waitFor(
    'B’s container withdrawn',
    () => ask('db.marathon.containerip.dcos'),
    (r) => r.status === 'NXDOMAIN',
    {
      timeoutMs: 60_000,
      intervalMs: 200,
    },
  );
  t.comment(
    `a dead node's tasks left DNS ${Date.now() - killed} ms after its agent was killed (grace 3 s)`,
  );
  t.same((await ask('web.marathon.containerip.dcos')).a.length, 2, "the others' stay");
});
