// npm run bench -w @vnet/navstar: navstar against unbound, both on 127.0.0.1 serving the same 10,000
// tasks' names, the same dnsperf query file, one after the other in this run. Unbound gets every
// record as local-data (static local zones, so missing names are NXDOMAIN with the SOA, as ours).
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

/** A UDP port on 127.0.0.1 that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
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
  let unbound: ReturnType<typeof spawn> | undefined;
  let server: NavstarServer | undefined;
  let unboundLog = '';
  let result: object | undefined;
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
    const conf = [
      'server:',
      '  interface: 127.0.0.1',
      `  port: ${await freePort()}`,
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      '  pidfile: ""',
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      '  do-ip6: no',
      `  num-threads: ${THREADS}`,
      '  access-control: 127.0.0.0/8 allow',
      '  local-zone: "." refuse',
      ...store.zones.map((z) => `  local-zone: "${z}." static`),
      ...records.map((r) => `  local-data: "${r}"`),
      'remote-control:',
      '  control-enable: no',
    ].join('\n');
    const confFile = join(dir, 'unbound.conf');
    writeFileSync(confFile, `${conf}\n`);
    const unboundPort = Number(/port: (\d+)/.exec(conf)?.[1]);
    await run('unbound-checkconf', [confFile]);
    unbound = spawn('unbound', ['-d', '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    unbound.stderr?.on('data', (d) => {
      unboundLog += d;
    });
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
    for (
      let waited = 0;
      (await dig(unboundPort, 'leader.dcos').catch(() => '')) === '';
      waited += 100
    ) {
      if (waited > 10_000) throw new Error('unbound did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
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
    const ratio = ns.qps / ub.qps;
    result = {
      bench: 'navstar-task-dns-udp-qps',
      unit: 'queries/s',
      ours: Math.round(ns.qps),
      anchor: `unbound ${THREADS} thread(s), local-data`,
      anchor_value: Math.round(ub.qps),
      ratio: Number(ratio.toFixed(3)),
      higher_is_better: true,
    };
  } catch (e) {
    if (unboundLog) log(`unbound said: ${unboundLog.trim()}`);
    throw e;
  } finally {
    await server?.close();
    if (unbound?.pid) {
      unbound.kill('SIGTERM');
      await new Promise((r) => unbound?.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
  // Last, once everything is stopped: the one-line result.
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
