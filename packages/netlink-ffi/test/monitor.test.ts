// Monitors (rtnetlink multicast subscriptions) against changes made with iproute2 and the
// library in fresh namespaces: decoded events in order, namespaces kept apart, close() freeing
// the socket and the reader thread, overruns, backpressure, many monitors at once.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bridgeJsonSync, ipJsonSync, ipSync, requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import {
  type ChangeEvent,
  type Monitor,
  type MonitorEvent,
  Netlink,
  NetlinkError,
  NetlinkSpecError,
  type RawAttribute,
} from '../src/index.js';
import { change, Recorder, resources, sleep } from './helpers/monitor.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

/** A namespace with a veth pair up and addressed (routes and nexthops need a carrier). */
function underlay(t: Test, tag: string): string {
  const ns = netns(t, tag);
  ipSync(ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ipSync(ns, 'link', 'set', 'v1', 'up');
  ipSync(ns, 'link', 'set', 'v0', 'up');
  ipSync(ns, 'addr', 'add', '10.5.0.1/24', 'dev', 'v0');
  ipSync(ns, '-6', 'addr', 'add', 'fd00:5::1/64', 'dev', 'v0', 'nodad');
  return ns;
}

function monitor(t: Test, opts: Parameters<typeof Netlink.monitor>[0]): Monitor {
  const mon = Netlink.monitor(opts);
  t.teardown(() => mon.close());
  return mon;
}

function handle(t: Test, ns: string): Netlink {
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  return nl;
}

/** This process's fds and threads with no monitor open (libuv's pool started, so it counts). */
async function baseline(): Promise<{ fds: number; threads: number }> {
  await readFile('/proc/self/status');
  return resources();
}

let sentinels = 0;
/**
 * Makes a change and waits for its event: from then on the reader thread is reading the monitor
 * (changes made before it started wait in the kernel buffer, which a test may make tiny). The
 * change is a neighbour on v0 (see `underlay`): one small notification, where a new link is a
 * burst of large ones that a tiny buffer cannot hold.
 */
async function reading(rec: Recorder, ns: string): Promise<number> {
  const n = sentinels++;
  const address = `10.5.0.${200 + (n % 50)}`;
  const lladdr = `02:00:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
  ipSync(ns, 'neigh', 'replace', address, 'lladdr', lladdr, 'dev', 'v0');
  return 1 + (await rec.waitFor(change('new', 'neighbour', { address, lladdr }), `sentinel ${n}`));
}

const ifindex = (ns: string, name: string) =>
  (ipJsonSync<{ ifindex: number }[]>(ns, 'link', 'show', 'dev', name)[0] as { ifindex: number })
    .ifindex;

interface Step {
  /** iproute2 argv: `ip` or `bridge`, then its arguments (run with -n ns). */
  run: string[];
  what: string;
  /** The event it must produce (built after the command ran, so ifindexes can be looked up). */
  expect: () => (e: MonitorEvent) => boolean;
}

t.test('iproute2 changes arrive as decoded events, in order', async (t) => {
  const ns = underlay(t, 'ev');
  const mon = monitor(t, { netns: ns });
  t.same(mon.groups, ['link', 'address', 'route', 'nexthop', 'rule', 'neigh'], 'default groups');
  const rec = new Recorder(mon);
  const step = (run: string, what: string, expect: Step['expect']): Step => ({
    run: run.split(' '),
    what,
    expect,
  });
  const steps: Step[] = [
    step('ip link add br0 type bridge', 'link br0', () => change('new', 'link', { name: 'br0' })),
    step(
      'ip link add vx0 type vxlan id 42 dstport 4789 nolearning local 10.5.0.1 dev v0',
      'link vx0',
      () => (e) =>
        change('new', 'link', { name: 'vx0', kind: 'vxlan' })(e) &&
        (e as { object: { vxlan?: { vni: number; port: number } } }).object.vxlan?.vni === 42,
    ),
    step('ip addr add 10.1.0.1/24 dev br0', 'address 10.1.0.1/24', () =>
      change('new', 'address', { address: '10.1.0.1', prefixLength: 24, family: 4 }),
    ),
    step('ip link set br0 up mtu 1400', 'br0 up', () =>
      change('new', 'link', { name: 'br0', up: true, mtu: 1400 }),
    ),
    step('ip route add 10.2.0.0/24 via 10.5.0.2 dev v0 metric 7', 'route', () =>
      change('new', 'route', { dst: '10.2.0.0/24', via: '10.5.0.2', metric: 7 }),
    ),
    step('ip -6 route add fd01::/64 via fd00:5::2 dev v0', 'IPv6 route', () =>
      change('new', 'route', { dst: 'fd01::/64', via: 'fd00:5::2', family: 6 }),
    ),
    step(
      'ip neigh replace 10.5.0.9 lladdr 02:00:00:00:00:09 dev v0 nud permanent',
      'neighbour',
      () =>
        change('new', 'neighbour', {
          address: '10.5.0.9',
          lladdr: '02:00:00:00:00:09',
          state: 0x80,
        }),
    ),
    step('ip -6 neigh replace fd00:5::9 lladdr 02:00:00:00:00:0a dev v0', 'IPv6 neighbour', () =>
      change('new', 'neighbour', { address: 'fd00:5::9', family: 6 }),
    ),
    step('bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.168.1.2', 'fdb all-zero', () =>
      change('new', 'fdb', { lladdr: '00:00:00:00:00:00', dst: '192.168.1.2' }),
    ),
    step(
      'bridge fdb replace 70:b3:d5:80:00:02 dev vx0 dst 192.168.1.3 self permanent',
      'fdb entry',
      () =>
        change('new', 'fdb', {
          lladdr: '70:b3:d5:80:00:02',
          dst: '192.168.1.3',
          index: ifindex(ns, 'vx0'),
        }),
    ),
    step('ip nexthop add id 7 via 10.5.0.7 dev v0', 'nexthop', () =>
      change('new', 'nexthop', { id: 7, via: '10.5.0.7', dev: ifindex(ns, 'v0') }),
    ),
    step('ip route add 10.3.0.0/24 nhid 7', 'route by nhid', () =>
      change('new', 'route', { dst: '10.3.0.0/24', nhid: 7 }),
    ),
    step('ip nexthop replace id 7 via 10.5.0.8 dev v0', 'nexthop replaced', () =>
      change('new', 'nexthop', { id: 7, via: '10.5.0.8' }),
    ),
    step('ip rule add priority 100 from 10.9.0.0/16 table 100', 'rule', () =>
      change('new', 'rule', { priority: 100, src: '10.9.0.0/16', table: 100 }),
    ),
    step('ip -6 rule add priority 101 to fd09::/16 table 101', 'IPv6 rule', () =>
      change('new', 'rule', { priority: 101, dst: 'fd09::/16', family: 6 }),
    ),
    step('ip rule del priority 100', 'rule deleted', () =>
      change('del', 'rule', { priority: 100, table: 100 }),
    ),
    step('ip route del 10.3.0.0/24', 'route by nhid deleted', () =>
      change('del', 'route', { dst: '10.3.0.0/24' }),
    ),
    step('ip nexthop del id 7', 'nexthop deleted', () => change('del', 'nexthop', { id: 7 })),
    step('bridge fdb del 70:b3:d5:80:00:02 dev vx0 self', 'fdb entry deleted', () =>
      change('del', 'fdb', { lladdr: '70:b3:d5:80:00:02' }),
    ),
    step('ip neigh del 10.5.0.9 dev v0', 'neighbour deleted', () =>
      change('del', 'neighbour', { address: '10.5.0.9' }),
    ),
    step('ip route del 10.2.0.0/24', 'route deleted', () =>
      change('del', 'route', { dst: '10.2.0.0/24' }),
    ),
    step('ip addr del 10.1.0.1/24 dev br0', 'address deleted', () =>
      change('del', 'address', { address: '10.1.0.1' }),
    ),
    step('ip link set vx0 master br0', 'vx0 enslaved', () =>
      change('new', 'link', { name: 'vx0', master: ifindex(ns, 'br0') }),
    ),
    step('ip link set vx0 nomaster', 'vx0 released', () =>
      change('new', 'link', { name: 'vx0', master: undefined }),
    ),
    step('ip link del vx0', 'link deleted', () => change('del', 'link', { name: 'vx0' })),
  ];
  const found: number[] = [];
  for (const s of steps) {
    const [cmd, ...args] = s.run as [string, ...string[]];
    if (cmd === 'ip') ipSync(ns, ...args);
    else bridgeJsonSync(ns, ...args);
    // Each change's event comes after the previous change's.
    found.push(await rec.waitFor(s.expect(), s.what, (found.at(-1) ?? -1) + 1));
  }
  t.equal(found.length, steps.length, 'every change was reported, in order');
  t.same(
    rec.events.filter((e) => e.type !== 'new' && e.type !== 'del'),
    [],
    'no error or overrun',
  );
  t.notOk(
    rec.events.some(
      (e) =>
        e.type === 'del' &&
        e.kind === 'link' &&
        (e.object.name === 'br0' || e.object.name === 'v0'),
    ),
    'a port leaving its bridge is not reported as a deleted link',
  );

  // The same decoders as dumps: an event's object is what a list returns for that entry.
  const nl = handle(t, ns);
  ipSync(ns, 'route', 'add', '10.4.0.0/24', 'via', '10.5.0.4', 'dev', 'v0', 'proto', 'static');
  ipSync(ns, 'nexthop', 'add', 'id', '9', 'via', '10.5.0.9', 'dev', 'v0');
  ipSync(ns, 'rule', 'add', 'priority', '300', 'fwmark', '0x10/0xff', 'table', '300');
  const route = await rec.waitFor(change('new', 'route', { dst: '10.4.0.0/24' }), 'route');
  const nh = await rec.waitFor(change('new', 'nexthop', { id: 9 }), 'nexthop');
  const rule = await rec.waitFor(change('new', 'rule', { priority: 300 }), 'rule');
  // (unknown attributes compared by content: their offsets are where they sat in the datagram)
  const plain = (o: unknown) =>
    JSON.parse(
      JSON.stringify(o, (k, v) =>
        k === 'unknown'
          ? (v as RawAttribute[]).map((a) => ({ type: a.rawType, data: a.data.toString('hex') }))
          : v,
      ),
    );
  const obj = (i: number) => plain((rec.events[i] as ChangeEvent).object);
  t.same(
    obj(route),
    plain((await nl.routes.list()).find((r) => r.dst === '10.4.0.0/24')),
    'route event = listed route',
  );
  t.same(obj(nh), plain(await nl.nexthops.get(9)), 'nexthop event = nexthop get');
  t.same(
    obj(rule),
    plain((await nl.rules.list(4)).find((r) => r.priority === 300)),
    'rule event = listed rule',
  );
});

t.test('the library’s own changes carry its port id', async (t) => {
  const ns = underlay(t, 'own');
  const mon = monitor(t, { netns: ns, groups: ['neigh', 'route', 'nexthop'] });
  const rec = new Recorder(mon);
  const nl = handle(t, ns);
  await nl.neighbours.replace({ dev: 'v0', address: '10.5.0.20', lladdr: '02:00:00:00:00:20' });
  await nl.nexthops.add({ id: 20, via: '10.5.0.20', dev: 'v0' });
  await nl.routes.add({ dst: '10.20.0.0/16', nhid: 20 });
  ipSync(ns, 'route', 'add', '10.21.0.0/16', 'via', '10.5.0.21', 'dev', 'v0');
  const mine = [
    await rec.waitFor(change('new', 'neighbour', { address: '10.5.0.20' }), 'neighbour'),
    await rec.waitFor(change('new', 'nexthop', { id: 20 }), 'nexthop'),
    await rec.waitFor(change('new', 'route', { dst: '10.20.0.0/16' }), 'route'),
  ].map((i) => (rec.events[i] as ChangeEvent).portId);
  t.same(mine, [nl.portId, nl.portId, nl.portId], 'portId is the handle’s');
  const theirs = await rec.waitFor(change('new', 'route', { dst: '10.21.0.0/16' }), 'ip route');
  const port = (rec.events[theirs] as ChangeEvent).portId;
  t.ok(port !== nl.portId && port !== 0, `iproute2's change has its own port (${port})`);
});

