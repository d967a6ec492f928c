// Containers on three nodes reach each other across nodes, and a master reaches them.
import t from 'tap';
import { Cluster } from '../src/index.js';
import { addContainer, agentInfo, startOverlay } from './helpers/overlay.js';

t.test('containers on 3 nodes ping each other; a master reaches them', async (t) => {
  const cluster = await Cluster.create({ hosts: 4, t });
  const oc = await startOverlay(cluster, { masters: 1, agents: 3 });
  const [h2, h3, h4] = oc.agentHosts as [
    (typeof oc.agentHosts)[0],
    (typeof oc.agentHosts)[0],
    (typeof oc.agentHosts)[0],
  ];
  const c2 = await addContainer(oc, h2, 'c2');
  const c3 = await addContainer(oc, h3, 'c3');
  const c4 = await addContainer(oc, h4, 'c4');
  for (const [from, to] of [
    [c2, c3],
    [c3, c4],
    [c4, c2],
  ] as const) {
    const r = await from.ping(to.ip!, { count: 3, waitS: 2 });
    t.equal(r.received, 3, `${from.name} -> ${to.name} (${to.ip}): ${r.output}`);
  }
  const m = oc.masterHosts[0]!;
  const r = await m.ping(c3.ip!, { count: 3, waitS: 2 });
  t.equal(r.received, 3, `master ${m.name} -> ${c3.ip}: ${r.output}`);
  const info = await agentInfo(oc.agents.get(h2.name)!);
  t.equal(info.overlays?.[0]?.state?.status, 'STATUS_OK');
});
