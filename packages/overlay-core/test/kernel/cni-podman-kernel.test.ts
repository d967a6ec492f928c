// podman (4.x, CNI backend) as a second CNI runtime on vnet's config list (root): inside a host
// namespace, a container started with `--network dcos --network-alias cache` gets the first
// address of the node's CNI half, the agent's resolver, and the task socket's sink sees it (named
// by the alias) come and go. This sandbox forbids setrlimit, so the OCI runtime is a wrapper that
// drops `process.rlimits` before runc (DESIGN.md, test machine facts); the image is busybox-static.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netns, netnsArgv, requireRoot, run, runOk } from '@vnet/testkit';
import t from 'tap';
import { syncCniConfigs } from '../../src/cni/conf-dir.js';
import { cniConfigLists } from '../../src/cni/conflist.js';
import { startTaskSocket } from '../../src/cni/task-socket.js';
import { VNET } from '../helpers/configs.js';
import { share } from '../helpers/dataplane-fixtures.js';
import { MemorySink } from '../helpers/memory-sink.js';

requireRoot(t, 'network namespaces, podman and the real CNI plugins');

const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const BUSYBOX = '/bin/busybox';

const RUNC_WRAPPER = `#!/bin/sh
# drop process.rlimits from the bundle's config.json and from exec's --process file, then runc
prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b) f="$a/config.json"; k=process ;;
    --process|-p) f="$a"; k="" ;;
    *) f="" ;;
  esac
  if [ -n "$f" ] && [ -f "$f" ]; then
    ${process.execPath} -e 'const fs=require("fs");const [p,k]=process.argv.slice(1);const c=JSON.parse(fs.readFileSync(p));delete (k?c[k]||{}:c).rlimits;fs.writeFileSync(p,JSON.stringify(c))' "$f" "$k"
  fi
  prev="$a"
done
exec runc "$@"
`;

const missing =
  !have('podman') || !have('runc') || spawnSync(BUSYBOX, ['true']).status !== 0
    ? 'needs podman, runc and busybox-static'
    : false;

t.test('a podman container on the vnet config list', { skip: missing }, async (t) => {
  const host = netns(t, 'vcnp', 'h');
  const dir = mkdtempSync(join(tmpdir(), 'vnet-cni-podman-'));
  const [conf, bin, leases, rootfs] = ['conf', 'bin', 'leases', 'rootfs'].map((d) => join(dir, d));
  const socket = join(dir, 'tasks.sock');
  writeFileSync(join(dir, 'runc'), RUNC_WRAPPER);
  chmodSync(join(dir, 'runc'), 0o755);
  writeFileSync(
    join(dir, 'containers.conf'),
    `[network]\ncni_plugin_dirs = ["${bin}", "/usr/lib/cni"]\n`,
  );
  const podman = (args: string[]) =>
    run(
      netnsArgv(host, [
        'podman',
        '--root',
        join(dir, 'storage'),
        '--runroot',
        join(dir, 'run'),
        '--storage-driver',
        'vfs',
        '--cni-config-dir',
        conf,
        '--network-backend',
        'cni',
        '--runtime',
        join(dir, 'runc'),
        '--cgroup-manager',
        'cgroupfs',
        '--events-backend',
        'file',
        ...args,
      ]),
      {
        env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') },
        timeoutMs: 120_000,
      },
    );
  t.teardown(async () => {
    await podman(['rm', '-f', '-a', '-t', '0']);
    rmSync(dir, { recursive: true, force: true });
  });

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

  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  for (const a of ['sh', 'sleep', 'ip', 'cat']) symlinkSync('busybox', join(rootfs, 'bin', a));
  await runOk(['tar', '-C', rootfs, '-cf', join(dir, 'bb.tar'), '.']);
  const imported = await podman(['import', join(dir, 'bb.tar'), 'localhost/vnet-bb']);
  t.equal(imported.code, 0, imported.stderr);

  const started = await podman([
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
    'localhost/vnet-bb',
    'sleep',
    '300',
  ]);
  t.equal(started.code, 0, started.stderr);
  const id = started.stdout.trim();
  const addr = await podman(['exec', 'c1', 'ip', '-4', 'addr', 'show', 'eth0']);
  t.match(addr.stdout, /mtu 1420/);
  t.match(addr.stdout, /inet 9\.0\.1\.2\/25/, 'the first address of the CNI half');
  const resolv = await podman(['exec', 'c1', 'cat', '/etc/resolv.conf']);
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

  const removed = await podman(['rm', '-f', '-t', '0', 'c1']);
  t.equal(removed.code, 0, removed.stderr);
  t.same(sink.list(), [], 'podman rm ran DEL: the task is gone');
});
