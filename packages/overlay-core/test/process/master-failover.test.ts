// Failover under load (Jepsen-style, seeded): 64 concurrent clients register 1,000 nodes while
// the leader is SIGKILLed and restarted, and then a follower. Afterwards no two nodes share a
// block, a VTEP IP or a MAC, every answered registration is in the state with the allocation it
// was answered with, and the restarted masters agree. VNET_SEED=<n> replays a round's choices.

import { seededRandom } from '@vnet/swim';
import {
  httpApi as api,
  type MasterCluster as Cluster,
  MasterCluster,
  testSeed,
} from '@vnet/testkit';
import t, { type Test } from 'tap';
import { MasterCallError, MasterClient } from '../../src/api/client.js';
import type { AgentJson } from '../../src/protocol/documents.js';
import { allocationKey, checkAllocations } from '../helpers/allocation-check.js';
import { DCOS_CONFIG_YAML, VNET } from '../helpers/configs.js';

const CONFIG = `${DCOS_CONFIG_YAML}  - name: v6
    subnet6: fd01:b::/64
    prefix6: 80
vtep_subnet6: fd01:a::/64
`;
const NODES = 1000;
const CONCURRENCY = 64;
const ROUNDS = Number(process.env.VNET_ROUNDS ?? 2);

async function round(t: Test, seed: number): Promise<void> {
  const rnd = seededRandom(seed);
  const cluster: Cluster = await MasterCluster.create({ vnet: VNET, n: 3, config: CONFIG });
  t.teardown(() => cluster.destroy());
  await cluster.startAll();
  const addresses = cluster.masters.map((m) => m.grpc);
  const clients = Array.from({ length: CONCURRENCY }, () => {
    const k = Math.floor(rnd() * 3);
    return new MasterClient([...addresses.slice(k), ...addresses.slice(0, k)], {
      callTimeoutMs: 5000,
    });
  });
  t.teardown(() => {
    for (const c of clients) c.close();
  });
  const ips = Array.from(
    { length: NODES },
    (_, i) => `10.${40 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
  );
  const answers = new Map<string, string[]>();
  let answered = 0;
  let retries = 0;
  let next = 0;
  const killLeaderAt = 100 + Math.floor(rnd() * 200);
  const killFollowerAt = killLeaderAt + 50 + Math.floor(rnd() * 150);
  const events: string[] = [];
  const killedDuringStorm: boolean[] = [];
  // The second half of the storm waits for the follower's kill, so that it surely falls inside
  // the storm however long the leader's restart takes on a busy machine.
  let followerKilled = false;
  let releaseSecondHalf: () => void = () => {};
  const secondHalf = new Promise<void>((r) => {
    releaseSecondHalf = r;
  });

  async function chaos(): Promise<void> {
    const until = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (answered >= n || next >= NODES ? resolve() : setTimeout(check, 5));
        check();
      });
    await until(killLeaderAt);
    const leader = await cluster.leader();
    events.push(`SIGKILL leader ${leader.id} at ${answered}`);
    killedDuringStorm.push(answered < NODES);
    await cluster.kill(leader, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300 + rnd() * 700));
    events.push(`restart ${leader.id} at ${answered}`);
    cluster.start(leader);
    await cluster.ready(60_000);
    await until(killFollowerAt);
    const now = await cluster.leader();
    const follower = cluster.masters.filter((m) => m !== now)[Math.floor(rnd() * 2)]!;
    events.push(`SIGKILL follower ${follower.id} at ${answered}`);
    killedDuringStorm.push(answered < NODES);
    await cluster.kill(follower, 'SIGKILL');
    followerKilled = true;
    releaseSecondHalf();
    await new Promise((r) => setTimeout(r, 300 + rnd() * 700));
    events.push(`restart ${follower.id} at ${answered}`);
    cluster.start(follower);
    await cluster.ready(60_000);
  }

  async function worker(client: MasterClient): Promise<void> {
    while (next < NODES) {
      if (next >= killFollowerAt + 100 && !followerKilled) {
        await secondHalf;
        continue;
      }
      const ip = ips[next++]!;
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const a = await client.register(ip, rnd() < 0.9);
          answers.set(ip, [...(answers.get(ip) ?? []), allocationKey(a.agent!)]);
          answered++;
          // Now and then a node re-registers at once: it must get the same allocation.
          if (rnd() < 0.05) {
            const again = await client.register(ip, true).catch(() => undefined);
            if (again) answers.get(ip)!.push(allocationKey(again.agent!));
          }
          // Nodes of a storm arrive spread out, not all at once: ~100-150 registrations/s.
          await new Promise((r) => setTimeout(r, rnd() * 900));
          break;
        } catch (e) {
          if (!(e instanceof MasterCallError) || Date.now() > deadline) throw e;
          retries++;
          await new Promise((r) => setTimeout(r, 50 + rnd() * 100));
        }
      }
    }
  }

  const started = Date.now();
  await Promise.all([chaos(), ...clients.map(worker)]);
  const failovers = clients.reduce((n, c) => n + c.failovers, 0);
  t.comment(
    `seed ${seed}: ${events.join(', ')}; ${failovers} calls moved to another master, ${retries} retried; ${Date.now() - started} ms`,
  );
  t.same(killedDuringStorm, [true, true], 'both masters were killed during the storm');
  t.equal(answered, NODES, 'every registration was answered in the end');

  const states = await Promise.all(
    cluster.masters.map((m) => api(m.http, 'GET', '/overlay-master/state')),
  );
  t.same(states[1]!.body, states[0]!.body, `seed ${seed}: masters agree (a, b)`);
  t.same(states[2]!.body, states[0]!.body, `seed ${seed}: masters agree (a, c)`);
  const agents = states[0]!.body.agents as AgentJson[];
  t.equal(agents.length, NODES, 'every node is in the state');
  const problems = checkAllocations(agents, answers);
  t.same(
    problems.slice(0, 10),
    [],
    `seed ${seed}: no shared block, VTEP IP or MAC; every answer holds`,
  );
  await cluster.destroy();
}

const seed = testSeed();
for (let r = 0; r < ROUNDS; r++) {
  t.test(`round ${r + 1} (VNET_SEED=${seed + r})`, (t) => round(t, seed + r));
}
