// A 21-host cluster (the convergence bench's size) builds and goes away in moments.

import { requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Cluster, listOurNamespaces } from '../src/index.js';
import { rootLinks } from './helpers/root.js';

requireRoot(t, 'network namespaces');

t.test('21 hosts and the outside host: build, one process each, destroy', async (t) => {
  const before = rootLinks();
  const t0 = performance.now();
  const c = await Cluster.create({ hosts: 21, t });
  const built = performance.now() - t0;
  t.equal(c.namespaces.length, 23, '21 hosts, the outside host and the switch');
  const h1 = c.host(1);
  const far = await Promise.all([c.host(21), c.outside!].map((h) => h1.ping(h.ip, { count: 1 })));
  t.same(
    far.map((r) => r.received),
    [1, 1],
    'h1 reaches h21 and the outside host',
  );
  const t1 = performance.now();
  const procs = c.hosts.map((h) => h.spawn(['sleep', '300']));
  const spawned = performance.now() - t1;
  t.ok(
    procs.every((p) => p.running),
    '21 processes run',
  );
  const t2 = performance.now();
  await c.destroy();
  const destroyed = performance.now() - t2;
  t.same(
    listOurNamespaces().filter((n) => n.startsWith(`${c.prefix}-`)),
    [],
    'all gone',
  );
  t.same(rootLinks(), before, 'the root namespace has the same links');
  t.comment(
    `21 hosts + outside: build ${built.toFixed(0)} ms (harness: ${c.buildMs.toFixed(0)} ms), ` +
      `21 spawns ${spawned.toFixed(0)} ms, destroy with 21 processes ${destroyed.toFixed(0)} ms`,
  );
});
