// Bench: how fast a monitor reports a change, what it costs idle, and how the ways of reading a
// netlink socket without blocking Node's event loop compare. Run as root:
//   node dist/bench/monitor.js            (MONITOR_SAMPLES=300 by default)
// In a fresh namespace with a veth pair up:
// - latency from a change made by `ip` (one long-lived `ip -batch -` process, a command line
//   written to its stdin; the clock starts just before the write, so the figure includes ip
//   reading and parsing the line) to the decoded event, and from a change made through the
//   library in this process (the kernel emits the notification inside the request's sendto());
// - the same latency, idle CPU and side effects for the alternatives: a timer draining the
//   socket with non-blocking recv() on the main thread (1 ms and 10 ms), and recv() through
//   koffi's async calls (libuv's thread pool);
// - a flood of 10,000 neighbour replaces by `ip -batch` in another process: events delivered,
//   overruns, the longest event-loop block, and when the last event arrived.
// The last stdout line is JSON.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from '@vnet/testkit';
import koffi from 'koffi';
import * as C from '../src/codec/constants.js';
import { type MonitorEvent, Netlink } from '../src/index.js';
import { decodeDatagram } from '../src/monitor/events.js';
import { NetlinkSocket } from '../src/sys/socket.js';

const SAMPLES = Number(process.env.MONITOR_SAMPLES ?? 300);
const FLOOD = 10000;
const log = (s: string) => process.stdout.write(`${s}\n`);

interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function stats(ms: number[]): Stats {
  const q = (p: number) => Math.round(percentile(ms, p) * 1000) / 1000;
  return { n: ms.length, p50: q(50), p90: q(90), p99: q(99), max: q(100) };
}

const show = (s: Stats) =>
  `p50 ${s.p50.toFixed(3)}  p90 ${s.p90.toFixed(3)}  p99 ${s.p99.toFixed(3)}  max ${s.max.toFixed(3)} ms (n=${s.n})`;

function freshNamespace(): string {
  const ns = `nlmonbench${process.pid}`;
  const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args]);
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ip('link', 'set', 'v0', 'up');
  ip('link', 'set', 'v1', 'up');
  return ns;
}

/** Something that turns neighbour notifications into calls of `onEvent` (one strategy). */
interface Reader {
  name: string;
  start(ns: string, onEvent: (e: MonitorEvent) => void): Promise<void>;
  stop(): Promise<void>;
}

/** The library's monitor (reader thread + main-thread decoding). */
function libraryMonitor(): Reader {
  let mon: ReturnType<typeof Netlink.monitor> | undefined;
  return {
    name: 'Netlink.monitor (reader thread)',
    async start(ns, onEvent) {
      mon = Netlink.monitor({ netns: ns, groups: ['neigh'] });
      mon.on('event', onEvent);
    },
    async stop() {
      await mon?.close();
    },
  };
}

function decodeInto(buf: Buffer, onEvent: (e: MonitorEvent) => void): void {
  const events: MonitorEvent[] = [];
  decodeDatagram(buf, events);
  for (const e of events) onEvent(e);
}

/** No reader at all (the idle baseline). */
function nothing(): Reader {
  return { name: 'nothing open', async start() {}, async stop() {} };
}

/** A timer on the main thread draining the socket with MSG_DONTWAIT. */
function timerPoll(intervalMs: number): Reader {
  let sock: NetlinkSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: `timer + non-blocking recv every ${intervalMs} ms`,
    async start(ns, onEvent) {
      const s = NetlinkSocket.open({ netns: ns, groups: [C.RTNLGRP_NEIGH] });
      sock = s;
      timer = setInterval(() => {
        for (let d = s.receive(false); d; d = s.receive(false)) decodeInto(d, onEvent);
      }, intervalMs);
    },
    async stop() {
      clearInterval(timer);
      sock?.close();
    },
  };
}

type AsyncRecv = {
  async(
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    cb: (err: unknown, n: number) => void,
  ): void;
};

/**
 * recv() through koffi's async calls: a libuv pool thread blocks in it (until a datagram, or
 * SO_RCVTIMEO: `timeoutMs`, after which it asks again).
 */
