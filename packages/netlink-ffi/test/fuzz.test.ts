// Random, truncated and corrupted buffers fed to every decoder (seeded; VNET_SEED
// re-runs a failure). A decoder returns a value or throws NetlinkDecodeError, nothing else. The
// corpus mixes encoder output with real kernel replies and notifications captured from a fresh
// namespace. A monitor's datagram decoding never throws at all (bad messages become error
// events), also when the datagrams reach a live monitor through its reader thread.
import { execFileSync } from 'node:child_process';
import { requireRoot } from '@vnet/testkit';
import t, { type Test } from 'tap';
import { type Message, parseMessages, setSeq } from '../src/codec/attributes.js';
import { parseDoneMessage, parseErrorMessage } from '../src/codec/control.js';
import {
  decodeAddress,
  decodeFdb,
  decodeLink,
  decodeNeighbour,
  decodeNexthop,
  decodeRoute,
  decodeRule,
  MONITOR_GROUPS,
  Netlink,
  NetlinkDecodeError,
} from '../src/index.js';
import { decodeDatagram, type MonitorEvent } from '../src/monitor/events.js';
import { encodeAddress, encodeAddressList } from '../src/objects/address.js';
import { encodeLinkAdd, encodeLinkList } from '../src/objects/link.js';
import {
  encodeFdb,
  encodeFdbList,
  encodeNeighbour,
  encodeNeighbourList,
} from '../src/objects/neighbour.js';
import { encodeNexthop, encodeNexthopList } from '../src/objects/nexthop.js';
import { encodeRoute, encodeRouteList } from '../src/objects/route.js';
import { encodeRule, encodeRuleList } from '../src/objects/rule.js';
import { libc } from '../src/sys/libc.js';
import { NetlinkSocket } from '../src/sys/socket.js';
import { context, encoded } from './helpers/encode.js';
import { netns } from './helpers/netns.js';
import { type Rng, seeded } from './helpers/random.js';

requireRoot(t, 'network namespaces');

const CTX = context(3);
const DECODERS: ((m: Message) => unknown)[] = [
  decodeLink,
  decodeAddress,
  decodeRoute,
  decodeRule,
  decodeNeighbour,
  decodeFdb,
  decodeNexthop,
  parseErrorMessage,
  parseDoneMessage,
];

/** Requests as the encoders write them. */
function requests(): Buffer[] {
  const each: ((ctx: typeof CTX) => void)[] = [
    (ctx) =>
      encodeLinkAdd(
        {
          name: 'vtep1024',
          kind: 'vxlan',
          mtu: 1450,
          address: '70:b3:d5:80:00:01',
          vxlan: {
            vni: 1024,
            port: 64000,
            local: 'fd00::1',
            group: '239.1.1.1',
            learning: false,
            ttl: 3,
          },
        },
        ctx,
      ),
    (ctx) =>
      encodeLinkAdd(
        { name: 'br', kind: 'bridge', bridge: { stp: true, vlanFiltering: true } },
        ctx,
      ),
    (ctx) =>
      encodeLinkAdd({ name: 'a', kind: 'veth', peer: { name: 'b', netns: 'x', mtu: 9000 } }, ctx),
    (ctx) =>
      encodeAddress('add', { dev: 1, address: '10.0.0.1/8', peer: '10.0.0.2', label: 'l' }, ctx),
    (ctx) =>
      encodeRoute('add', { dst: 'fd00::/8', via: 'fd00::1', dev: 2, metric: 4, table: 500 }, ctx),
    (ctx) => encodeRoute('replace', { dst: '10.1.2.0/24', nhid: 77 }, ctx),
    (ctx) =>
      encodeRule(
        'add',
        { src: '10.0.0.0/8', dst: '10.1.0.0/16', iif: 'x', oif: 'y', fwmark: 1, table: 900 },
        ctx,
      ),
    (ctx) =>
      encodeNeighbour(
        'add',
        { dev: 1, address: 'fd00::1', lladdr: '70:b3:d5:80:00:01', router: true },
        ctx,
      ),
    (ctx) =>
      encodeFdb(
        'append',
        { dev: 1, lladdr: '00:00:00:00:00:00', dst: '10.0.0.1', vni: 5, port: 6, vlan: 7, via: 2 },
        ctx,
      ),
    (ctx) =>
      encodeNexthop('add', { id: 5, via: '44.128.0.2', dev: 1, onlink: true, protocol: 4 }, ctx),
    (ctx) =>
      encodeNexthop(
        'replace',
        {
          id: 6,
          group: [{ id: 5, weight: 3 }, { id: 7 }],
        },
        ctx,
      ),
  ];
  return each.map((encode) => encoded(encode, CTX));
}

