// The library side of the bench for one layout, in a process of its own so that it starts cold
// (no JIT warm-up from an earlier run: a daemon's first reconcile is cold too). Usage:
//   node dist/bench/library.js <plain|nexthop> <netns> <entries> [--full] [--single]
// --full adds a second pass (warm) and dumps; --single the cost of one awaited request. The
// namespace must hold an up `vtep1024`. Prints one JSON line of measurements (ms, µs).
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Netlink } from '../src/index.js';
import { type Kind, LAYOUTS, type Layout, operations, remote } from './layout.js';

const SINGLE_OPS = 1000;

/** Longest event-loop block (1 ms libuv timer histogram) and longest V8 GC pause, in ms. */
function loopMonitor() {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let gc = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc = Math.max(gc, e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  h.enable();
  return () => {
    h.disable();
    obs.disconnect();
    return { block: h.max / 1e6, gc };
  };
}

async function main(): Promise<void> {
  const [layoutArg, ns, entries, ...flags] = process.argv.slice(2);
  if (!layoutArg || !Object.hasOwn(LAYOUTS, layoutArg) || !ns || !entries) {
    throw new Error('usage: library.js <plain|nexthop> <netns> <entries> [--full] [--single]');
  }
  const layout = layoutArg as Layout;
  const kinds: readonly Kind[] = LAYOUTS[layout];
  const n = Number(entries);
  const nl = Netlink.in(ns);
  const vtep = (await nl.links.get('vtep1024')).index;

  const timed = async (again: boolean) => {
    // Operations are built before the clock starts: they are the caller's data.
    const work = kinds.map((kind) => operations(layout, kind, n, vtep, again));
    const ms: Partial<Record<Kind, number>> = {};
    for (const [k, kind] of kinds.entries()) {
      const t0 = performance.now();
      const results = await nl.batch(work[k] ?? []);
      ms[kind] = performance.now() - t0;
      const failed = results.filter((r) => !r.ok);
      if (failed.length) {
        const first = failed[0] as { error: Error };
        throw new Error(`${failed.length} ${kind} requests failed: ${first.error}`);
      }
    }
    return ms;
  };

  const stop = loopMonitor();
  const first = await timed(false);
  const install = stop();
  if (!flags.includes('--full')) {
    nl.close();
    process.stdout.write(`${JSON.stringify({ first, install })}\n`);
    return;
  }
  // A second pass with the same content (what a periodic reconcile does), JIT now warm.
  const again = await timed(true);

  // Dumps of what was installed, with the event loop watched.
  const stopDump = loopMonitor();
  const d0 = performance.now();
  const dumped: number[] = [
    (await nl.neighbours.list({ dev: vtep, family: 4 })).length,
    (await nl.fdb.list({ dev: vtep })).length,
    (await nl.routes.list({ dev: vtep, family: 4 })).filter((r) => r.via).length,
  ];
  if (layout === 'nexthop') dumped.push((await nl.nexthops.list({ dev: vtep })).length);
  const dumpMs = performance.now() - d0;
  const dump = stopDump();
  if (dumped.some((c) => c !== n)) {
    throw new Error(`dumps returned ${dumped.join('/')}, expected ${n} each`);
  }

  // One request at a time, awaited (what a reconciler fixing one entry pays).
  let single: { byIndexUs: number; byNameUs: number } | undefined;
  if (flags.includes('--single')) {
    const s0 = performance.now();
    for (let i = 0; i < SINGLE_OPS; i++) {
      const r = remote(i);
      await nl.neighbours.replace({ dev: vtep, address: r.vtepIp, lladdr: r.mac });
    }
    const byIndexUs = ((performance.now() - s0) / SINGLE_OPS) * 1000;
    const n0 = performance.now();
    for (let i = 0; i < SINGLE_OPS; i++) {
      const r = remote(i);
      await nl.neighbours.replace({ dev: 'vtep1024', address: r.vtepIp, lladdr: r.mac });
    }
    single = { byIndexUs, byNameUs: ((performance.now() - n0) / SINGLE_OPS) * 1000 };
  }
  nl.close();
  process.stdout.write(
    `${JSON.stringify({ first, again, install, dumpMs, dump, dumped: dumped.length, single })}\n`,
  );
}

await main();