function koffiAsync(timeoutMs = 1000): Reader {
  const recv = koffi
    .load('libc.so.6')
    .func('long recv(int fd, _Out_ void *buf, size_t len, int flags)') as unknown as AsyncRecv;
  let sock: NetlinkSocket | undefined;
  let stopped = false;
  return {
    name: 'koffi async recv (libuv thread pool)',
    async start(ns, onEvent) {
      const s = NetlinkSocket.open({
        netns: ns,
        groups: [C.RTNLGRP_NEIGH],
        replyTimeoutMs: timeoutMs,
      });
      sock = s;
      const buf = Buffer.alloc(1 << 16);
      const loop = () => {
        recv.async(s.fd, buf, buf.length, 0, (_err, n) => {
          if (stopped) {
            s.close(); // the pool thread has let go of it
            return;
          }
          if (n > 0) decodeInto(Buffer.from(buf.subarray(0, n)), onEvent);
          loop();
        });
      };
      loop();
    },
    async stop() {
      stopped = true; // the socket is closed when the blocked recv() returns
      void sock;
    },
  };
}

let seq = 0;
const nextAddress = () => {
  const i = seq++;
  return {
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    lladdr: `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
  };
};

/** Latency of `SAMPLES` changes, each made once the previous one's event has arrived. */
async function latency(
  ns: string,
  reader: Reader,
  change: (address: string, lladdr: string) => void | Promise<void>,
): Promise<Stats> {
  let waiting: { address: string; t0: number; resolve: (ms: number) => void } | undefined;
  await reader.start(ns, (e) => {
    if (!waiting || e.type !== 'new' || e.kind !== 'neighbour') return;
    if (e.object.address !== waiting.address) return;
    const ms = performance.now() - waiting.t0;
    const w = waiting;
    waiting = undefined;
    w.resolve(ms);
  });
  // Warm up (and let a reader thread start).
  for (let i = 0; i < 20; i++) {
    const { address, lladdr } = nextAddress();
    const got = new Promise<number>((resolve) => {
      waiting = { address, t0: performance.now(), resolve };
    });
    await change(address, lladdr);
    await Promise.race([got, sleep(2000)]);
  }
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    await sleep(2 + Math.random() * 3);
    const { address, lladdr } = nextAddress();
    const got = new Promise<number>((resolve) => {
      waiting = { address, t0: performance.now(), resolve };
    });
    await change(address, lladdr);
    const ms = await Promise.race([got, sleep(2000).then(() => Number.NaN)]);
    if (Number.isNaN(ms)) throw new Error(`${reader.name}: no event for ${address}`);
    out.push(ms);
  }
  await reader.stop();
  return stats(out);
}

/** A long-lived `ip -batch -` in the namespace; `run` writes one command line to it. */
function ipBatch(ns: string): { run: (line: string) => void; end: () => void } {
  const child: ChildProcessWithoutNullStreams = spawn('ip', ['-n', ns, '-force', '-batch', '-']);
  child.stderr.on('data', (d: Buffer) => process.stderr.write(`ip: ${d}`));
  return {
    run: (line) => {
      child.stdin.write(`${line}\n`);
    },
    end: () => child.stdin.end(),
  };
}

async function idleCpu(ns: string, reader: Reader): Promise<number> {
  await reader.start(ns, () => {});
  await sleep(300);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(3000);
  const c = process.cpuUsage(c0);
  const pct = ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
  await reader.stop();
  return Math.round(pct * 1000) / 1000;
}

/**
 * With 4 sockets read through koffi's async calls (libuv's default pool has 4 threads), how long
 * an fs.readFile waits.
 */
async function poolStarvation(ns: string): Promise<number> {
  const readers = [koffiAsync(5000), koffiAsync(5000), koffiAsync(5000), koffiAsync(5000)];
  for (const r of readers) await r.start(ns, () => {});
  await sleep(100);
  const t0 = performance.now();
  const read = readFile('/proc/self/stat').then(() => performance.now() - t0);
  await sleep(1000);
  // A change wakes the pool threads.
  execFileSync('ip', [
    '-n',
    ns,
    'neigh',
    'replace',
    '10.255.0.1',
    'lladdr',
    '02:00:00:ff:00:01',
    'dev',
    'v0',
  ]);
  const ms = await read;
  for (const r of readers) await r.stop();
  execFileSync('ip', [
    '-n',
    ns,
    'neigh',
    'replace',
    '10.255.0.2',
    'lladdr',
    '02:00:00:ff:00:02',
    'dev',
    'v0',
  ]);
  return Math.round(ms);
}

/** 10,000 neighbour replaces by `ip -batch` (another process) while a monitor listens. */
async function flood(ns: string) {
  const file = join(tmpdir(), `nlmonbench-${process.pid}.batch`);
  const lines: string[] = [];
  for (let i = 0; i < FLOOD; i++) {
    lines.push(
      `neigh replace 10.200.${i >> 8}.${i & 255} lladdr 02:00:00:c8:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')} dev v0 nud permanent`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  const mon = Netlink.monitor({ netns: ns, groups: ['neigh'] });
  let events = 0;
  let overruns = 0;
  let last = 0;
  mon.on('event', (e) => {
    if (e.type === 'overrun') overruns++;
    else if (e.type === 'new') {
      events++;
      last = performance.now();
    }
  });
  execFileSync('ip', [
    '-n',
    ns,
    'neigh',
    'replace',
    '10.201.0.1',
    'lladdr',
    '02:00:00:c9:00:01',
    'dev',
    'v0',
  ]);
  while (events === 0) await sleep(5);
  events = 0;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let gc = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc = Math.max(gc, e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  const ip = spawn('ip', ['-n', ns, '-batch', file], { stdio: 'ignore' });
  const ipDone = await new Promise<number>((resolve) =>
    ip.on('exit', () => resolve(performance.now() - t0)),
  );
  const deadline = performance.now() + 5000;
  while (events < FLOOD && overruns === 0 && performance.now() < deadline) await sleep(5);
  await sleep(100);
  h.disable();
  obs.disconnect();
  await mon.close();
  await rm(file, { force: true });
  return {
    events,
    overruns,
    ipMs: Math.round(ipDone),
    lastEventMs: Math.round(last - t0),
    longestBlockMs: Math.round((h.max / 1e6) * 10) / 10,
    longestGcMs: Math.round(gc * 10) / 10,
  };
}

async function main(): Promise<void> {
  const ns = freshNamespace();
  try {
    const nl = Netlink.in(ns);
    const viaLibrary = (address: string, lladdr: string) =>
      nl.neighbours.replace({ dev: 'v0', address, lladdr });
    const batch = ipBatch(ns);
    const viaIp = (address: string, lladdr: string) =>
      batch.run(`neigh replace ${address} lladdr ${lladdr} dev v0 nud permanent`);

    log(`# idle CPU of this process over 3 s, one socket (load ${loadavg()})`);
    const idle: Record<string, number> = { 'nothing open': await idleCpu(ns, nothing()) };
    for (const make of [libraryMonitor, () => timerPoll(1), () => timerPoll(10)]) {
      const r = make();
      idle[r.name] = await idleCpu(ns, r);
    }
    for (const [name, pct] of Object.entries(idle)) log(`${name}: ${pct} % of a CPU`);

    log(`# change -> event latency, ${SAMPLES} changes each (load ${loadavg()})`);
    const result: Record<string, unknown> = {};
    const ipLat = await latency(ns, libraryMonitor(), viaIp);
    log(`Netlink.monitor, change by \`ip -batch\`:     ${show(ipLat)}`);
    const libLat = await latency(ns, libraryMonitor(), viaLibrary);
    log(`Netlink.monitor, change by the library:   ${show(libLat)}`);
    result.monitor = { ip: ipLat, library: libLat };
    const alternatives: Record<string, unknown> = {};
    for (const make of [() => timerPoll(1), () => timerPoll(10), () => koffiAsync()]) {
      const r = make();
      const s = await latency(ns, r, viaIp);
      log(`${r.name}, change by \`ip\`: ${show(s)}`);
      alternatives[r.name] = { ip: s };
    }
    const starved = await poolStarvation(ns);
    log(
      `koffi async with 4 sockets (UV_THREADPOOL_SIZE 4): an fs.readFile took ${starved} ms (its steps queue behind the blocked recv() calls: a change at 1 s, then their 5 s timeout)`,
    );
    batch.end();
    nl.close();
    const f = await flood(ns);
    log(
      `# flood: ${FLOOD} neighbour replaces by ip -batch in ${f.ipMs} ms; monitor got ${f.events} events, ${f.overruns} overruns, the last ${f.lastEventMs} ms after the start; longest event-loop block ${f.longestBlockMs} ms (longest GC pause ${f.longestGcMs} ms)`,
    );
    log(JSON.stringify({ ...result, alternatives, idle, poolStarvationMs: starved, flood: f }));
  } finally {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
  // koffi's pool threads may still sit in recv() until their timeout.
  process.exit(0);
}

function loadavg(): string {
  return execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' })
    .split(' ')
    .slice(0, 3)
    .join(' ');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