/** Every multicast group a monitor can join. */
const ALL_GROUPS = [...new Set(Object.values(MONITOR_GROUPS).flat())];

/**
 * Real datagrams: dump replies of every kind and an extended-ack error, and the notifications
 * (as a monitor receives them) of making all that.
 */
async function captured(t: Test): Promise<{ notifications: Buffer[]; replies: Buffer[] }> {
  const ns = netns(t, 'f');
  const listener = NetlinkSocket.open({ netns: ns, groups: ALL_GROUPS });
  const nl = Netlink.in(ns);
  await nl.links.add({ name: 'u0', kind: 'veth', peer: { name: 'u1' }, up: true });
  await nl.addresses.add({ dev: 'u0', address: '192.168.9.1/24' });
  await nl.addresses.add({ dev: 'u0', address: 'fd00::1/64', flags: 2 });
  await nl.links.add({
    name: 'vx',
    kind: 'vxlan',
    vxlan: { vni: 7, dev: 'u0', port: 4789 },
    up: true,
  });
  await nl.links.add({ name: 'br', kind: 'bridge', up: true });
  await nl.neighbours.add({ dev: 'vx', address: '10.0.0.2', lladdr: '70:b3:d5:80:00:02' });
  await nl.fdb.append({ dev: 'vx', lladdr: '00:00:00:00:00:00', dst: '192.168.9.2' });
  await nl.routes.add({ dst: '10.9.0.0/16', via: '10.0.0.2', dev: 'vx', onlink: true });
  await nl.nexthops.add({ id: 1, via: '10.0.0.3', dev: 'vx', onlink: true });
  await nl.nexthops.add({ id: 2, via: 'fe80::2', dev: 'vx' });
  await nl.nexthops.add({ id: 3, group: [{ id: 1 }, { id: 2, weight: 5 }] });
  await nl.routes.add({ dst: '10.8.0.0/16', nhid: 1 });
  await nl.routes.add({ dst: '10.7.0.0/16', nhid: 3 });
  await nl.rules.add({ priority: 5, src: '10.0.0.0/8', table: 5 });
  await nl.rules.add({ priority: 6, dst: 'fd00::/8', table: 6 });
  await nl.nexthops.delete(3);
  await nl.neighbours.delete({ dev: 'vx', address: '10.0.0.2' });
  await nl.fdb.delete({ dev: 'vx', lladdr: '00:00:00:00:00:00', dst: '192.168.9.2' });
  await nl.rules.delete({ priority: 5, src: '10.0.0.0/8', table: 5 });
  await nl.addresses.delete({ dev: 'u0', address: '192.168.9.1/24' });
  await nl.links.delete('br');
  nl.close();
  const notifications: Buffer[] = [];
  for (let d = listener.receive(false); d; d = listener.receive(false)) notifications.push(d);
  listener.close();
  const sock = NetlinkSocket.open({ netns: ns });
  const out: Buffer[] = [];
  const messages: Buffer[] = [
    encodeLinkList({}, CTX).message,
    encodeAddressList({}, CTX).message,
    encodeRouteList({ table: 0 }, CTX).message,
    encodeRuleList(undefined).message,
    encodeNeighbourList({}, CTX).message,
    encodeFdbList({}, CTX).message,
    encodeNexthopList({}, CTX).message,
    encoded((ctx) => encodeRoute('add', { dst: '10.6.0.0/16', via: '10.0.0.2', dev: 999 }, ctx)),
  ];
  for (const [i, message] of messages.entries()) {
    setSeq(message, i + 1);
    sock.send(message);
    for (;;) {
      const d = sock.receive(true) as Buffer;
      out.push(d);
      const last = parseMessages(d).at(-1);
      if (!last || last.type === 2 || last.type === 3) break;
    }
  }
  sock.close();
  return { notifications, replies: out };
}

