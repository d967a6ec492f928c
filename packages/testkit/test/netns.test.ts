import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  addNetns,
  bridgeJsonSync,
  deleteNetns,
  type IpObject,
  ipJson,
  ipJsonSync,
  ipSync,
  listNetns,
  netns,
  netnsArgv,
  netnsOwner,
  requireRoot,
  runOk,
  sweepDeadNetns,
} from '../src/index.js';

requireRoot(t, 'network namespaces');

const PREFIX = 'tkt';
const FAILS = fileURLToPath(new URL('./fixtures/netns-fails.js', import.meta.url));

t.test('a namespace named for this process, deleted at the end of its test', async (t) => {
  let name = '';
  await t.test('makes one', async (t) => {
    name = netns(t, PREFIX, 'a');
    t.match(name, new RegExp(`^${PREFIX}${process.pid}-a\\d+$`));
    t.ok(listNetns().includes(name), 'it is mounted');
    t.equal(netnsOwner(PREFIX, name), process.pid, 'its name says whose it is');
  });
  t.notOk(listNetns().includes(name), 'gone after the test');
  t.equal(netnsOwner('vc', name), undefined, 'not a name of another prefix');
});

t.test('deleted when the test fails too', async (t) => {
  const r = spawnSync(process.execPath, [FAILS], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  const made = /# made (\S+)/.exec(r.stdout)?.[1];
  t.ok(made, `the failing test made ${made}`);
  t.match(r.stdout, /not ok 1 - fails/, 'and failed');
  t.notOk(listNetns().includes(made!), 'its namespace is gone');
});

t.test('the sweep deletes the namespaces of dead processes only', async (t) => {
  const dead = spawnSync('true').pid!;
  const names = [
    `${PREFIX}${dead}-x`,
    `${PREFIX}${process.ppid}-live`,
    `${PREFIX}${process.pid}-own`,
  ];
  await addNetns(names);
  t.teardown(() => deleteNetns(names));
  t.same(sweepDeadNetns(PREFIX), [names[0]], "a dead pid's");
  t.same(
    listNetns()
      .filter((n) => names.includes(n))
      .sort(),
    [names[1], names[2]].sort(),
    "a live process's and its own are left",
  );
  t.same(sweepDeadNetns(PREFIX, { includeOwn: true }), [names[2]], 'its own, when asked');
});

t.test('commands inside, and iproute2 JSON', async (t) => {
  const ns = netns(t, PREFIX);
  ipSync(ns, 'link', 'add', 'br0', 'type', 'bridge');
  const names = (links: IpObject[]) => links.map((l) => l['ifname']).sort();
  t.same(names(ipJsonSync(ns, 'link')), ['br0', 'lo']);
  t.same(names(await ipJson(ns, 'link')), ['br0', 'lo']);
  t.same(ipJsonSync(ns, 'route'), [], 'empty output is an empty list');
  t.ok(Array.isArray(bridgeJsonSync(ns, 'fdb', 'show', 'br', 'br0')));
  for (const via of ['nsenter', 'ip-netns-exec'] as const) {
    const out = (await runOk(netnsArgv(ns, ['ip', '-j', 'link'], via))).stdout;
    t.same(names(JSON.parse(out) as IpObject[]), ['br0', 'lo'], `entered with ${via}`);
  }
  t.throws(() => ipSync(ns, 'link', 'show', 'dev', 'nope'), /ip -n \S+ link show dev nope exited/);
});