t.test('events of other namespaces are not seen', async (t) => {
  const a = underlay(t, 'a');
  const b = underlay(t, 'b');
  const recA = new Recorder(monitor(t, { netns: a }));
  const recB = new Recorder(monitor(t, { netns: b, groups: ['link', 'neigh'] }));
  ipSync(b, 'link', 'add', 'only-b', 'type', 'bridge');
  ipSync(b, 'neigh', 'replace', '10.5.0.30', 'lladdr', '02:00:00:00:00:30', 'dev', 'v0');
  ipSync(a, 'link', 'add', 'only-a', 'type', 'bridge');
  await recB.waitFor(change('new', 'neighbour', { address: '10.5.0.30' }), 'in b');
  await recA.waitFor(change('new', 'link', { name: 'only-a' }), 'in a');
  await sleep(50);
  const names = (r: Recorder) =>
    r.events.flatMap((e) => (e.type === 'new' && e.kind === 'link' ? [e.object.name] : []));
  t.notOk(names(recA).includes('only-b'), 'a does not see b’s link');
  t.notOk(
    recA.events.some((e) => e.type === 'new' && e.kind === 'neighbour'),
    'nor b’s neighbour',
  );
  t.notOk(names(recB).includes('only-a'), 'b does not see a’s link');
  t.notOk(
    recB.events.some((e) => 'kind' in e && !['link', 'neighbour', 'fdb'].includes(e.kind)),
    'b gets only the groups it joined (FDB entries come with neigh)',
  );
});