function mutate(r: Rng, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (r.int(6)) {
    case 0:
      return b.subarray(0, r.int(b.length + 1));
    case 1:
      for (let i = 1 + r.int(8); i > 0 && b.length; i--) b[r.int(b.length)] = r.int(256);
      return b;
    case 2: {
      // A length or type field set to an awkward value.
      if (b.length < 2) return b;
      const at = r.int(b.length - 1) & ~1;
      b.writeUInt16LE(
        r.pick([0, 1, 3, 4, 5, 7, 8, 0x8000, 0xffff, b.length - at, b.length - at + 1]),
        at,
      );
      return b;
    }
    case 3:
      if (b.length >= 4)
        b.writeUInt32LE(r.pick([0, 15, 16, 17, b.length, b.length + 4, 0xffffffff]), 0);
      return b;
    case 4:
      return r.bytes(r.int(96));
    default:
      return Buffer.concat([b, r.bytes(r.int(24))]);
  }
}

/**
 * Decodes a datagram as a monitor does; returns what went wrong: an exception (it must never
 * throw), or an error event that is not a plain NetlinkDecodeError (a decoder bug wrapped).
 */
function monitorDecode(buf: Buffer): unknown {
  const events: MonitorEvent[] = [];
  try {
    decodeDatagram(buf, events);
  } catch (e) {
    return e;
  }
  for (const e of events) {
    if (e.type !== 'error') continue;
    if (!(e.error instanceof NetlinkDecodeError) || (e.error as { cause?: unknown }).cause) {
      return (e.error as { cause?: unknown }).cause ?? e.error;
    }
  }
  return undefined;
}

/** Runs every decoder; returns the first error that is not a NetlinkDecodeError. */
function decodeEverything(buf: Buffer): unknown {
  let messages: Message[];
  try {
    messages = parseMessages(buf);
  } catch (e) {
    return e instanceof NetlinkDecodeError ? undefined : e;
  }
  for (const m of messages) {
    for (const decode of DECODERS) {
      try {
        decode(m);
      } catch (e) {
        if (!(e instanceof NetlinkDecodeError)) return e;
      }
    }
  }
  return undefined;
}

t.test('decoders only ever throw NetlinkDecodeError', async (t) => {
  const r = seeded(t);
  const { notifications, replies } = await captured(t);
  const corpus = [...requests(), ...notifications, ...replies];
  t.ok(corpus.length > 14, `corpus of ${corpus.length} buffers`);
  for (const c of corpus) t.equal(decodeEverything(c), undefined, 'the unmodified corpus decodes');
  let bad = 0;
  // Every truncation of every corpus item, then random mutations.
  for (const c of corpus) {
    for (let len = 0; len < c.length && bad < 3; len++) {
      const e = decodeEverything(c.subarray(0, len));
      if (e) {
        bad++;
        t.fail(`truncated to ${len}: ${String(e)}\n${c.subarray(0, len).toString('hex')}`);
      }
    }
  }
  for (let i = 0; i < 30000 && bad < 3; i++) {
    let input = r.pick(corpus);
    for (let k = 1 + r.int(3); k > 0; k--) input = mutate(r, input);
    const e = decodeEverything(input);
    if (e) {
      bad++;
      t.fail(
        `seed ${r.seed}, iteration ${i}: ${String((e as Error).stack ?? e)}\n${input.toString('hex')}`,
      );
    }
  }
  t.equal(bad, 0, `seed ${r.seed}`);
});

