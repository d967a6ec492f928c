// Docker's iptables against overlay traffic (root): dockerd WITH iptables in a host namespace
// (FORWARD policy DROP, DOCKER-ISOLATION-*, br_netfilter), the `d-dcos` network vnet creates, an
// `m-dcos` bridge with the Mesos half's gateway and two namespaces on it (CNI containers), and a
// routed peer namespace standing in for the path through vtep1024. Without vnet's VNET-DOCKER
// chain (its jump deleted), Docker drops new traffic into the container and everything the `m-`
// side forwards; with it, every path passes; dockerd restarted, the rules are still applied.
import { execFileSync } from 'node:child_process';
import { Dockerd, ipSync, netns, requireRoot, run } from '@vnet/testkit';
import { pino } from 'pino';
import t from 'tap';
import { startDockerIntegration } from '../../src/docker/integration.js';
import { commandRunner, VNET_DOCKER_CHAIN } from '../../src/docker/isolation.js';
import { desiredDocker } from '../../src/docker/networks.js';
import { allocation, DCOS, MemorySink, until } from '../helpers/docker-fixtures.js';

requireRoot(t, 'network namespaces and dockerd');

/** `ping` from inside a namespace (by name, or a container's by pid); true when answered. */
async function pings(from: { ns: string } | { pid: number }, to: string): Promise<boolean> {
  const enter =
    'ns' in from ? ['ip', 'netns', 'exec', from.ns] : ['nsenter', '-t', String(from.pid), '-n'];
  const r = await run([...enter, 'ping', '-c', '1', '-W', '1', to]);
  return r.code === 0;
}

t.test("overlay traffic passes Docker's iptables", async (t) => {
  const host = netns(t, 'vdk', 'iptables');
  const docker = await Dockerd.start({ netns: host, iptables: true, liveRestore: true });
  t.teardown(() => docker.stop());
  const image = await docker.importBusybox();
  const iptables = (...args: string[]) =>
    execFileSync('nsenter', [`--net=/var/run/netns/${host}`, 'iptables', '-w', ...args], {
      encoding: 'utf8',
    });

  // The Mesos side as the agent and the CNI bridge plugin make it: m-dcos with the lower half's
  // gateway, two container namespaces on it; a peer network routed out of another interface.
  ipSync(host, 'link', 'add', 'm-dcos', 'type', 'bridge');
  ipSync(host, 'addr', 'add', '9.0.1.1/25', 'dev', 'm-dcos');
  ipSync(host, 'link', 'set', 'm-dcos', 'mtu', '1420', 'up');
  const cni = [netns(t, 'vdk', 'c'), netns(t, 'vdk', 'c')];
  cni.forEach((ns, i) => {
    ipSync(host, 'link', 'add', `veth${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ipSync(host, 'link', 'set', `veth${i}`, 'master', 'm-dcos', 'up');
    ipSync(ns, 'addr', 'add', `9.0.1.${i + 2}/25`, 'dev', 'eth0');
    ipSync(ns, 'link', 'set', 'eth0', 'up');
    ipSync(ns, 'route', 'add', 'default', 'via', '9.0.1.1');
  });
  const peer = netns(t, 'vdk', 'peer');
  ipSync(host, 'link', 'add', 'vtepx', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer);
  ipSync(host, 'addr', 'add', '9.0.2.254/24', 'dev', 'vtepx');
  ipSync(host, 'link', 'set', 'vtepx', 'up');
  ipSync(peer, 'addr', 'add', '9.0.2.1/24', 'dev', 'eth0');
  ipSync(peer, 'link', 'set', 'eth0', 'up');
  ipSync(peer, 'route', 'add', 'default', 'via', '9.0.2.254');

  const integration = startDockerIntegration({
    dockerHost: docker.host,
    sink: new MemorySink(),
    log: pino({ level: process.env.VNET_LOG ?? 'silent' }),
    commands: commandRunner(['nsenter', `--net=/var/run/netns/${host}`]),
    backoff: { initialMs: 100, maxMs: 1000 },
    intervalMs: 1000,
  });
  t.teardown(() => integration.stop());
  integration.setNetworks(desiredDocker(allocation([DCOS])));
  await until('isolation applied', () => integration.status().isolation.ipv4 === 'applied');
  t.match(iptables('-S', 'FORWARD'), /-P FORWARD DROP/, 'dockerd set the FORWARD policy to DROP');
  t.match(iptables('-S', 'DOCKER-USER'), /-A DOCKER-USER -j VNET-DOCKER\n/);
  t.same(iptables('-S', VNET_DOCKER_CHAIN).trim().split('\n'), [
    '-N VNET-DOCKER',
    '-A VNET-DOCKER -s 9.0.0.0/8 -m comment --comment "vnet overlay" -j ACCEPT',
    '-A VNET-DOCKER -d 9.0.0.0/8 -m comment --comment "vnet overlay" -j ACCEPT',
  ]);

  const id = await docker.run('web', {
    Image: image,
    Cmd: ['sleep', '3600'],
    HostConfig: { NetworkMode: 'dcos' },
  });
  const pid = await docker.containerPid(id);
  const c = { ns: cni[0]! };
  const paths: [string, () => Promise<boolean>][] = [
    ['docker container -> m- namespace', () => pings({ pid }, '9.0.1.2')],
    ['m- namespace -> docker container', () => pings(c, '9.0.1.130')],
    ['m- namespace -> m- namespace (bridged)', () => pings(c, '9.0.1.3')],
    ['m- namespace -> peer (routed, as through vtep1024)', () => pings(c, '9.0.2.1')],
    ['docker container -> peer', () => pings({ pid }, '9.0.2.1')],
  ];
  const check = async () =>
    Object.fromEntries(await Promise.all(paths.map(async ([k, f]) => [k, await f()])));
  const all = Object.fromEntries(paths.map(([k]) => [k, true]));

  t.same(await check(), all, 'with VNET-DOCKER: every path passes');

  // Without vnet's jump, Docker's rules alone (what DC/OS's bypass did not cover).
  await integration.stop();
  iptables('-D', 'DOCKER-USER', '-j', VNET_DOCKER_CHAIN);
  t.same(
    await check(),
    {
      ...all,
      'm- namespace -> docker container': false,
      'm- namespace -> m- namespace (bridged)': false,
      'm- namespace -> peer (routed, as through vtep1024)': false,
    },
    'without it: Docker drops new traffic into d-, and all the m- side forwards',
  );

  // A new integration (an agent restart) and a dockerd restart: the rules come back.
  const again = startDockerIntegration({
    dockerHost: docker.host,
    sink: new MemorySink(),
    log: pino({ level: 'silent' }),
    commands: commandRunner(['nsenter', `--net=/var/run/netns/${host}`]),
    backoff: { initialMs: 100, maxMs: 1000 },
    intervalMs: 1000,
  });
  t.teardown(() => again.stop());
  again.setNetworks(desiredDocker(allocation([DCOS])));
  await until('re-applied', () => again.status().isolation.ipv4 === 'applied');
  t.same(await check(), all, 'the agent re-applied it');
  await docker.kill();
  iptables('-F', 'DOCKER-USER'); // as if the host's firewall had been reloaded meanwhile
  await docker.restart();
  await until('re-applied after dockerd restart', () =>
    /-A DOCKER-USER -j VNET-DOCKER\n/.test(iptables('-S', 'DOCKER-USER')),
  );
  t.same(await check(), all, 'after a dockerd restart too');
});
