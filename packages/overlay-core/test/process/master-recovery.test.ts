// A master whose copy of the overlay replicated log is damaged refuses to start, says how to
// recover, and comes back with --rejoin: the leader removes its old incarnation and re-adds it
// empty; it receives the log, votes again, and the cluster survives losing another master.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpApi as api, MasterCluster } from '@vnet/testkit';
import t from 'tap';
import { MasterClient } from '../../src/api/client.js';
import { DCOS_CONFIG_YAML, VNET } from '../helpers/configs.js';

t.test('damaged store: refused with the way out, then --rejoin', async (t) => {
  const cluster = await MasterCluster.create({ vnet: VNET, n: 3, config: DCOS_CONFIG_YAML });
  t.teardown(() => cluster.destroy());
  await cluster.startAll();
  const leader = await cluster.leader();
  const victim = cluster.masters.find((m) => m !== leader)!;
  const other = cluster.masters.find((m) => m !== leader && m !== victim)!;
  const client = new MasterClient(cluster.masters.map((m) => m.grpc));
  t.teardown(() => client.close());
  for (let i = 1; i <= 60; i++) await client.register(`10.30.0.${i}`, true);
  await api(victim.http, 'GET', '/overlay-master/state'); // the victim has it all
  t.equal(await cluster.kill(victim, 'SIGTERM'), 0);

  const store = join(victim.dataDir, 'overlay-replicated-log');
  const wal = readdirSync(store)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .at(-1)!;
  const bytes = readFileSync(join(store, wal));
  t.ok(bytes.length > 4000, `the write-ahead log ${wal} holds ${bytes.length} bytes`);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x5a;
  writeFileSync(join(store, wal), bytes);

  victim.output = '';
  cluster.start(victim);
  t.equal(await victim.exit, 4, 'a damaged store is refused (exit 4)');
  t.match(victim.output, new RegExp(`raft store at ${store} is damaged: write-ahead log ${wal}`));
  t.match(victim.output, /valid records follow it/);
  t.match(victim.output, /start this master again with the same flags plus --rejoin/);

  renameSync(store, `${store}.damaged`);
  for (let i = 61; i <= 70; i++) await client.register(`10.30.0.${i}`, true);
  cluster.start(victim, ['--rejoin']);
  await cluster.ready(60_000);
  const [mine, theirs] = await Promise.all([
    api(victim.http, 'GET', '/overlay-master/state'),
    api(leader.http, 'GET', '/overlay-master/state'),
  ]);
  t.equal(mine.body.agents.length, 70);
  t.same(mine.body, theirs.body, 'the rejoined master holds the same state');
  const health = await api(leader.http, 'GET', '/health');
  t.equal(health.status, 200);

  // The rejoined master votes again: the cluster survives losing the old leader.
  await cluster.kill(leader, 'SIGKILL');
  const survivors = new MasterClient([victim.grpc, other.grpc]);
  t.teardown(() => survivors.close());
  const again = await survivors.register('10.30.1.1', true);
  t.ok(
    again.agent?.overlays?.[0]?.subnet,
    'registrations go on with the rejoined master and one other',
  );
  const after = await api(other.http, 'GET', '/overlay-master/state');
  t.equal(after.body.agents.length, 71);
});
