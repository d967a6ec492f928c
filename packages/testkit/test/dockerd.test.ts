// testkit's Dockerd (root): `dns` reaches containers on a user-defined network through Docker's
// embedded DNS (127.0.0.11 forwards to it), here an unbound on the network's gateway in dockerd's
// namespace; the imported busybox image has nslookup and wget.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { Dockerd, netns, netnsArgv, requireRoot, run, runOk, startUnbound } from '../src/index.js';

requireRoot(t, 'network namespaces and dockerd');

const missing = ['dockerd', 'docker', 'unbound', 'dig'].filter(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0,
);
const skip = missing.length > 0 ? `needs ${missing.join(', ')}` : false;

t.test('dns: the resolver behind the embedded DNS', { skip }, async (t) => {
  const ns = netns(t, 'tkd', 'h');
  await runOk(netnsArgv(ns, ['ip', 'link', 'set', 'lo', 'up'])); // dig to the gateway from ns
  const docker = await Dockerd.start({ netns: ns, dns: ['10.77.0.1'] });
  t.teardown(() => docker.stop());
  const image = await docker.importBusybox();
  await docker.api('POST', '/networks/create', {
    Name: 'n1',
    Driver: 'bridge',
    IPAM: { Config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }] },
  });
  await docker.run('c1', {
    Image: image,
    Cmd: ['sleep', '300'],
    HostConfig: { NetworkMode: 'n1' },
  });
  const unbound = await startUnbound({
    netns: ns,
    address: '10.77.0.1',
    port: 53,
    zones: { 'vnet.test': 'static' },
    data: ['probe.vnet.test. 60 IN A 192.0.2.7'],
    probe: 'probe.vnet.test',
  });
  t.teardown(() => unbound.stop());

  const docker_ = (args: string[]) => run(['docker', '-H', docker.host, ...args]);
  const resolv = await docker_(['exec', 'c1', 'cat', '/etc/resolv.conf']);
  t.match(resolv.stdout, /^nameserver 127\.0\.0\.11$/m, 'the embedded DNS');
  const looked = await docker_(['exec', 'c1', 'nslookup', 'probe.vnet.test']);
  t.equal(looked.code, 0, looked.stderr);
  t.match(looked.stdout, /192\.0\.2\.7/, 'answered by the resolver given as dns');
  const wget = await docker_(['exec', 'c1', 'wget', '--help']);
  t.match(wget.stdout + wget.stderr, /Usage: wget/, 'wget is linked');
});
