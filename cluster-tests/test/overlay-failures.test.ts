// Failures on a cluster of three masters and three agents: a killed agent's routes vanish from
// the others after grace + detection; a restarted agent (SIGTERM and SIGKILL) gets the same subnet,
// its entries come back, and a ping stream to a container on it loses nothing while it is down
// and back; killing the master leader leaves running traffic alone and a new agent still
// registers.

import { requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { Cluster, type Container, type Host, startAgent, waitFor } from '../src/index.js';
import { addContainer, agentInfo, FAST_AGENT_ARGS, startOverlay } from './helpers/overlay.js';

requireRoot(t, 'network namespaces');

const GRACE_MS = 6000;
const cluster = await Cluster.create({ hosts: 7, t });
const oc = await startOverlay(cluster, {
  masters: 3,
  agents: 3,
  agentArgs: ['--withdraw-grace-ms', String(GRACE_MS)],
});
const [h4, h5, h6] = oc.agentHosts as [Host, Host, Host];
const c4 = await addContainer(oc, h4, 'c4');
const c5 = await addContainer(oc, h5, 'c5');
const c6 = await addContainer(oc, h6, 'c6');
const agent5 = oc.agents.get(h5.name)!;
const block5 = (await agentInfo(agent5)).overlays![0]!.subnet!;

/** A ping stream (50 ms apart) from `from` to `to` while `during` runs; its statistics. */
async function pingStream(from: Container, to: Container, during: () => Promise<void>) {
  const seconds = 14;
  const stream = from.ping(to.ip!, { count: seconds * 20, intervalS: 0.05, waitS: 2 });
  await new Promise((r) => setTimeout(r, 500));
  await during();
  return stream;
}

async function routeTo(h: Host, block: string): Promise<string> {
  return (await h.exec(['ip', 'route', 'show', block])).stdout.trim();
}

t.test('the cluster is up', async (t) => {
  for (const [a, b] of [
    [c4, c5],
    [c5, c6],
    [c6, c4],
  ] as const) {
    const r = await a.ping(b.ip!, { count: 2, waitS: 2 });
    t.equal(r.received, 2, `${a.name} -> ${b.name}`);
  }
});

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  t.test(
    `an agent restarted after ${signal}: same subnet, entries back, no ping lost`,
    async (t: Test) => {
      const stats = await pingStream(c4, c5, async () => {
        if (signal === 'SIGTERM') await agent5.stop();
        else {
          agent5.kill('SIGKILL');
          await agent5.process.waitExit(5000);
        }
        t.match(
          await routeTo(h4, block5),
          /nhid/,
          'while the agent is down, the others keep its routes',
        );
        await new Promise((r) => setTimeout(r, 1000));
        await agent5.process.restart();
        await agent5.ready({ timeoutMs: 30_000 });
      });
      t.equal(
        stats.transmitted - stats.received,
        0,
        `no ping lost: ${stats.output.split('\n').slice(-3).join(' ')}`,
      );
      t.equal((await agentInfo(agent5)).overlays![0]!.subnet, block5, 'the same subnet');
      t.match(await routeTo(h6, block5), /nhid/);
    },
  );
}

t.test('a killed agent: its routes vanish from the others after grace + detection', async (t) => {
  const killedAt = Date.now();
  agent5.kill('SIGKILL');
  await agent5.process.waitExit(5000);
  const gone = await Promise.all(
    [h4, h6, oc.masterHosts[0]!].map(async (h) => {
      await waitFor(
        `h5's route to be withdrawn on ${h.name}`,
        () => routeTo(h, block5),
        (r) => r === '',
        { timeoutMs: GRACE_MS + 20_000, intervalMs: 100 },
      );
      const neigh = (await h.exec(['ip', 'neigh', 'show', 'dev', 'vtep1024'])).stdout;
      return { host: h.name, ms: Date.now() - killedAt, neigh };
    }),
  );
  for (const g of gone) {
    t.ok(
      g.ms >= GRACE_MS,
      `${g.host}: withdrawn after ${g.ms} ms, not before the grace of ${GRACE_MS} ms`,
    );
    t.notMatch(
      g.neigh,
      new RegExp(h5.ip.replace(/\./g, '\\.')),
      `${g.host}: its neighbour is gone too`,
    );
  }
  t.comment(
    `withdrawn ${gone.map((g) => `${g.host} ${g.ms} ms`).join(', ')} after SIGKILL (grace ${GRACE_MS} ms)`,
  );
  await agent5.process.restart();
  await agent5.ready({ timeoutMs: 30_000 });
  await waitFor(
    "h5 back in the others' routes",
    () => routeTo(h4, block5),
    (r) => r.includes('nhid'),
    {
      timeoutMs: 15_000,
    },
  );
  const r = await c4.ping(c5.ip!, { count: 2, waitS: 2 });
  t.equal(r.received, 2, 'traffic to h5 flows again');
});

t.test('SIGKILL of the master leader: traffic flows on, a new agent registers', async (t) => {
  const leaderOf = async () => {
    for (const m of oc.masters) {
      const h = await m.http('/health').catch(() => undefined);
      if (h?.status === 200 && h.json<{ role: string }>().role === 'leader') return m;
    }
    return undefined;
  };
  const leader = await waitFor('a leader', leaderOf, (m) => m !== undefined, { timeoutMs: 10_000 });
  const stats = await pingStream(c6, c4, async () => {
    leader!.kill('SIGKILL');
    await leader!.process.waitExit(5000);
  });
  t.equal(
    stats.transmitted - stats.received,
    0,
    `no ping lost: ${stats.output.split('\n').slice(-3).join(' ')}`,
  );
  const h7 = cluster.hosts[6]!;
  const survivors = oc.masterHosts;
  const agent7 = startAgent(h7, { masters: survivors, args: FAST_AGENT_ARGS });
  await agent7.ready({ timeoutMs: 30_000 });
  oc.agents.set(h7.name, agent7);
  const c7 = await addContainer(oc, h7, 'c7');
  await waitFor(
    'the new node to reach the others',
    () => c7.ping(c4.ip!, { count: 1, waitS: 1 }),
    (r) => r.received === 1,
    {
      timeoutMs: 15_000,
    },
  );
  t.pass('an agent that starts while the old leader is dead registers and joins the overlay');
  await leader!.process.restart();
  await leader!.ready({ timeoutMs: 60_000 });
});
