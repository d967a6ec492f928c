// The Docker integration's pure parts: the desired networks of an allocation, the plan against
// what dockerd lists (create, fix, take over, remove, never touch others), containers as tasks,
// the VNET-DOCKER chain and its application through a scripted command runner, --docker-host.
import t from 'tap';
import { parseDockerHost } from '../../src/docker/engine.js';
import {
  applyIsolationBypass,
  type CommandRunner,
  renderVnetDockerChain,
} from '../../src/docker/isolation.js';
import {
  createNetworkBody,
  type DockerNetwork,
  desiredDocker,
  networkDifferences,
  planNetworks,
  readNetwork,
} from '../../src/docker/networks.js';
import { containerTasks, dockerTaskId, portNames } from '../../src/docker/tasks.js';
import { allocation, DCOS, DUAL } from '../helpers/docker-fixtures.js';

const want = desiredDocker(allocation([DCOS, DUAL, { ...DCOS, name: 'off', enabled: false }]));
const [dcos, dual] = want.networks;

/** dockerd's listing of a network created from `createNetworkBody(spec)`. */
function listed(body: Record<string, unknown>, id: string): DockerNetwork {
  return readNetwork({ ...body, Id: id, Scope: 'local', Internal: false, Containers: {} })!;
}

t.test('desired: a network per enabled overlay on its Docker half', async (t) => {
  t.same(want, {
    networks: [
      {
        name: 'dcos',
        bridge: 'd-dcos',
        mtu: 1420,
        ipv4: { subnet: '9.0.1.128/25', gateway: '9.0.1.129' },
      },
      {
        name: 'dual',
        bridge: 'd-dual',
        mtu: 1420,
        ipv4: { subnet: '10.1.2.128/25', gateway: '10.1.2.129' },
        ipv6: { subnet: 'fd01:b::1:8000:0:0/81', gateway: 'fd01:b::1:8000:0:1' },
      },
    ],
    overlays4: ['9.0.0.0/8', '10.1.0.0/16'],
    overlays6: ['fd01:b::/64'],
  });
  t.same(desiredDocker(allocation([DCOS]), false).networks, [], 'no bridges (masters): none');
  t.same(
    desiredDocker(allocation([{ name: 'x', net4: '9.0.0.0/8' }])).networks,
    [],
    'no block: none',
  );
  t.same(createNetworkBody(dual!), {
    Name: 'dual',
    Driver: 'bridge',
    CheckDuplicate: true,
    EnableIPv6: true,
    Options: {
      'com.docker.network.bridge.name': 'd-dual',
      'com.docker.network.bridge.enable_ip_masquerade': 'false',
      'com.docker.network.driver.mtu': '1420',
    },
    IPAM: {
      Driver: 'default',
      Config: [
        { Subnet: '10.1.2.128/25', Gateway: '10.1.2.129' },
        { Subnet: 'fd01:b::1:8000:0:0/81', Gateway: 'fd01:b::1:8000:0:1' },
      ],
    },
    Labels: { 'vnet.overlay': 'dual' },
  });
});