t.test('close() stops delivery and frees the socket and the reader thread', async (t) => {
  const ns = underlay(t, 'close');
  const before = await baseline();
  const mon = Netlink.monitor({ netns: ns, groups: ['link'] });
  const rec = new Recorder(mon);
  ipSync(ns, 'link', 'add', 'c0', 'type', 'bridge');
  await rec.waitFor(change('new', 'link', { name: 'c0' }), 'c0');
  t.ok(resources().threads > before.threads, 'a reader thread runs');
  let closeEvents = 0;
  mon.on('close', () => closeEvents++);
  const closing = mon.close();
  t.equal(mon.closed, true);
  t.equal(mon.close(), closing, 'close() twice is the same close');
  const seen = rec.events.length;
  ipSync(ns, 'link', 'add', 'c1', 'type', 'bridge');
  await closing;
  await sleep(100);
  t.equal(rec.events.length, seen, 'no event after close()');
  t.equal(closeEvents, 1, 'one close event');
  t.same(resources(), before, 'no fd or thread left');
  // A closed monitor's iterator ends at once.
  const it = mon[Symbol.asyncIterator]();
  t.same(await it.next(), { value: undefined, done: true });
});

t.test('the process ends normally after close(), and promptly on exit()', async (t) => {
  const ns = netns(t, 'exit');
  const script = fileURLToPath(new URL('./fixtures/monitor-exit.js', import.meta.url));
  /**
   * Runs the fixture; `ms` is from its last line of output to its end. With `killAfterMs`, kills
   * it that long after its output.
   */
  const run = (mode: string, killAfterMs?: number) =>
    new Promise<{ out: string; code: number | null; signal: string | null; ms: number }>(
      (resolve) => {
        let last = performance.now();
        const child = execFile(process.execPath, [script, ns, mode], (err, stdout) => {
          const e = err as (Error & { code?: number; signal?: string }) | null;
          resolve({
            out: stdout,
            code: e ? (e.code ?? null) : 0,
            signal: e?.signal ?? null,
            ms: performance.now() - last,
          });
        });
        child.stdout?.on('data', () => {
          last = performance.now();
          // Still alive this long after its event (the child may take a while to start)?
          if (killAfterMs) setTimeout(() => child.kill('SIGTERM'), killAfterMs);
        });
      },
    );
  const closed = await run('close');
  t.equal(closed.out, 'event\nclosed\n');
  t.equal(closed.code, 0, 'ended by itself after close()');
  ipSync(ns, 'link', 'del', 'exitbr');
  // The reader sleeps in poll() with a 1 s safety timeout: exit must not wait for it.
  const exits: number[] = [];
  for (let i = 0; i < 3; i++) {
    const exited = await run('exit');
    t.equal(exited.out, 'event\nexiting\n');
    t.equal(exited.code, 0);
    exits.push(exited.ms);
    ipSync(ns, 'link', 'del', 'exitbr');
  }
  t.ok(
    Math.min(...exits) < 500,
    `process.exit() with a monitor open: ended ${exits.map((x) => x.toFixed(0)).join(', ')} ms later`,
  );
  const open = await run('open', 1000);
  t.equal(open.out, 'event\n');
  t.equal(open.signal, 'SIGTERM', 'an open monitor keeps the process alive');
});

