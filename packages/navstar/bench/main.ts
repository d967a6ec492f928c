// npm run bench -w @vnet/navstar: navstar against unbound, both on 127.0.0.1 serving the same 10,000
// tasks' names, the same dnsperf query file, one after the other in this run. Unbound gets every
// record as local-data (static local zones, so missing names are NXDOMAIN with the SOA, as ours).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { benchResultLine, startUnbound, type Unbound } from '@vnet/testkit';
import { NavstarServer } from '../src/server/server.js';
import { RecordStore } from '../src/store.js';
import { makeQueries, makeTasks } from './workload.js';

const run = promisify(execFile);
const TASKS = 10_000;
const SECONDS = Number(process.env.NAVSTAR_BENCH_SECONDS ?? 10);
const THREADS = Number(process.env.NAVSTAR_BENCH_THREADS ?? 1);
// dnsperf load, the same for both servers: its defaults (1 client, 100 queries in flight) unless
// NAVSTAR_BENCH_DNSPERF gives other flags (e.g. "-c 4 -q 200").
const DNSPERF_ARGS = (process.env.NAVSTAR_BENCH_DNSPERF ?? '').split(' ').filter(Boolean);

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

interface PerfResult {
  qps: number;
  completed: number;
  lost: number;
  rcodes: string;
}

async function dnsperf(port: number, queryFile: string): Promise<PerfResult> {
  const { stdout } = await run(
    'dnsperf',
    [
      '-s',
      '127.0.0.1',
      '-p',
      String(port),
      '-d',
      queryFile,
      '-l',
      String(SECONDS),
      ...DNSPERF_ARGS,
    ],
    {
      maxBuffer: 1 << 24,
    },
  );
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    rcodes: (/Response codes:\s+(.*)/.exec(stdout)?.[1] ?? '').trim(),
  };
}

async function dig(port: number, name: string): Promise<string> {
  const { stdout } = await run('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '+tries=2',
    '+time=2',
    '+noall',
    '+answer',
    '+comments',
    name,
  ]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? '?';
  const answers = stdout
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .map((l) => l.split(/\s+/).slice(-1)[0])
    .sort();
  return `${status} ${answers.join(',')}`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `navstar-bench-${process.pid}-`));
  let unbound: Unbound | undefined;
  let server: NavstarServer | undefined;
  let result: string | undefined;
  try {
    const tasks = makeTasks(TASKS, 1);
    const store = new RecordStore({ serial: 1 });
    for (const t of tasks) store.upsertTask(t);
    store.flush();
    const queries = makeQueries(tasks, 100_000, 2);
    const queryFile = join(dir, 'queries.txt');
    writeFileSync(queryFile, `${queries.join('\n')}\n`);
    // Unbound: the very records navstar serves (its own dump), as local data.
    const records = store.dump();
    unbound = await startUnbound({
      zones: Object.fromEntries(store.zones.map((z) => [z, 'static'])),
      data: records,
      probe: 'leader.dcos',
      threads: THREADS,
    });
    const unboundPort = unbound.port;
    server = await NavstarServer.start({
      store,
      listen: [{ address: '127.0.0.1', port: 0 }],
      udpThreads: THREADS,
    });
    const ourPort = server.addresses[0].port;
    log(
      `${TASKS} tasks, ${records.length} records, ${queries.length} query lines; navstar :${ourPort} (${server.addresses[0].udpEngine}, ${THREADS} thread(s)), unbound :${unboundPort} (${THREADS} thread(s))`,
    );
    // Both must give the same answers before their speed means anything.
    for (const line of queries.slice(0, 50)) {
      const name = line.split(' ')[0];
      const [ours, theirs] = [await dig(ourPort, name), await dig(unboundPort, name)];
      if (ours !== theirs)
        throw new Error(`answers differ for ${name}: navstar "${ours}", unbound "${theirs}"`);
    }
    log('answers agree on a sample of 50 names');
    const ub = await dnsperf(unboundPort, queryFile);
    log(
      `unbound: ${ub.qps.toFixed(0)} qps, ${ub.completed} completed, ${ub.lost} lost, ${ub.rcodes}`,
    );
    const ns = await dnsperf(ourPort, queryFile);
    log(
      `navstar: ${ns.qps.toFixed(0)} qps, ${ns.completed} completed, ${ns.lost} lost, ${ns.rcodes}`,
    );
    log(`navstar metrics: ${JSON.stringify(server.metrics())}`);
    result = benchResultLine({
      bench: 'navstar-task-dns-udp-qps',
      unit: 'queries/s',
      ours: Math.round(ns.qps),
      anchor: `unbound ${THREADS} thread(s), local-data`,
      anchorValue: Math.round(ub.qps),
      higherIsBetter: true,
    });
  } finally {
    await server?.close();
    await unbound?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // Last, once everything is stopped: the one-line result.
  console.log(result);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
