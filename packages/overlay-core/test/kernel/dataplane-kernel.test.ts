// diff() against a real kernel (root): in a fresh namespace with an underlay veth, the operations
// go through netlink-ffi's batch (links first, then the sysctls, then the rest, as the adapter
// must), the kernel is dumped the way the adapter dumps it, and a second diff must be empty after
// every change — which checks the diff's reading of the kernel's own objects and noise (connected
// and local-table routes, link-local addresses, the default rules), not only the model's.
import { execFileSync } from 'node:child_process';
import { Netlink, type Operation } from '@vnet/netlink-ffi';
import { ipSync, netns, netnsArgv, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { desiredState } from '../../src/dataplane/desired.js';
import { diff } from '../../src/dataplane/diff.js';
import type { DesiredState, KernelState } from '../../src/dataplane/types.js';
import { agent, record, remote, remoteJson } from '../helpers/dataplane-fixtures.js';

requireRoot(t, 'network namespaces');

async function dump(nl: Netlink): Promise<KernelState> {
  const links = await nl.links.list();
  const vtep = links.some((l) => l.name === 'vtep1024');
  return {
    links,
    addresses: await nl.addresses.list(),
    neighbours: vtep ? await nl.neighbours.list({ dev: 'vtep1024' }) : [],
    fdb: vtep ? await nl.fdb.list({ dev: 'vtep1024' }) : [],
    nexthops: await nl.nexthops.list(),
    routes: await nl.routes.list({ table: 0 }),
    rules: await nl.rules.list(),
  };
}

t.test('diff against the kernel: applied, then a fixed point', async (t) => {
  const ns = netns(t, 'vdp', 'kernel');
  ipSync(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ipSync(ns, 'link', 'set', 'eth0', 'up');
  ipSync(ns, 'link', 'set', 'eth0p', 'up');
  ipSync(ns, 'addr', 'add', '192.168.0.1/24', 'dev', 'eth0');
  // Someone else's route and rule, which must survive everything below.
  ipSync(ns, 'route', 'add', '172.16.0.0/16', 'via', '192.168.0.254', 'proto', 'static');
  ipSync(ns, 'rule', 'add', 'from', '172.16.0.0/16', 'lookup', '100', 'pref', '100');
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());

  const step = async (label: string, d: DesiredState, prune = true): Promise<Operation[]> => {
    const ops = diff(d, await dump(nl), { prune });
    const links = ops.filter((o) => o.kind === 'link');
    const rest = ops.filter((o) => o.kind !== 'link');
    const results = await nl.batch(links);
    for (const s of d.sysctls) {
      const [cmd, ...args] = netnsArgv(ns, ['sysctl', '-qw', `${s.key}=${s.value}`]);
      execFileSync(cmd!, args);
    }
    results.push(...(await nl.batch(rest)));
    const failed = results.flatMap((r, i) => (r.ok ? [] : [`${i}: ${r.error.message}`]));
    t.same(failed, [], `${label}: every operation succeeds`);
    t.same(diff(d, await dump(nl), { prune }), [], `${label}: a second diff is empty`);
    return ops;
  };

  const peers = [2, 3].map((n) => remote(n, { dual: true }));
  await step('first run', desiredState(agent(1, { dual: true }), peers));
  t.same(await step('unchanged', desiredState(agent(1, { dual: true }), peers)), []);
  peers[0] = record({ ...remoteJson(2, { dual: true }), vtepIp6: 'fd01:a::99' });
  const moved = await step('VTEP IPv6 moved', desiredState(agent(1, { dual: true }), peers), false);
  t.same(
    moved.map((o) => `${o.action} ${o.kind}`),
    ['replace neighbour', 'replace nexthop'],
  );
  const local = agent(1, { dual: true });
  local.vtep = { ...local.vtep, mac: '70:b3:d5:80:00:42' };
  await step('new VTEP MAC', desiredState(local, peers));
  await step('peer removed, MTU', desiredState(local, [peers[1]!], { vtepMtu: 1400 }));
  await step('overlays removed', desiredState({ ...local, overlays: [] }, [peers[1]!]));
  t.match(ipSync(ns, 'route', 'show', '172.16.0.0/16'), /via 192\.168\.0\.254/);
  t.match(ipSync(ns, 'rule'), /100:\s+from 172\.16\.0\.0\/16 lookup 100/);
  t.match(
    ipSync(ns, 'nexthop'),
    /id 100000003 via 44\.128\.0\.3 dev vtep1024 scope link proto 210 onlink/,
  );
});
