// The underlay: a switch namespace, hosts and the outside host, and nothing left behind.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Cluster, listOurNamespaces, processesIn, waitFor } from '../src/index.js';
import { mountsWith, rootLinks } from './helpers/root.js';

requireRoot(t, 'network namespaces');

t.test(
  '3 hosts and the outside host ping each other; the root namespace gains no link',
  async (t) => {
    const before = rootLinks();
    const c = await Cluster.create({ hosts: 3, t });
    t.comment(`built ${c.prefix} in ${c.buildMs.toFixed(0)} ms`);
    t.same(
      c.namespaces.sort(),
      ['h1', 'h2', 'h3', 'out', 'sw'].map((n) => `${c.prefix}-${n}`).sort(),
      'one namespace per host, the outside host and the switch',
    );
    t.same(
      c.underlayHosts.map((h) => h.ip),
      ['10.88.0.1', '10.88.0.2', '10.88.0.3', '10.88.0.254'],
      'underlay addresses: host i is .i, the outside host the last',
    );
    const from = [c.host('h1'), c.host('h3'), c.outside!];
    const results = await Promise.all(
      from.flatMap((a) =>
        c.underlayHosts
          .filter((b) => b !== a)
          .map(async (b) => ({ a, b, r: await a.ping(b.ip, { count: 1 }) })),
      ),
    );
    for (const { a, b, r } of results) t.equal(r.received, 1, `${a.name} -> ${b.name} (${b.ip})`);

    const [eth0] = await c
      .host(2)
      .addresses()
      .then((ls) => ls.filter((l) => l.ifname === 'eth0'));
    t.equal(eth0?.mtu, 1500, 'default underlay MTU');
    t.ok(eth0?.flags.includes('UP'), 'eth0 up');
    const lo = (await c.host(2).links()).find((l) => l.ifname === 'lo');
    t.ok(lo?.flags.includes('UP'), 'loopback up');
    const ports = (await c.switch.links()).filter((l) => l.master === 'br0').map((l) => l.ifname);
    t.same(ports.sort(), ['h1', 'h2', 'h3', 'out'], 'switch ports named after the hosts, on br0');
    const dir = await c.dumpState();
    t.match(
      readFileSync(join(dir, 'h2.txt'), 'utf8'),
      /^# h2 \(vc\d+-\d+-h2\)\n### ip -d link\n[\s\S]*inet 10\.88\.0\.2\/24/,
      'dumpState() writes what each namespace holds',
    );
    t.same(rootLinks(), before, 'the root namespace has the same links as before');
  },
);

t.test('destroy removes every namespace, mount and process', async (t) => {
  const before = rootLinks();
  const c = await Cluster.create({ hosts: 3 });
  const procs = c.hosts.map((h) => h.spawn(['sleep', '300']));
  const inodes = new Map(c.namespaces.map((n) => [statSync(`/var/run/netns/${n}`).ino, n]));
  // nsenter enters the namespace just after it starts: wait for that.
  await waitFor(
    '3 processes inside',
    () => processesIn(inodes).length,
    (n) => n === 3,
  );
  t.pass('three processes inside before destroy');
  await c.destroy();
  t.same(
    listOurNamespaces().filter((n) => n.startsWith(`${c.prefix}-`)),
    [],
    'no namespace left',
  );
  t.same(mountsWith(c.prefix), [], 'no namespace mount left');
  t.same(
    processesIn(inodes),
    [],
    'no process is inside any of its namespaces (so the kernel frees them and their links)',
  );
  t.ok(
    procs.every((p) => !p.running),
    'every process it started has exited',
  );
  t.notOk(existsSync(c.runDir), 'the run dir of a passing cluster is removed');
  t.same(rootLinks(), before, 'the root namespace has the same links as before');
  await c.destroy();
  t.pass('destroy is idempotent');
});

t.test('IPv6 underlay, jumbo MTU, partition of one host', async (t) => {
  const c = await Cluster.create({
    hosts: 2,
    outside: false,
    underlay: { subnet: '192.168.77.0/24', mtu: 9000, ipv6: true },
    t,
  });
  const [h1, h2] = c.hosts as [(typeof c.hosts)[0], (typeof c.hosts)[0]];
  t.equal(c.outside, undefined, 'no outside host when asked');
  t.equal(h2.ip, '192.168.77.2');
  t.equal(h2.ip6, 'fd88::2');
  t.equal((await h1.ping(h2.ip6!, { count: 1 })).received, 1, 'ping over IPv6');
  const big = await h1.ping(h2.ip, { count: 1, size: 8972, dontFragment: true });
  t.equal(big.received, 1, 'a 9000-byte packet with DF crosses the underlay');
  await h2.setUnderlayMtu(1500);
  const tooBig = await h2.ping(h1.ip, { count: 1, size: 1473, dontFragment: true });
  t.equal(
    tooBig.received,
    0,
    'after setUnderlayMtu(1500) a 1501-byte packet with DF does not leave',
  );
  t.equal(tooBig.mtu, 1500, 'and ping reports the MTU');
  await h2.disconnect();
  t.equal((await h1.ping(h2.ip, { count: 1, waitS: 0.3 })).received, 0, 'disconnected: no reply');
  await h2.reconnect();
  t.equal((await h1.ping(h2.ip, { count: 1 })).received, 1, 'reconnected: replies again');
});

t.test('sysctls are set in the hosts', async (t) => {
  const c = await Cluster.create({ hosts: 2, sysctls: { 'net.ipv4.ip_forward': 1 }, t });
  t.equal(await c.host(1).sysctl('net.ipv4.ip_forward'), '1', 'ip_forward set in h1');
  t.equal(
    await c.outside!.sysctl('net.ipv4.ip_forward'),
    '0',
    'the outside host is left as the kernel makes it',
  );
  t.equal(await c.host(2).sysctl('net.ipv4.ip_forward', 0), '0', 'sysctl() writes too');
});