t.test('an overrun (receive buffer full) is reported and the monitor goes on', async (t) => {
  const ns = underlay(t, 'over');
  const nl = handle(t, ns);
  const flood = (from: number, n: number) =>
    nl.batch(
      Array.from({ length: n }, (_, i) => ({
        kind: 'neighbour' as const,
        action: 'replace' as const,
        spec: {
          dev: 'v0',
          address: `10.6.${(from + i) >> 8}.${(from + i) & 255}`,
          lladdr: '02:00:00:00:00:01',
        },
      })),
    );
  // Flooding: thousands of notifications generated inside each sendto() of the batch, faster
  // than any reader, into a receive buffer of the kernel's minimum (a few of them): the kernel
  // drops most.
  const mon = monitor(t, { netns: ns, groups: ['neigh'], receiveBufferBytes: 1 });
  const rec = new Recorder(mon);
  const start = await reading(rec, ns);
  const results = await flood(0, 3000);
  t.ok(results.every((r) => r.ok));
  const over = await rec.waitFor((e) => e.type === 'overrun', 'overrun', start);
  const after = await reading(rec, ns);
  t.ok(after > over + 1, 'events after the overrun are delivered');
  const neighbours = rec.events.filter((e) => e.type === 'new' && e.kind === 'neighbour').length;
  t.ok(neighbours < 3000, `${neighbours} of 3000 notifications delivered, the rest dropped`);
  t.same(
    rec.events.filter((e) => e.type === 'error'),
    [],
    'no error: an overrun is its own event',
  );

  // Paused: nothing is read, the kernel buffer fills, resume() reports the overrun.
  const paused = monitor(t, { netns: ns, groups: ['neigh', 'link'], receiveBufferBytes: 1 });
  const recP = new Recorder(paused);
  await reading(recP, ns);
  paused.pause();
  await sleep(20); // (the reader may be handing over the sentinel's last notifications)
  const seen = recP.events.length;
  await flood(3000, 200);
  await sleep(50);
  t.equal(recP.events.length, seen, 'a paused monitor delivers nothing');
  paused.resume();
  await recP.waitFor((e) => e.type === 'overrun', 'overrun after resume', seen);
  t.ok(recP.events.length - seen < 200, 'most of the 200 were dropped');
});

