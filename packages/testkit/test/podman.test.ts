// testkit's Podman (root): podman inside a test's namespace, a busybox-static image, a container
// on no network whose pid enters its namespaces, and stop() removing everything (twice is fine).
import { existsSync } from 'node:fs';
import t from 'tap';
import { alive, netns, Podman, podmanAvailable, requireRoot, runOk } from '../src/index.js';

requireRoot(t, 'network namespaces and podman');

t.test('podmanAvailable says what is missing', async (t) => {
  const why = podmanAvailable();
  if (why !== false) t.match(why, /^needs /);
  else t.pass('podman, runc and busybox-static are here');
});

t.test('a container of the busybox image', { skip: podmanAvailable() }, async (t) => {
  const host = netns(t, 'tkp', 'h');
  const podman = await Podman.start({ netns: host });
  t.teardown(() => podman.stop());
  t.ok(existsSync(podman.dir), 'its own directory');

  const image = await podman.importBusybox();
  t.equal(image, 'localhost/vnet-bb');
  await podman.runOk(['run', '-d', '--name', 'c1', '--network', 'none', image, 'sleep', '300']);
  const applets = await podman.runOk(['exec', 'c1', 'ls', '/bin']);
  for (const a of ['sh', 'ip', 'wget', 'nc', 'httpd', 'nslookup', 'ping']) {
    t.match(applets.stdout, new RegExp(`^${a}$`, 'm'), `has ${a}`);
  }
  const pid = await podman.containerPid('c1');
  t.ok(pid > 0, 'a pid');
  const inside = await runOk(['nsenter', '-t', String(pid), '-n', 'ip', '-o', 'link']);
  t.notMatch(inside.stdout, /eth0/, "the container's own namespace (--network none)");
  t.equal((await podman.run(['inspect', 'nope'])).code === 0, false, 'run() does not throw');
  await t.rejects(podman.containerPid('nope'));

  await podman.stop();
  t.notOk(existsSync(podman.dir), 'its directory is gone');
  t.notOk(alive(pid), 'the container is gone');
  await podman.stop();
});
