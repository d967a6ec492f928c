// The CNI half of a node in a real kernel (root): inside a host namespace, the config lists vnet
// writes run through the real plugins (Debian's bridge, host-local, portmap and vnet's own) by
// `vnet task run`, with the agent's task socket and an in-memory TaskSink in this process.
// Every task namespace lives under the host namespace's processes only; nothing is attached to
// the root namespace, and traffic only flows between namespaces (commands run inside them).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, ipJson, listNetns, netns, netnsArgv, requireRoot, run, runOk } from '@vnet/testkit';
import t from 'tap';
import { readCniLeases, syncCniConfigs } from '../../src/cni/conf-dir.js';
import { cniConfigLists } from '../../src/cni/conflist.js';
import { type ExhaustedReport, startTaskSocket } from '../../src/cni/task-socket.js';
import { VNET } from '../helpers/configs.js';
import { share } from '../helpers/dataplane-fixtures.js';
import { MemorySink } from '../helpers/memory-sink.js';

requireRoot(t, 'network namespaces and the real CNI plugins');

const PLUGIN = fileURLToPath(new URL('../../../bin/vnet-cni.js', import.meta.url));

interface IpAddr {
  mtu: number;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

interface TaskJson {
  id: string;
  netns: string;
  ips: string[];
  ports: string[];
  pid: number;
  alive?: boolean;
}

t.test('vnet task run / check / stop through the real plugins', async (t) => {
  const host = netns(t, 'vcni', 'h');
  const dir = mkdtempSync(join(tmpdir(), 'vnet-cni-kernel-'));
  const [conf, bin, state, leases] = ['conf', 'bin', 'state', 'leases'].map((d) => join(dir, d));
  const socket = join(dir, 'tasks.sock');
  const vnet = (args: string[]) => run(netnsArgv(host, [process.execPath, VNET, ...args]));
  // Whatever a failed assertion leaves: every task of the state dir stopped, the dir removed.
  t.teardown(async () => {
    for (const f of existsSync(state) ? readdirSync(state) : []) {
      if (f.endsWith('.json')) await vnet(['task', 'stop', f.slice(0, -5), '--state-dir', state]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  await runOk([process.execPath, VNET, 'cni', 'install', '--bin-dir', bin]);
  const node = {
    ip: '10.0.0.1',
    overlayMtu: 1420,
    overlays: [
      share({ name: 'dcos', net4: '9.0.0.0/8', block4: '9.0.1.0/24' }),
      // A /28 block: its CNI half 10.9.0.0/29 holds 5 containers (.2-.6).
      share({ name: 'tiny', net4: '10.9.0.0/16', block4: '10.9.0.0/28' }),
    ],
  };
  await syncCniConfigs(
    conf,
    cniConfigLists(node, { agentSocket: socket, dataDir: leases, mtu: 1400, search: ['vnet'] }),
  );
  const sink = new MemorySink();
  const exhausted: ExhaustedReport[] = [];
  const server = await startTaskSocket({
    path: socket,
    sink,
    onExhausted: (r) => exhausted.push(r),
  });
  t.teardown(() => server.close());

  const common = [
    '--cni-conf-dir',
    conf,
    '--cni-path',
    `${bin}:/usr/lib/cni`,
    '--state-dir',
    state,
  ];
  const start = async (network: string, name: string, extra: string[] = []) => {
    const r = await vnet([
      'task',
      'run',
      '--network',
      network,
      '--name',
      name,
      ...extra,
      ...common,
      '--json',
      '--',
      'sleep',
      '300',
    ]);
    t.equal(r.code, 0, `task run ${name}: ${r.stderr}`);
    return JSON.parse(r.stdout) as TaskJson;
  };
  const vnetNetns = () =>
    listNetns()
      .filter((n) => /^vnet-[0-9a-f]{12}$/.test(n))
      .sort();
  // Namespaces `vnet task` made during this test (another runtime's may come and go meanwhile).
  const before = new Set(vnetNetns());
  const made = () => vnetNetns().filter((n) => !before.has(n));

  const web = await start('dcos', 'web', [
    '--framework',
    'marathon',
    '--port',
    '80:8080',
    '--port',
    '53:5353/udp',
  ]);
  t.same(web.ips, ['9.0.1.2/25'], 'the first address of the lower half');
  t.same(web.ports, ['80:8080', '53:5353/udp']);
  t.same(
    await readCniLeases(leases, 'dcos'),
    [{ ip: '9.0.1.2', containerId: web.id.slice(4), ifname: 'eth0' }],
    "host-local's lease, as the agent reads it",
  );
  const [eth0] = await ipJson<IpAddr[]>(web.netns, 'addr', 'show', 'dev', 'eth0');
  t.equal(eth0?.mtu, 1400, 'container MTU');
  t.same(
    eth0?.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    ['9.0.1.2/25'],
  );
  const routes = await ipJson(web.netns, 'route', 'show', 'default');
  t.same(
    routes.map((r) => r.gateway),
    ['9.0.1.1'],
    'default route via the gateway',
  );
  const [bridge] = await ipJson(host, 'addr', 'show', 'dev', 'm-dcos');
  t.match(
    bridge?.addr_info,
    [{ local: '9.0.1.1', prefixlen: 25 }],
    'gateway on m-dcos in the host',
  );
  await runOk(netnsArgv(web.netns, ['ping', '-c1', '-W2', '9.0.1.1']));
  t.same(sink.list(), [
    {
      id: web.id,
      name: 'web',
      framework: 'marathon',
      network: 'dcos',
      containerIps: ['9.0.1.2'],
      ports: [
        { protocol: 'tcp', containerPort: 80, hostPort: 8080 },
        { protocol: 'udp', containerPort: 53, hostPort: 5353 },
      ],
      runtime: 'cni',
      agentIp: '10.0.0.1',
    },
  ]);
  const nat = await runOk(netnsArgv(host, ['iptables', '-t', 'nat', '-S']));
  t.match(
    nat.stdout,
    /--dport 8080 -j DNAT --to-destination 9\.0\.1\.2:80/,
    'portmap DNAT for 8080 in the host namespace',
  );

  const list = JSON.parse(
    (
      await runOk(
        netnsArgv(host, [process.execPath, VNET, 'task', 'list', '--json', '--state-dir', state]),
      )
    ).stdout,
  ) as TaskJson[];
  t.match(list, [{ id: web.id, alive: true, ips: ['9.0.1.2/25'] }]);

  const stop = await vnet(['task', 'stop', web.id, '--state-dir', state]);
  t.equal(stop.code, 0, stop.stderr);
  t.notOk(existsSync(join(leases, 'dcos', '9.0.1.2')), 'lease released');
  t.same(sink.list(), [], 'the sink saw the task go');
  t.same(made(), [], 'its namespace is gone');
  t.same(readdirSync(state), [], 'its state and log are gone');
  t.notOk(alive(web.pid), 'its process is gone');

  // CHECK. (Not of `web`: portmap 1.1.1's CHECK wants IPv6 rules an IPv4-only container with
  // ports never gets, containernetworking/plugins#819.)
  const db = await start('dcos', 'db');
  t.equal(
    (await vnet(['task', 'check', db.id, '--state-dir', state])).code,
    0,
    'CHECK of a good task',
  );
  await runOk(['ip', '-n', db.netns, 'addr', 'flush', 'dev', 'eth0']);
  const broken = await vnet(['task', 'check', db.id, '--state-dir', state]);
  t.not(broken.code, 0, 'CHECK of a container without its address fails');
  t.match(
    broken.stderr,
    /CNI plugin bridge CHECK failed \(code \d+\)/,
    "with the first plugin's CNI error",
  );
  // vnet's own CHECK, as a runtime would run it, finds the same.
  const saved = JSON.parse(readFileSync(join(state, `${db.id.slice(4)}.json`), 'utf8'));
  const own = await run([process.execPath, PLUGIN], {
    env: {
      PATH: process.env.PATH,
      CNI_COMMAND: 'CHECK',
      CNI_CONTAINERID: db.id.slice(4),
      CNI_NETNS: `/var/run/netns/${db.netns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/lib/cni',
    },
    input: JSON.stringify({
      ...saved.confList.plugins[2],
      name: 'dcos',
      cniVersion: '1.0.0',
      prevResult: saved.result,
    }),
  });
  t.equal(own.code, 1);
  const dbIp = db.ips[0]!.split('/')[0]!;
  t.match(JSON.parse(own.stdout), {
    code: 101,
    msg: `interface eth0 in /var/run/netns/${db.netns} lacks ${dbIp}`,
  });
  t.equal((await vnet(['task', 'stop', db.id, '--state-dir', state])).code, 0);

  // Bad requests: a clear message, a non-zero exit, nothing left behind.
  const bad: [string[], RegExp][] = [
    [['--network', 'nope', '--name', 'x'], /no CNI network "nope" in .* \(found: dcos, tiny\)/],
    [['--network', 'dcos', '--name', 'x', '--port', '80'], /port "80" is not CONTAINER:HOST/],
    [['--network', 'dcos', '--name', 'x', '--port', '80:70000'], /port "80:70000"/],
  ];
  for (const [args, msg] of bad) {
    const r = await vnet(['task', 'run', ...args, ...common, '--', 'sleep', '1']);
    t.not(r.code, 0, args.join(' '));
    t.match(r.stderr, msg);
  }
  const noPlugin = await vnet([
    'task',
    'run',
    '--network',
    'dcos',
    '--name',
    'x',
    '--cni-conf-dir',
    conf,
    '--cni-path',
    '/usr/lib/cni',
    '--state-dir',
    state,
    '--',
    'sleep',
    '1',
  ]);
  t.not(noPlugin.code, 0);
  t.match(noPlugin.stderr, /CNI plugin "vnet" not found in \/usr\/lib\/cni/);
  const noCmd = await vnet([
    'task',
    'run',
    '--network',
    'dcos',
    '--name',
    'x',
    ...common,
    '--',
    '/no/such/cmd',
  ]);
  t.not(noCmd.code, 0);
  t.match(noCmd.stderr, /cannot run "\/no\/such\/cmd"/);
  t.same(made(), [], 'no namespace left by the failed runs');
  t.same(readdirSync(state), [], 'no state left');
  t.same(
    readdirSync(join(leases, 'dcos')).filter((f) => /^\d/.test(f)),
    [],
    'no lease left',
  );

  // Exhaustion of the lower half: host-local fails; the error names the overlay and the node.
  const tiny: TaskJson[] = [];
  for (let i = 0; i < 5; i++) tiny.push(await start('tiny', `t${i}`));
  t.same(
    tiny.map((x) => x.ips[0]),
    ['10.9.0.2/29', '10.9.0.3/29', '10.9.0.4/29', '10.9.0.5/29', '10.9.0.6/29'],
  );
  const full = await vnet([
    'task',
    'run',
    '--network',
    'tiny',
    '--name',
    'six',
    ...common,
    '--',
    'sleep',
    '1',
  ]);
  t.not(full.code, 0);
  t.match(
    full.stderr,
    /overlay tiny has no free address left on node 10\.0\.0\.1 \(its CNI half 10\.9\.0\.0\/29 is full\)/,
  );
  t.match(
    exhausted,
    [{ network: 'tiny', node: '10.0.0.1', error: /no free address/ }],
    'the agent was told',
  );
  t.same(made(), tiny.map((x) => x.netns).sort(), 'the failed run left no namespace');
  t.equal(sink.list().length, 5);
  for (const x of tiny) t.equal((await vnet(['task', 'stop', x.id, '--state-dir', state])).code, 0);
  t.same(sink.list(), []);
  t.same(made(), []);
});
