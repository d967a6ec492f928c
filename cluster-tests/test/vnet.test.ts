// The vnet helpers against the real `vnet master`: command lines, readiness, kill and restart.

import { requireRoot } from '@vnet/testkit';
import t from 'tap';
import { agentArgv, Cluster, masterArgv, startMaster, vnetBin } from '../src/index.js';

requireRoot(t, 'network namespaces');

const CONFIG = `dcos_overlay_network:
  vtep_subnet: 44.128.0.0/20
  vtep_mac_oui: 70:B3:D5:00:00:00
  overlays:
    - name: dcos
      subnet: 9.0.0.0/8
      prefix: 24
`;

t.test('command lines of vnet master and vnet agent', async (t) => {
  const c = await Cluster.create({ hosts: 4, outside: false, t });
  const [h1, h2, h3, h4] = c.hosts as [(typeof c.hosts)[0], ...(typeof c.hosts)[0][]];
  const argv = masterArgv(h2!, {
    config: '/c.yaml',
    masters: [h1, h2!, h3!],
    args: ['--log-level', 'debug'],
  });
  t.same(argv, [
    process.execPath,
    vnetBin(),
    'master',
    '--id',
    'h2',
    '--peers',
    'h1=10.88.0.1:7001,h2=10.88.0.2:7001,h3=10.88.0.3:7001',
    '--listen',
    '10.88.0.2:7000',
    '--http',
    '10.88.0.2:8080',
    '--config',
    '/c.yaml',
    '--data-dir',
    `${c.runDir}/hosts/h2/master`,
    '--log-level',
    'debug',
  ]);
  t.throws(
    () => masterArgv(h4!, { config: '/c.yaml', masters: [h1] }),
    /master h4 is not in its own masters list/,
  );
  t.same(agentArgv(h4!, { masters: [h1, h2!, h3!] }).slice(2), [
    'agent',
    '--ip',
    '10.88.0.4',
    '--masters',
    '10.88.0.1:7000,10.88.0.2:7000,10.88.0.3:7000',
    '--data-dir',
    `${c.runDir}/hosts/h4/agent`,
    '--http',
    '10.88.0.4:8090',
    '--cni-conf-dir',
    `${c.runDir}/hosts/h4/cni/net.d`,
    '--cni-data-dir',
    `${c.runDir}/hosts/h4/cni/networks`,
    '--task-socket',
    `${c.runDir}/hosts/h4/run/tasks.sock`,
  ]);
  t.ok(agentArgv(h1, { masters: [h1], noBridges: true }).includes('--no-bridges'));
});

t.test('a vnet master in a host: ready, state, SIGKILL, restart on its data', async (t) => {
  const c = await Cluster.create({ hosts: 1, outside: false, t });
  const h1 = c.host(1);
  const config = c.file('config.yaml', CONFIG);
  const start = performance.now();
  const m = await startMaster(h1, { config }).ready();
  t.comment(`vnet master ready in ${(performance.now() - start).toFixed(0)} ms`);
  t.equal(m.url('/health'), 'http://10.88.0.1:8080/health');
  const state = (await m.http('/overlay-master/state')).json<{
    network: { vtep_subnet: string };
  }>();
  t.equal(state.network.vtep_subnet, '44.128.0.0/20', 'the state endpoint answers with the config');
  m.kill('SIGKILL');
  await m.process.waitExit(5000);
  await t.rejects(
    m.ready({ timeoutMs: 5000 }),
    /vnet-master .* was killed by SIGKILL/,
    'ready() of a dead master fails at once',
  );
  await m.restart();
  await m.ready();
  t.equal(m.process.runs, 2, 'restarted with the same command line and data dir');
  t.equal((await m.http('/health')).status, 200);
});
