// The Docker integration against a real dockerd (root): Debian's docker.io inside a fresh
// network namespace (testkit's Dockerd, iptables off, live-restore on), a busybox image imported
// through the API. The integration runs in this process and speaks to dockerd's unix socket;
// every address and bridge lives in the namespace. Checked: the networks (subnet, gateway,
// bridge, MTU, masquerade off, IPv6 half), a container's task (labels, ports, upper-half
// address) and its removal, a network changed behind the agent's back taken over with its
// container reconnected, dockerd killed and restarted (resync: no duplicate, a container that
// died meanwhile dropped), and an overlay no longer desired removed.
import { Dockerd, ipJsonSync, netns, requireRoot } from '@vnet/testkit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { startDockerIntegration } from '../../src/docker/integration.js';
import { commandRunner } from '../../src/docker/isolation.js';
import { desiredDocker } from '../../src/docker/networks.js';
import { allocation, DCOS, DUAL, MemorySink, until } from '../helpers/docker-fixtures.js';

requireRoot(t, 'network namespaces and dockerd');

interface NetworkJson {
  Id: string;
  Name: string;
  EnableIPv6: boolean;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
  Containers: Record<string, { IPv4Address: string }>;
}

t.test('docker networks and tasks', async (t) => {
  const ns = netns(t, 'vdk', 'host');
  const docker = await Dockerd.start({ netns: ns, liveRestore: true });
  t.teardown(() => docker.stop());
  const image = await docker.importBusybox();
  const sink = new MemorySink();
  const registry = new Registry();
  const integration = startDockerIntegration({
    dockerHost: docker.host,
    sink,
    log: pino({ level: process.env.VNET_LOG ?? 'silent' }),
    registry,
    commands: commandRunner(['nsenter', `--net=/var/run/netns/${ns}`]),
    backoff: { initialMs: 100, maxMs: 1000 },
    intervalMs: 2000,
  });
  t.teardown(() => integration.stop());
  integration.setNetworks(desiredDocker(allocation([DCOS, DUAL])));

  const network = (name: string) => docker.api('GET', `/networks/${name}`) as Promise<NetworkJson>;
  const fixes = async (action: string) =>
    (await registry.getSingleMetric('vnet_agent_docker_network_fixes_total')!.get()).values.find(
      (v) => v.labels.action === action,
    )?.value ?? 0;

  await t.test('networks created on the Docker halves', async (t) => {
    const dcos = await until('network dcos', () => network('dcos'));
    t.same(dcos.IPAM.Config, [{ Subnet: '9.0.1.128/25', Gateway: '9.0.1.129' }]);
    t.same(dcos.Options, {
      'com.docker.network.bridge.enable_ip_masquerade': 'false',
      'com.docker.network.bridge.name': 'd-dcos',
      'com.docker.network.driver.mtu': '1420',
    });
    t.same(dcos.Labels, { 'vnet.overlay': 'dcos' });
    t.equal(dcos.EnableIPv6, false);
    const dual = await until('network dual', () => network('dual'));
    t.equal(dual.EnableIPv6, true);
    t.same(dual.IPAM.Config, [
      { Subnet: '10.1.2.128/25', Gateway: '10.1.2.129' },
      { Subnet: 'fd01:b::1:8000:0:0/81', Gateway: 'fd01:b::1:8000:0:1' },
    ]);
    // The bridge exists in dockerd's namespace with the overlay's MTU once a container is on it.
    await until(
      'status ok',
      () => integration.status().networks.every((n) => n.ok) && integration.status().reconciles > 0,
    );
    t.same(
      integration.status().networks.map((n) => n.name),
      ['dcos', 'dual'],
    );
    t.equal(await fixes('create'), 2);
  });

  let webId = '';
  await t.test('a container on the overlay is a task; stopped, it is gone', async (t) => {
    webId = await docker.run('web', {
      Image: image,
      Cmd: ['sleep', '3600'],
      Labels: { 'vnet.task': 'web', 'vnet.framework': 'marathon', 'vnet.ports': 'http=80' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      HostConfig: { NetworkMode: 'dcos', PortBindings: { '80/tcp': [{ HostPort: '8080' }] } },
    });
    const id = `docker-${webId.slice(0, 12)}`;
    const task = await until('the web task', () => sink.tasks.get(id));
    t.same(task, {
      id,
      name: 'web',
      framework: 'marathon',
      network: 'dcos',
      containerIps: ['9.0.1.130'],
      ports: [
        { protocol: 'udp', containerPort: 53 },
        { name: 'http', protocol: 'tcp', containerPort: 80, hostPort: 8080 },
      ],
      runtime: 'docker',
    });
    const [bridge] = ipJsonSync<{ mtu: number }[]>(ns, 'link', 'show', 'd-dcos');
    t.equal(bridge?.mtu, 1420, 'd-dcos has the overlay MTU');

    const dualId = await docker.run('plain', {
      Image: image,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'dual' },
    });
    const plain = await until('the dual task', () =>
      sink.tasks.get(`docker-${dualId.slice(0, 12)}`),
    );
    t.equal(plain.name, 'plain', 'no label: the container name');
    t.equal(plain.framework, 'docker');
    t.same(plain.containerIps, ['10.1.2.130', 'fd01:b::1:8000:0:2']);
    const other = await docker.run('off-overlay', {
      Image: image,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'none' },
    });
    t.ok(other);

    await docker.api('POST', `/containers/${dualId}/stop?t=0`);
    await until('the dual task removed', () => !sink.tasks.has(`docker-${dualId.slice(0, 12)}`));
    t.same(
      [...sink.tasks.keys()],
      [id],
      'only web remains; no task for a container off the overlays',
    );
  });

  await t.test('a network changed behind the agent is taken over', async (t) => {
    // Someone disconnects web, replaces the network with one of another subnet (not vnet's) and
    // reconnects web to it. vnet may already be re-creating its own in between: then again.
    const replace = async () => {
      await docker
        .api('POST', '/networks/dcos/disconnect', { Container: webId, Force: true })
        .catch(() => {});
      await docker.api('DELETE', '/networks/dcos').catch(() => {});
      await docker.api('POST', '/networks/create', {
        Name: 'dcos',
        Driver: 'bridge',
        CheckDuplicate: true,
        IPAM: { Config: [{ Subnet: '192.168.77.0/24' }] },
      });
      await docker.api('POST', '/networks/dcos/connect', { Container: webId });
    };
    await until('the network replaced by someone', async () => {
      await replace();
      return true;
    });
    const fixed = await until('vnet re-created dcos with web on it', async () => {
      const n = await network('dcos');
      const ep = n.Containers[webId];
      return n.Labels['vnet.overlay'] === 'dcos' && ep?.IPv4Address.startsWith('9.0.1.') && n;
    });
    t.same(fixed.IPAM.Config, [{ Subnet: '9.0.1.128/25', Gateway: '9.0.1.129' }]);
    t.equal(fixed.Options['com.docker.network.bridge.name'], 'd-dcos');
    const task = await until('the web task on the new network', () => {
      const v = sink.tasks.get(`docker-${webId.slice(0, 12)}`);
      return v?.containerIps[0]?.startsWith('9.0.1.') && v;
    });
    t.match(task.containerIps[0], /^9\.0\.1\.(1[3-9]\d|2\d\d)$/, 'an address of the upper half');
    t.ok((await fixes('takeover')) >= 1, 'counted as a takeover');
  });

  await t.test('dockerd killed and restarted: resync, no duplicates', async (t) => {
    const doomed = await docker.run('doomed', {
      Image: image,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'dcos' },
    });
    const doomedTask = `docker-${doomed.slice(0, 12)}`;
    await until('the doomed task', () => sink.tasks.has(doomedTask));
    const doomedPid = await docker.containerPid(doomed);
    const reconciles = integration.status().reconciles;
    await docker.kill();
    await until('disconnected', () => !integration.status().connected);
    // While dockerd is down, a container dies (its process killed): nobody tells the agent.
    process.kill(doomedPid, 'SIGKILL');
    sink.calls.length = 0;
    await docker.restart();
    await until('reconnected', () => integration.status().connected);
    await until('doomed dropped by the resync', () => !sink.tasks.has(doomedTask));
    await until('networks reconciled again', () => integration.status().reconciles > reconciles);
    const webTask = `docker-${webId.slice(0, 12)}`;
    t.same([...sink.tasks.keys()], [webTask], 'web (live-restored) stays, once');
    t.ok(
      sink.calls.some((c) => c.startsWith('replace docker')),
      `a resync replaced the set (${sink.calls.join('; ')})`,
    );
  });

  await t.test('an overlay no longer desired: its network goes', async (t) => {
    integration.setNetworks(desiredDocker(allocation([DUAL])));
    await until('dcos removed', async () => {
      try {
        await network('dcos');
        return false;
      } catch {
        return true;
      }
    });
    await until('web task removed', () => sink.tasks.size === 0);
    t.ok(await network('dual'), 'dual stays');
    t.equal(
      await until('the removal counted', async () => (await fixes('remove')) || undefined),
      1,
    );
  });
});
