// The DNS bench: a node's navstar, run by `vnet agent` and fed by gossip with 10,000 tasks that a
// third node publishes, against unbound serving the very same records (navstar's own dump) in the
// same node, with the same dnsperf query file, alternating rounds. Both must give the same
// answers on a sample of names first.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore } from '@vnet/navstar';
import { median, startUnbound, type Unbound } from '@vnet/testkit';
import { Cluster, type Host, startAgent, startMaster, waitFor } from '../src/index.js';
import { BENCH_CONFIG as CONFIG } from './config.js';
import { benchQueries, benchTasks } from './dns-workload.js';

const TASKS = Number(process.env.BENCH_DNS_TASKS ?? 10_000);
const SECONDS = Number(process.env.BENCH_DNS_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_DNS_ROUNDS ?? 2);
const UNBOUND_PORT = 5353;

async function dig(h: Host, port: number, name: string): Promise<string> {
  const r = await h.exec(['dig', `@${h.ip}`, '-p', String(port), '+tries=2', '+time=2', name]);
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? '?';
  const answers = r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith(';') && /\sIN\s+A\s/.test(l))
    .map((l) => l.split(/\s+/).at(-1))
    .sort();
  return `${status} ${answers.join(',')}`;
}

async function dnsperf(h: Host, port: number, file: string): Promise<number> {
  const r = await h.execOk(
    ['dnsperf', '-s', h.ip, '-p', String(port), '-d', file, '-l', String(SECONDS)],
    { timeoutMs: (SECONDS + 30) * 1000 },
  );
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const lost = /Queries lost:\s+(\d+)/.exec(r.stdout)?.[1];
  console.log(
    `    ${port === 53 ? 'navstar' : 'unbound'} :${port}  ${qps.toFixed(0)} qps, ${lost} lost`,
  );
  return qps;
}

export async function dnsBench(): Promise<{ navstar: number; unbound: number }> {
  const cluster = await Cluster.create({ hosts: 3, outside: false });
  const dir = mkdtempSync(join(tmpdir(), 'vnet-dns-bench-'));
  let unbound: Unbound | undefined;
  try {
    const [h1, h2, h3] = cluster.hosts as [Host, Host, Host];
    const master = startMaster(h1, {
      config: cluster.file('config.yaml', CONFIG),
      args: ['--log-level', 'warn'],
    });
    await master.ready({ timeoutMs: 60_000 });
    // No upstream: nothing outside the cluster is ever asked.
    const dnsArgs = ['--dns-upstream', '127.0.0.1:9', '--log-level', 'warn'];
    const agents = [
      startAgent(h1, { masters: [h1], noBridges: true, args: dnsArgs }),
      startAgent(h2, { masters: [h1], args: ['--dns-listen', h2.ip, ...dnsArgs] }),
    ];
    await Promise.all(agents.map((a) => a.ready({ timeoutMs: 120_000 })));

    const tasks = benchTasks(TASKS, h3.ip);
    const started = Date.now();
    h3.spawn(
      [
        'node',
        join(import.meta.dirname, 'task-publisher.js'),
        h3.ip,
        '7946',
        `${h1.ip}:7946`,
        String(TASKS),
      ],
      {
        name: 'task-publisher',
      },
    );
    const last = tasks.at(-1)!;
    const lastName = `${last.name.replace(/\./g, '-')}.${last.framework}.containerip.dcos`;
    await waitFor(
      `navstar on ${h2.name} answering for all ${TASKS} tasks`,
      () => dig(h2, 53, lastName),
      (answer) => answer.includes(last.containerIps[0]!),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    console.log(
      `dns: ${TASKS} tasks published by ${h3.name}, all answered by navstar on ${h2.name} within ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    // The same records for unbound: navstar's own dump of a store fed as the agent's source feeds it.
    const store = new RecordStore({ serial: 1 });
    for (const t of tasks) store.upsertTask({ ...t, id: `${t.agentIp}/${t.id}` });
    store.setMasters([h1.ip]);
    store.flush();
    unbound = await startUnbound({
      zones: Object.fromEntries(store.zones.map((z) => [z, 'static'])),
      data: store.dump(),
      probe: lastName,
      netns: h2.ns,
      address: h2.ip,
      port: UNBOUND_PORT,
    });
    const queries = benchQueries(tasks, 100_000, 2);
    const file = join(dir, 'queries.txt');
    writeFileSync(file, `${queries.join('\n')}\n`);
    for (const line of queries.slice(0, 50)) {
      const name = line.split(' ')[0]!;
      const [ours, theirs] = [await dig(h2, 53, name), await dig(h2, UNBOUND_PORT, name)];
      if (ours !== theirs)
        throw new Error(`answers differ for ${name}: navstar "${ours}", unbound "${theirs}"`);
    }
    console.log('dns: navstar and unbound give the same answers on a sample of 50 names');
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      console.log(`  round ${i + 1}`);
      theirs.push(await dnsperf(h2, UNBOUND_PORT, file));
      ours.push(await dnsperf(h2, 53, file));
    }
    return { navstar: median(ours), unbound: median(theirs) };
  } finally {
    await unbound?.stop();
    rmSync(dir, { recursive: true, force: true });
    await cluster.destroy();
  }
}
