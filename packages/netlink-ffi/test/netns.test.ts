// Handles per network namespace: by name, pid, path and fd; sockets stay in their namespace;
// the calling thread's namespace is never left changed; the default handle is the namespace
// the process runs in (as for a daemon started with `ip netns exec`).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ipJsonSync, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Netlink, NetlinkError } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

const own = () => readlinkSync('/proc/thread-self/ns/net');

t.test('a handle per namespace: by name, {pid}, {path}, {fd}', async (t) => {
  const a = netns(t, 'a');
  const b = netns(t, 'b');
  const before = own();
  const sleeper = spawn('ip', ['netns', 'exec', b, 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => {
    sleeper.kill();
  });
  // `ip netns exec` execs sleep in place, so the pid is sleep's once it has switched.
  const pid = sleeper.pid as number;
  for (let i = 0; i < 100 && readlinkSync(`/proc/${pid}/ns/net`) === before; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const fd = openSync(`/var/run/netns/${a}`, 'r');
  t.teardown(() => closeSync(fd));

  const handles = [
    Netlink.in(a),
    Netlink.in({ pid }),
    Netlink.in({ path: `/var/run/netns/${b}` }),
    Netlink.in({ fd }),
  ];
  t.teardown(() => {
    for (const h of handles) h.close();
  });
  t.equal(own(), before, 'the calling thread is back in its namespace');
  // The same name in two namespaces, no conflict; each visible only where it was made.
  await (handles[0] as Netlink).links.add({ name: 'same0', kind: 'bridge' });
  await (handles[1] as Netlink).links.add({ name: 'same0', kind: 'bridge', mtu: 1400 });
  t.equal(ipJsonSync<{ mtu: number }[]>(a, 'link', 'show', 'dev', 'same0')[0]?.mtu, 1500);
  t.equal(ipJsonSync<{ mtu: number }[]>(b, 'link', 'show', 'dev', 'same0')[0]?.mtu, 1400);
  t.equal((await (handles[2] as Netlink).links.get('same0')).mtu, 1400, '{path} is namespace b');
  t.equal((await (handles[3] as Netlink).links.get('same0')).mtu, 1500, '{fd} is namespace a');
  (handles[3] as Netlink).close();
  t.ok(fstatSync(fd).isFile(), 'a borrowed fd is not closed by the handle');
  t.equal(own(), before);
});

t.test('opening a handle in a missing namespace is a typed error', async (t) => {
  const err = (() => {
    try {
      Netlink.in(`nlt-missing-${process.pid}`);
    } catch (e) {
      return e;
    }
  })();
  t.type(err, NetlinkError);
  t.match(err, { code: 'ENOENT', operation: 'open', kind: 'namespace' });
  t.match(
    (() => {
      try {
        Netlink.in({ path: '/proc/self/status' });
      } catch (e) {
        return e;
      }
    })(),
    { code: 'EINVAL', operation: 'setns' },
    'not a namespace file',
  );
});

t.test('a closed handle refuses work with EBADF', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  nl.close();
  t.match(await nl.links.list().catch((e) => e), { code: 'EBADF' });
  t.match(
    await nl.neighbours
      .replace({ dev: 1, address: '10.0.0.1', lladdr: '02:00:00:00:00:01' })
      .catch((e) => e),
    {
      code: 'EBADF',
      operation: 'replace',
      kind: 'neighbour',
    },
  );
});

t.test('the default handle works in the namespace the process was started in', async (t) => {
  const ns = netns(t);
  const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `
    const { Netlink } = await import(${JSON.stringify(index)});
    const nl = Netlink.open();
    await nl.links.add({ name: 'agent0', kind: 'bridge', up: true });
    console.log(JSON.stringify((await nl.links.list()).map((l) => l.name)));
    nl.close();`;
  const out = execFileSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
  t.same(JSON.parse(out), ['lo', 'agent0']);
  t.same(
    ipJsonSync<{ ifname: string }[]>(ns, 'link', 'show').map((l) => l.ifname),
    ['lo', 'agent0'],
  );
});
