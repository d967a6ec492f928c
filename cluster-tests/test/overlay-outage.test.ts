// A long outage of the only master, with the agents' default registration backoff (DC/OS's: a
// random wait whose ceiling doubles from 5 s, here capped at a minute): once the master is back,
// every agent is attached again within seconds, not after its backoff (which by then waits up to
// a minute), because a master that becomes reachable cuts the wait short: each agent's log shows
// it, unless its wait was due soon after the master's return anyway. VNET_OUTAGE_S sets the
// outage (default 45 s; the closing figures used 180).
import t from 'tap';
import { Cluster, waitFor } from '../src/index.js';
import { startOverlay } from './helpers/overlay.js';

const OUTAGE_S = Number(process.env.VNET_OUTAGE_S ?? 45);

t.test(`agents reattach promptly after a ${OUTAGE_S} s outage of the master`, async (t) => {
  const cluster = await Cluster.create({ hosts: 4, t });
  const oc = await startOverlay(cluster, {
    masters: 1,
    agents: 3,
    // The default registration backoff: only gossip is sped up.
    agentArgs: ['--register-backoff-ms', '5000', '--register-backoff-max-ms', '60000'],
  });
  const agents = [...oc.agents.values()];
  const registered = async (a: (typeof agents)[number]) =>
    (await a.http('/health')).json<{ registered: boolean }>().registered;
  const master = oc.masters[0]!;
  await master.stop();
  await Promise.all(
    agents.map((a) =>
      waitFor(
        `${a.host.name} to notice`,
        () => registered(a),
        (r) => !r,
        { timeoutMs: 30_000 },
      ),
    ),
  );
  await new Promise((r) => setTimeout(r, OUTAGE_S * 1000));
  await master.restart();
  await master.ready({ timeoutMs: 60_000 });
  const back = Date.now();
  const seconds = await Promise.all(
    agents.map(async (a) => {
      await waitFor(
        `${a.host.name} to register again`,
        () => registered(a),
        (r) => r,
        {
          timeoutMs: 90_000,
          intervalMs: 100,
        },
      );
      const took = (Date.now() - back) / 1000;
      // From its own log: the backoff wait it was in when the master came back. A wait that
      // would have ended well after the return (the channel notices a master within 5 s, the
      // retry follows within 2 s) must have been cut short; one due sooner may simply end.
      const lines = a.process
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; waitMs?: number; time: number });
      const retries = lines.filter((l) => l.msg === 'registration failed; retrying');
      const last = retries.filter((l) => l.time <= back).at(-1);
      const due = (last?.time ?? 0) + (last?.waitMs ?? 0);
      const cut = lines.some((l) => l.msg === 'a master is reachable again; registering');
      t.ok(
        cut || due <= back + 20_000,
        `${a.host.name}: back after ${took.toFixed(1)} s (${cut ? 'its wait cut short' : `its wait was due ${((due - back) / 1000).toFixed(1)} s after the return`})`,
      );
      return took;
    }),
  );
  t.comment(
    `reattached after the master's return: ${seconds.map((s) => s.toFixed(1)).join(', ')} s`,
  );
});