t.test('a monitor decodes any datagram without throwing', async (t) => {
  const r = seeded(t);
  const { notifications, replies } = await captured(t);
  // Real notifications decode cleanly, to events of every kind.
  const events: MonitorEvent[] = [];
  for (const d of notifications) decodeDatagram(d, events);
  t.same(
    events.filter((e) => e.type === 'error'),
    [],
    `${notifications.length} notifications, no error`,
  );
  const kinds = new Set(events.map((e) => ('kind' in e ? `${e.type} ${e.kind}` : e.type)));
  for (const kind of ['link', 'address', 'route', 'nexthop', 'rule', 'neighbour', 'fdb']) {
    t.ok(kinds.has(`new ${kind}`) && kinds.has(`del ${kind}`), `new and del ${kind}`);
  }
  const corpus = [...notifications, ...replies, ...requests()];
  let bad = 0;
  const fail = (what: string, e: unknown, input: Buffer) => {
    bad++;
    t.fail(`${what}: ${String((e as Error).stack ?? e)}\n${input.toString('hex')}`);
  };
  for (const c of corpus) {
    for (let len = 0; len < c.length && bad < 3; len++) {
      const e = monitorDecode(c.subarray(0, len));
      if (e) fail(`truncated to ${len}`, e, c.subarray(0, len));
    }
  }
  for (let i = 0; i < 30000 && bad < 3; i++) {
    let input = r.pick(corpus);
    for (let k = 1 + r.int(3); k > 0; k--) input = mutate(r, input);
    // Also several messages per datagram, as the kernel sends them.
    if (r.int(4) === 0) input = Buffer.concat([r.pick(corpus), input]);
    const e = monitorDecode(input);
    if (e) fail(`seed ${r.seed}, iteration ${i}`, e, input);
  }
  t.equal(bad, 0, `seed ${r.seed}`);
});

t.test('a live monitor reports malformed datagrams and goes on', async (t) => {
  const r = seeded(t);
  const { notifications, replies } = await captured(t);
  const ns = netns(t, 'fm');
  const mon = Netlink.monitor({ netns: ns, groups: ['link', 'neigh'] });
  t.teardown(() => mon.close());
  const events: MonitorEvent[] = [];
  mon.on('event', (e) => events.push(e));
  // Datagrams sent straight to the monitor's port (allowed with CAP_NET_ADMIN), through the
  // reader thread and the batch framing, like notifications.
  const sender = NetlinkSocket.open({ netns: ns });
  t.teardown(() => sender.close());
  const to = Buffer.alloc(12);
  to.writeUInt16LE(16 /* AF_NETLINK */, 0);
  to.writeUInt32LE(mon.portId, 4);
  const corpus = [...notifications, ...replies];
  let sent = 0;
  for (let i = 0; i < 2000; i++) {
    let input = r.pick(corpus);
    for (let k = 1 + r.int(3); k > 0; k--) input = mutate(r, input);
    if (libc().sendto(sender.fd, input, input.length, 0, to, 12) >= 0) sent++;
    if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok(sent > 1900, `${sent} malformed datagrams sent`);
  execFileSync('ip', ['-n', ns, 'link', 'add', 'fz0', 'type', 'bridge']);
  const deadline = Date.now() + 5000;
  const isFz0 = (e: MonitorEvent) =>
    e.type === 'new' && e.kind === 'link' && e.object.name === 'fz0' && e.portId === 0;
  while (!events.some(isFz0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.ok(events.some(isFz0), 'a real change after them is still delivered');
  const errors = events.filter((e) => e.type === 'error');
  t.ok(errors.length > 100, `${errors.length} error events`);
  t.ok(
    errors.every(
      (e) =>
        e.type === 'error' &&
        e.error instanceof NetlinkDecodeError &&
        (e.error as { cause?: unknown }).cause === undefined,
    ),
    `seed ${r.seed}: every error is a NetlinkDecodeError (no decoder bug)`,
  );
  t.notOk(
    events.some((e) => e.type === 'overrun'),
    'no overrun',
  );
});