t.test('plan: create, leave, fix, take over, remove', async (t) => {
  t.same(
    planNetworks(want.networks, []).map((a) => a.kind),
    ['create', 'create'],
  );
  const good = [listed(createNetworkBody(dcos!), 'a1'), listed(createNetworkBody(dual!), 'b1')];
  t.same(planNetworks(want.networks, good), [], 'as created: nothing to do');
  const bridge = readNetwork({ Id: 'z', Name: 'bridge', Driver: 'bridge', IPAM: { Config: [] } })!;
  t.same(planNetworks(want.networks, [...good, bridge]), [], "another's network is left alone");

  const moved = listed(
    createNetworkBody({ ...dcos!, ipv4: { subnet: '9.0.7.128/25', gateway: '9.0.7.129' } }),
    'a2',
  );
  const [fix] = planNetworks([dcos!], [moved]);
  t.match(fix, { kind: 'recreate', id: 'a2', foreign: false });
  t.same(fix?.kind === 'recreate' && fix.reasons, [
    'IPv4 9.0.7.128/25 gateway 9.0.7.129, not 9.0.1.128/25 gateway 9.0.1.129',
  ]);

  const foreign = readNetwork({
    Id: 'f',
    Name: 'dcos',
    Driver: 'bridge',
    IPAM: { Config: [{ Subnet: '192.168.77.0/24', Gateway: '192.168.77.1' }] },
    Options: {},
  })!;
  const [takeover] = planNetworks([dcos!], [foreign]);
  t.match(takeover, { kind: 'recreate', foreign: true });
  t.equal(takeover?.kind === 'recreate' && takeover.reasons.length, 5, 'subnet, 3 options, label');

  const mtu = listed(createNetworkBody({ ...dcos!, mtu: 1500 }), 'a3');
  t.same(networkDifferences(dcos!, mtu), ['option com.docker.network.driver.mtu=1500, not 1420']);
  const extra = listed(createNetworkBody(dcos!), 'a4');
  extra.options['com.docker.network.bridge.enable_icc'] = 'false';
  t.same(networkDifferences(dcos!, extra), [
    'option com.docker.network.bridge.enable_icc=false, not (unset)',
  ]);
  // An IPv6 half written another way is the same subnet.
  const v6 = listed(createNetworkBody(dual!), 'b2');
  v6.subnets[1] = { subnet: 'FD01:000B:0:0:1:8000::/81', gateway: 'fd01:b:0:0:1:8000:0:1' };
  t.same(networkDifferences(dual!, v6), []);

  t.same(
    planNetworks([dual!], good),
    [{ kind: 'remove', id: 'a1', name: 'dcos', reason: 'overlay not desired' }],
    "vnet's network of an overlay no longer desired goes",
  );
  t.same(
    planNetworks(
      [dcos!],
      [listed(createNetworkBody(dcos!), 'b'), listed(createNetworkBody(dcos!), 'a')],
    ),
    [{ kind: 'remove', id: 'b', name: 'dcos', reason: 'a second network of the name' }],
  );
  t.same(planNetworks([], []), []);
});

t.test('an IPv6-only overlay: Docker picks its IPv4 subnet', async (t) => {
  const [v6only] = desiredDocker(
    allocation([{ name: 'dcos6', net6: 'fd01:c::/64', block6: 'fd01:c::/80' }]),
  ).networks;
  const n = listed(createNetworkBody(v6only!), 'c');
  n.subnets.unshift({ subnet: '172.18.0.0/16', gateway: '172.18.0.1' });
  t.same(networkDifferences(v6only!, n), []);
});

function container(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Id: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    Names: ['/web-1'],
    State: 'running',
    Labels: {},
    Ports: [],
    NetworkSettings: {
      Networks: {
        dcos: { IPAddress: '9.0.1.130', GlobalIPv6Address: '' },
        bridge: { IPAddress: '172.17.0.2', GlobalIPv6Address: '' },
      },
    },
    ...over,
  };
}

t.test('containers as tasks', async (t) => {
  const nets = new Map(want.networks.map((s) => [s.name, s]));
  t.same(containerTasks(container(), nets), [
    {
      id: 'docker-0123456789ab',
      name: 'web-1',
      framework: 'docker',
      network: 'dcos',
      containerIps: ['9.0.1.130'],
      ports: [],
      runtime: 'docker',
    },
  ]);
  const labelled = containerTasks(
    container({
      Labels: {
        'vnet.task': 'web',
        'vnet.framework': 'marathon',
        'vnet.ports': 'http=80, dns=53/udp, bad',
      },
      Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 80, Type: 'tcp' },
        { PrivatePort: 53, Type: 'udp' },
        { PrivatePort: 9, Type: 'sctp' },
      ],
    }),
    nets,
  );
  t.match(labelled, [{ name: 'web', framework: 'marathon' }]);
  t.same(labelled[0]?.ports, [
    { name: 'dns', protocol: 'udp', containerPort: 53 },
    { name: 'http', protocol: 'tcp', containerPort: 80, hostPort: 8080 },
  ]);
  t.same(containerTasks(container({ State: 'exited' }), nets), [], 'not running: none');
  const both = containerTasks(
    container({
      NetworkSettings: {
        Networks: {
          dcos: { IPAddress: '9.0.1.131' },
          dual: { IPAddress: '10.1.2.130', GlobalIPv6Address: 'fd01:b::1:8000:0:2' },
        },
      },
    }),
    nets,
  );
  t.same(
    both.map((x) => [x.id, x.containerIps]),
    [
      ['docker-0123456789ab-dcos', ['9.0.1.131']],
      ['docker-0123456789ab-dual', ['10.1.2.130', 'fd01:b::1:8000:0:2']],
    ],
  );
  t.same(
    containerTasks(
      container({ NetworkSettings: { Networks: { dcos: { IPAddress: '192.168.77.2' } } } }),
      nets,
    ),
    [],
    'an address outside the half (network not fixed yet) is not published',
  );
  const problems: string[] = [];
  t.same(
    containerTasks(container({ Labels: { 'vnet.task': 'x'.repeat(300) } }), nets, (m) =>
      problems.push(m),
    ),
    [],
  );
  t.match(problems, [/container 0123456789ab on dcos: task "docker-0123456789ab": name/]);
  t.same(containerTasks(null, nets), []);
  t.equal(dockerTaskId('abc', 'dcos', 1), 'docker-abc');
  t.same(
    [...portNames('a=1,b=2/udp,=3,c=x')],
    [
      ['1/tcp', 'a'],
      ['2/udp', 'b'],
    ],
  );
});