t.test('async iteration, backpressure and break', async (t) => {
  const ns = underlay(t, 'iter');
  const nl = handle(t, ns);
  const mon = Netlink.monitor({
    netns: ns,
    groups: ['neigh', 'link'],
    receiveBufferBytes: 1,
    highWaterMark: 8,
  });
  const it = mon[Symbol.asyncIterator]();
  const got: MonitorEvent[] = [];
  /** Takes events until none comes for 300 ms. */
  const take = async () => {
    for (;;) {
      const r = await Promise.race([it.next(), sleep(300).then(() => undefined)]);
      if (!r || r.done) return;
      got.push(r.value);
    }
  };
  // The reader is reading once a change made now comes out (see `reading`).
  ipSync(ns, 'neigh', 'replace', '10.5.0.199', 'lladdr', '02:00:00:00:01:99', 'dev', 'v0');
  for (;;) {
    const r = await Promise.race([it.next(), sleep(5000).then(() => undefined)]);
    if (!r || r.done) throw new Error('no event from the iterator');
    if (r.value.type === 'new' && r.value.kind === 'neighbour') break;
  }
  await take();
  got.length = 0;
  // Nobody reads: past 8 queued events the monitor stops reading, the kernel buffer overflows.
  for (let i = 0; i < 100; i++) {
    await nl.neighbours.replace({ dev: 'v0', address: `10.7.0.${i}`, lladdr: '02:00:00:00:00:02' });
    await sleep(1); // the event loop takes the reader's batches
  }
  await take();
  const changes = got.filter((e) => e.type === 'new').length;
  t.ok(changes >= 8 && changes < 100, `${changes} events queued before the pause`);
  t.ok(
    got.some((e) => e.type === 'overrun'),
    'the events dropped while paused are reported as an overrun',
  );
  // Resumed once drained: new events flow again.
  await nl.neighbours.replace({ dev: 'v0', address: '10.7.1.1', lladdr: '02:00:00:00:00:03' });
  const next = await it.next();
  t.match(next.value, { type: 'new', kind: 'neighbour', object: { address: '10.7.1.1' } });

  // for await: leaving the loop closes the monitor.
  setTimeout(
    () => ipSync(ns, 'neigh', 'replace', '10.7.1.2', 'lladdr', '02:00:00:00:00:04', 'dev', 'v0'),
    20,
  );
  for await (const e of mon) {
    if (e.type === 'new' && e.kind === 'neighbour' && e.object.address === '10.7.1.2') break;
  }
  t.equal(mon.closed, true, 'break closed the monitor');
  t.same(await it.next(), { value: undefined, done: true }, 'other iterators end');
});

