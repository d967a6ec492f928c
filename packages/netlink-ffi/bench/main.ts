// Bench: install per remote node the entries of an overlay data plane on a VXLAN device in a
// fresh namespace, through the library and through iproute2 (`ip -batch` / `bridge -batch`, one
// process per kind), side by side in one run, for 10,000 remote nodes, in two layouts:
// - plain (DESIGN.md): neighbour + FDB entry + onlink route via the VTEP IP;
// - nexthop: neighbour + FDB entry + nexthop object (onlink via the VTEP IP) + route by nhid.
// The library side of each layout runs in a fresh process (cold JIT, like a daemon's first
// reconcile). Other jobs share this machine's CPUs, so the nexthop layout (the one the JSON
// reports) runs ROUNDS times with the two sides alternating, and each side keeps its best round.
// Also: a second pass with the same content, the longest event-loop block while the library
// works, dump times, and one request through the library versus one `ip` process.
// Last stdout line: the DESIGN.md JSON for the nexthop layout (entries per second, all kinds).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { benchResultLine } from '@vnet/testkit';
import { batchText, type Kind, LAYOUTS, type Layout, remote } from './layout.js';

const N = Number(process.env.BENCH_ENTRIES ?? 10000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SPAWN_OPS = 100;
const LIBRARY = join(dirname(fileURLToPath(import.meta.url)), 'library.js');

const log = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number, d = 1) => n.toFixed(d);

type Times = Partial<Record<Kind, number>>;

interface LibraryRun {
  first: Times;
  install: { block: number; gc: number };
  /** With --full: */
  again?: Times;
  dumpMs?: number;
  dump?: { block: number; gc: number };
  dumped?: number;
  single?: { byIndexUs: number; byNameUs: number };
}

interface Iproute2Run {
  first: Times;
  again?: Times;
  spawnUs?: number;
}

let counter = 0;
/** A fresh namespace with an underlay veth and vtep1024 (built with iproute2 for both sides). */
function freshNamespace(): string {
  const ns = `nlbench${process.pid}-${counter++}`;
  const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args]);
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
  ip('link', 'set', 'eth0', 'up');
  ip('link', 'set', 'eth1', 'up');
  ip('addr', 'add', '192.168.0.1/16', 'dev', 'eth0');
  ip(
    ...['link', 'add', 'vtep1024', 'mtu', '1450', 'type', 'vxlan', 'id', '1024'],
    ...['dstport', '64000', 'nolearning', 'local', '192.168.0.1', 'dev', 'eth0'],
  );
  ip('link', 'set', 'vtep1024', 'up');
  ip('addr', 'add', '44.128.0.1/16', 'dev', 'vtep1024');
  return ns;
}