t.test('VNET-DOCKER: the chain and its application', async (t) => {
  t.equal(
    renderVnetDockerChain(['9.0.0.0/8']),
    '*filter\n:VNET-DOCKER - [0:0]\n' +
      '-A VNET-DOCKER -s 9.0.0.0/8 -m comment --comment "vnet overlay" -j ACCEPT\n' +
      '-A VNET-DOCKER -d 9.0.0.0/8 -m comment --comment "vnet overlay" -j ACCEPT\nCOMMIT\n',
  );
  const script = (answers: Record<string, { code: number; output: string }>) => {
    const calls: string[] = [];
    const runner: CommandRunner = async (argv) => {
      calls.push(argv.join(' '));
      return answers[argv.join(' ')] ?? { code: 0, output: '' };
    };
    return { calls, runner };
  };
  const none = script({ 'iptables -w -S DOCKER-USER': { code: 1, output: 'No chain' } });
  t.equal(await applyIsolationBypass(none.runner, 4, ['9.0.0.0/8']), 'no-docker-iptables');
  t.same(none.calls, ['iptables -w -S DOCKER-USER'], 'dockerd without iptables: nothing done');

  const fresh = script({
    'iptables -w -S DOCKER-USER': { code: 0, output: '-N DOCKER-USER\n-A DOCKER-USER -j RETURN' },
  });
  t.equal(await applyIsolationBypass(fresh.runner, 4, ['9.0.0.0/8']), 'applied');
  t.same(fresh.calls, [
    'iptables -w -S DOCKER-USER',
    'iptables-restore --noflush',
    'iptables -w -I DOCKER-USER 1 -j VNET-DOCKER',
  ]);
  const present = script({
    'ip6tables -w -S DOCKER-USER': {
      code: 0,
      output: '-N DOCKER-USER\n-A DOCKER-USER -j VNET-DOCKER\n-A DOCKER-USER -j RETURN',
    },
  });
  await applyIsolationBypass(present.runner, 6, ['fd01:b::/64']);
  t.same(
    present.calls,
    ['ip6tables -w -S DOCKER-USER', 'ip6tables-restore --noflush'],
    'jump kept',
  );
  const broken = script({
    'iptables -w -S DOCKER-USER': { code: 0, output: '' },
    'iptables-restore --noflush': { code: 2, output: 'line 3 failed' },
  });
  await t.rejects(applyIsolationBypass(broken.runner, 4, []), /iptables-restore: line 3 failed/);
});

t.test('--docker-host', async (t) => {
  t.same(parseDockerHost('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
  t.same(parseDockerHost('tcp://10.0.0.1:2375'), { host: '10.0.0.1', port: 2375 });
  t.same(parseDockerHost('tcp://[::1]:2375'), { host: '::1', port: 2375 });
  for (const bad of ['unix://relative.sock', 'tcp://host', 'tcp://host:99999', 'http://x:1', '']) {
    t.throws(() => parseDockerHost(bad), /--docker-host/, bad);
  }
});