t.test('many monitors at once, opened and closed', async (t) => {
  const before = await baseline();
  const spaces = [underlay(t, 'm'), underlay(t, 'm'), underlay(t, 'm'), underlay(t, 'm')];
  const one = Netlink.monitor({ groups: ['link'] });
  const withOne = resources().threads;
  await one.close();
  const mons = Array.from({ length: 40 }, (_, i) => {
    const ns = spaces[i % spaces.length] as string;
    return { ns, mon: Netlink.monitor({ netns: ns, groups: ['link'] }) };
  });
  const recs = mons.map(({ mon }) => new Recorder(mon));
  t.equal(resources().threads, withOne, '40 monitors, as many threads as with one');
  for (const [k, ns] of spaces.entries()) ipSync(ns, 'link', 'add', `many${k}`, 'type', 'bridge');
  await Promise.all(
    mons.map(({ ns }, i) =>
      (recs[i] as Recorder).waitFor(
        change('new', 'link', { name: `many${spaces.indexOf(ns)}` }),
        `monitor ${i}`,
      ),
    ),
  );
  for (const [i, r] of recs.entries()) {
    const own = `many${spaces.indexOf((mons[i] as { ns: string }).ns)}`;
    t.notOk(
      r.events.some(
        (e) =>
          'kind' in e &&
          e.kind === 'link' &&
          e.object.name.startsWith('many') &&
          e.object.name !== own,
      ),
      `monitor ${i} sees only its namespace`,
    );
  }
  // Close half, the rest still work.
  await Promise.all(mons.filter((_, i) => i % 2 === 0).map(({ mon }) => mon.close()));
  ipSync(spaces[0] as string, 'link', 'add', 'late0', 'type', 'bridge');
  ipSync(spaces[1] as string, 'link', 'add', 'late1', 'type', 'bridge');
  await (recs[1] as Recorder).waitFor(change('new', 'link', { name: 'late1' }), 'late1');
  await sleep(50);
  t.notOk(
    (recs[0] as Recorder).events.some(change('new', 'link', { name: 'late0' })),
    'a closed monitor gets nothing',
  );
  await Promise.all(mons.map(({ mon }) => mon.close()));
  t.same(resources(), before, 'all closed: no fd or thread left');
  // Open and close in a row, also without waiting for close().
  for (let i = 0; i < 30; i++) {
    const mon = Netlink.monitor({ netns: spaces[i % 4] as string, groups: ['link', 'nexthop'] });
    if (i % 3 === 0) await mon.close();
    else void mon.close();
  }
  const last = Netlink.monitor({ netns: spaces[0] as string });
  const rec = new Recorder(last);
  ipSync(spaces[0] as string, 'link', 'add', 'final', 'type', 'bridge');
  await rec.waitFor(change('new', 'link', { name: 'final' }), 'final');
  await last.close();
  t.same(resources(), before, 'after 30 more: no fd or thread left');
});

t.test('bad options are typed errors and leak nothing', async (t) => {
  const before = await baseline();
  t.throws(() => Netlink.monitor({ groups: ['links' as 'link'] }), NetlinkSpecError);
  t.throws(() => Netlink.monitor({ groups: [] }), NetlinkSpecError);
  t.throws(() => Netlink.monitor({ receiveBufferBytes: 0 }), NetlinkSpecError);
  t.throws(() => Netlink.monitor({ highWaterMark: 1.5 }), NetlinkSpecError);
  const err = (() => {
    try {
      Netlink.monitor({ netns: `nlt-missing-${process.pid}` });
    } catch (e) {
      return e;
    }
  })();
  t.type(err, NetlinkError);
  t.match(err, { code: 'ENOENT', kind: 'namespace' });
  t.same(resources(), before);
});