function removeNamespace(ns: string): void {
  execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

/** What the kernel holds of one kind on vtep1024, counted by iproute2. */
function count(ns: string, kind: Kind): number {
  const show: Record<Kind, [string, string[]]> = {
    neighbour: ['ip', ['-4', 'neigh', 'show', 'dev', 'vtep1024']],
    fdb: ['bridge', ['fdb', 'show', 'dev', 'vtep1024']],
    nexthop: ['ip', ['nexthop', 'show', 'dev', 'vtep1024']],
    route: ['ip', ['-4', 'route', 'show', 'dev', 'vtep1024']],
  };
  const [cmd, args] = show[kind];
  const out = execFileSync(cmd, ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.split('\n').filter((l) => (kind === 'route' ? l.includes(' via ') : l.trim() !== ''))
    .length;
}

function checkCounts(ns: string, kinds: readonly Kind[], who: string): void {
  for (const kind of kinds) {
    const n = count(ns, kind);
    if (n !== N) throw new Error(`${who}: ${n} ${kind} entries in the kernel, expected ${N}`);
  }
}

/** The library side of a layout, in a child process; its namespace is removed afterwards. */
function library(layout: Layout, flags: string[]): LibraryRun {
  const ns = freshNamespace();
  try {
    const args = [LIBRARY, layout, ns, String(N), ...flags];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`library side (${layout}) failed:\n${r.stderr}`);
    checkCounts(ns, LAYOUTS[layout], 'library');
    return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as LibraryRun;
  } finally {
    removeNamespace(ns);
  }
}

/**
 * The iproute2 side: one `ip -batch` / `bridge -batch` process per kind; with `full`, also a
 * second pass and the cost of one `ip` process per operation.
 */
function iproute2(layout: Layout, tmp: string, full: boolean): Iproute2Run {
  const ns = freshNamespace();
  try {
    const pass = (again: boolean) => {
      const ms: Times = {};
      for (const kind of LAYOUTS[layout]) {
        const file = join(tmp, `${layout}-${kind}-${again ? 2 : 1}.batch`);
        writeFileSync(file, batchText(layout, kind, N, again));
        const cmd = kind === 'fdb' ? 'bridge' : 'ip';
        const t0 = performance.now();
        const r = spawnSync(cmd, ['-n', ns, '-batch', file], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        ms[kind] = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${cmd} -batch ${kind} failed: ${r.stderr}`);
      }
      return ms;
    };
    const first = pass(false);
    checkCounts(ns, LAYOUTS[layout], 'iproute2');
    if (!full) return { first };
    const again = pass(true);
    // What shelling out costs: one `ip` process per operation.
    const p0 = performance.now();
    for (let i = 0; i < SPAWN_OPS; i++) {
      const r = remote(i);
      const res = spawnSync('ip', [
        ...['-n', ns, 'neigh', 'replace', r.vtepIp, 'lladdr', r.mac],
        ...['dev', 'vtep1024', 'nud', 'permanent'],
      ]);
      if (res.status !== 0) throw new Error('ip neigh replace failed');
    }
    return { first, again, spawnUs: ((performance.now() - p0) / SPAWN_OPS) * 1000 };
  } finally {
    removeNamespace(ns);
  }
}

const total = (kinds: readonly Kind[], ms: Times) => kinds.reduce((s, k) => s + (ms[k] ?? 0), 0);

/** The round with the shortest total. */
function best<R extends { first: Times }>(kinds: readonly Kind[], runs: R[]): R {
  return runs.reduce((a, b) => (total(kinds, b.first) < total(kinds, a.first) ? b : a));
}

interface Rounds {
  layout: Layout;
  ours: LibraryRun[];
  theirs: Iproute2Run[];
}

function report({ layout, ours: oursRuns, theirs: theirsRuns }: Rounds) {
  const kinds = LAYOUTS[layout];
  const full = oursRuns[0] as LibraryRun;
  const fullTheirs = theirsRuns[0] as Iproute2Run;
  const ours = best(kinds, oursRuns);
  const theirs = best(kinds, theirsRuns);
  log(`## ${layout} layout: ${kinds.map((k) => `${N} ${k}s`).join(' + ')}`);
  if (oursRuns.length > 1) {
    const totals = (runs: { first: Times }[]) =>
      runs.map((r) => fmt(total(kinds, r.first))).join(', ');
    log(
      `${oursRuns.length} rounds, sides alternating; totals library ${totals(oursRuns)} ms, iproute2 ${totals(theirsRuns)} ms; best round of each side:`,
    );
  }
  log('kind        library ms   iproute2 ms   library/s    iproute2/s   ratio');
  const row = (name: string, a: number, b: number, entries: number) => {
    const ra = (entries / a) * 1000;
    const rb = (entries / b) * 1000;
    log(
      `${name.padEnd(10)} ${fmt(a).padStart(10)} ${fmt(b).padStart(13)} ${fmt(ra, 0).padStart(11)} ${fmt(rb, 0).padStart(13)}   ${fmt(ra / rb, 2)}`,
    );
  };
  for (const kind of kinds) row(kind, ours.first[kind] ?? 0, theirs.first[kind] ?? 0, N);
  const oursTotal = total(kinds, ours.first);
  const theirsTotal = total(kinds, theirs.first);
  row('total', oursTotal, theirsTotal, kinds.length * N);
  const each = (ms: Times = {}) =>
    `${kinds.map((k) => `${k} ${fmt(ms[k] ?? 0)}`).join(', ')} = ${fmt(total(kinds, ms))} ms`;
  log(`second pass, same content (replace; library JIT warm): library ${each(full.again)}`);
  log(`                                                    iproute2 ${each(fullTheirs.again)}`);
  const blocks = oursRuns.map((r) => `${fmt(r.install.block)} (GC ${fmt(r.install.gc)})`);
  log(
    `library, longest event-loop block while installing ${kinds.length * N} entries: ${blocks.join(', ')} ms; dumps of ${full.dumped} x ${N}: ${fmt(full.dumpMs ?? 0)} ms, longest block ${fmt(full.dump?.block ?? 0)} ms (GC ${fmt(full.dump?.gc ?? 0)} ms)`,
  );
  return { entries: kinds.length * N, oursTotal, theirsTotal };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'nlbench-'));
  try {
    const runs: Rounds[] = [];
    for (const layout of ['plain', 'nexthop'] as const) {
      const rounds: Rounds = { layout, ours: [], theirs: [] };
      for (let round = 0; round < (layout === 'nexthop' ? ROUNDS : 1); round++) {
        const full = round === 0;
        const flags = full ? ['--full', ...(layout === 'plain' ? ['--single'] : [])] : [];
        rounds.ours.push(library(layout, flags));
        // Namespace teardown runs in a kernel worker: let it finish before the other side starts.
        await sleep(2000);
        rounds.theirs.push(iproute2(layout, tmp, full));
        await sleep(2000);
      }
      runs.push(rounds);
    }
    let last = { entries: 0, oursTotal: 0, theirsTotal: 0 };
    for (const rounds of runs) last = report(rounds);
    const plain = runs[0];
    const single = plain?.ours[0]?.single;
    const spawnUs = plain?.theirs[0]?.spawnUs;
    if (single && spawnUs) {
      log(
        `one request through the library: ${fmt(single.byIndexUs)} µs by ifindex, ${fmt(single.byNameUs)} µs by link name (+1 lookup); one \`ip neigh replace\` process: ${fmt(spawnUs)} µs (${fmt(spawnUs / single.byIndexUs, 0)}x)`,
      );
    }
    const oursRate = (last.entries / last.oursTotal) * 1000;
    const theirsRate = (last.entries / last.theirsTotal) * 1000;
    log(
      benchResultLine({
        bench: 'netlink-install-neigh-fdb-nexthop-route',
        unit: 'entries/s',
        ours: Math.round(oursRate),
        anchor: 'iproute2-batch',
        anchorValue: Math.round(theirsRate),
        higherIsBetter: true,
      }),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
