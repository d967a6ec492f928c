// podman (4.x, CNI backend) as a second CNI runtime on vnet's config list (root): inside a host
// namespace, a container started with `--network dcos --network-alias cache` gets the first
// address of the node's CNI half, the agent's resolver, and the task socket's sink sees it (named
// by the alias) come and go. podman itself (its runc wrapper, storage, busybox-static image) is
// testkit's Podman.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netns, Podman, podmanAvailable, requireRoot, runOk } from '@vnet/testkit';
import t from 'tap';
import { syncCniConfigs } from '../../src/cni/conf-dir.js';
import { cniConfigLists } from '../../src/cni/conflist.js';
import { startTaskSocket } from '../../src/cni/task-socket.js';
import { VNET } from '../helpers/configs.js';
import { share } from '../helpers/dataplane-fixtures.js';
import { MemorySink } from '../helpers/memory-sink.js';

requireRoot(t, 'network namespaces, podman and the real CNI plugins');

t.test('a podman container on the vnet config list', { skip: podmanAvailable() }, async (t) => {
  const host = netns(t, 'vcnp', 'h');
  const dir = mkdtempSync(join(tmpdir(), 'vnet-cni-podman-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [conf, bin, leases] = ['conf', 'bin', 'leases'].map((d) => join(dir, d));
  const socket = join(dir, 'tasks.sock');
  const podman = await Podman.start({
    netns: host,
    cniConfDir: conf,
    cniPluginDirs: [bin, '/usr/lib/cni'],
  });
  t.teardown(() => podman.stop());

  await runOk([process.execPath, VNET, 'cni', 'install', '--bin-dir', bin]);
  const node = {
    ip: '10.0.0.1',
    overlayMtu: 1420,
    overlays: [share({ name: 'dcos', net4: '9.0.0.0/8', block4: '9.0.1.0/24' })],
  };
  await syncCniConfigs(conf, cniConfigLists(node, { agentSocket: socket, dataDir: leases }));
  const sink = new MemorySink();
  const server = await startTaskSocket({ path: socket, sink });
  t.teardown(() => server.close());

  const image = await podman.importBusybox();

  const started = await podman.run([
    'run',
    '-d',
    '--name',
    'c1',
    '--network',
    'dcos',
    '--network-alias',
    'cache',
    '-p',
    '8080:80',
    image,
    'sleep',
    '300',
  ]);
  t.equal(started.code, 0, started.stderr);
  const id = started.stdout.trim();
  const addr = await podman.run(['exec', 'c1', 'ip', '-4', 'addr', 'show', 'eth0']);
  t.match(addr.stdout, /mtu 1420/);
  t.match(addr.stdout, /inet 9\.0\.1\.2\/25/, 'the first address of the CNI half');
  const resolv = await podman.run(['exec', 'c1', 'cat', '/etc/resolv.conf']);
  t.match(resolv.stdout, /^nameserver 9\.0\.1\.1$/m, "the agent's resolver from the result's dns");
  t.same(sink.list(), [
    {
      id: `cni-${id}`,
      name: 'cache',
      framework: 'vnet',
      network: 'dcos',
      containerIps: ['9.0.1.2'],
      ports: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }],
      runtime: 'cni',
      agentIp: '10.0.0.1',
    },
  ]);

  const removed = await podman.run(['rm', '-f', '-t', '0', 'c1']);
  t.equal(removed.code, 0, removed.stderr);
  t.same(sink.list(), [], 'podman rm ran DEL: the task is gone');
});
