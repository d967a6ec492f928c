// Real sockets on 127.0.0.1: member processes (bench/member.ts) plus one member in this process.
import { createSocket } from 'node:dgram';
import t from 'tap';
import { MemberProcess, stopAll } from '../bench/members.js';
import type { Member } from '../src/membership/membership.js';
import { createSwim } from '../src/runtime/net.js';
import { JoinError, type Swim } from '../src/swim.js';
import { Keyring } from '../src/wire/keyring.js';

const settings = {
  probeInterval: 500,
  probeTimeout: 200,
  pushPullInterval: 5000,
  gossipInterval: 100,
};

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function names(members: Member[]): string[] {
  return members.map((m) => m.name).sort();
}

t.test('processes on 127.0.0.1 form a group, share keys, detect a kill and a leave', async (t) => {
  const procs: MemberProcess[] = [];
  let local: Swim | undefined;
  t.teardown(async () => {
    await stopAll(procs);
    await local?.close();
  });
  local = await createSwim({
    name: 'local',
    bindAddr: '127.0.0.1',
    bindPort: 0,
    profile: 'local',
    settings,
  });
  for (let i = 0; i < 4; i++)
    procs.push(new MemberProcess({ name: `p${i}`, profile: 'local', settings }));
  await Promise.all(procs.map((p) => p.ready()));
  for (const p of procs) p.send({ op: 'join', seeds: [local.address] });
  await until(() => local!.liveCount === 5, 20_000, 'the local member to see 5');
  await Promise.all(
    procs.map(async (p) => {
      for (const other of ['local', ...procs.map((x) => x.opts.name)].filter(
        (n) => n !== p.opts.name,
      )) {
        await p.waitFor((e) => e.ev === 'join' && e.member === other, 20_000, `join of ${other}`);
      }
    }),
  );
  t.same(names(local.members()), ['local', 'p0', 'p1', 'p2', 'p3'], 'everyone sees everyone');

  local.store.put('vtep/local', { vtepIp: '44.128.0.1' }, { bound: true });
  procs[1]!.send({ op: 'put', key: 'vtep/p1', value: { vtepIp: '44.128.0.2' }, bound: true });
  for (const p of procs)
    await p.waitFor((e) => e.ev === 'put' && e.key === 'vtep/local', 10_000, 'vtep/local');
  await until(() => local!.store.has('vtep/p1'), 10_000, 'vtep/p1 locally');
  t.same(local.store.get('vtep/p1'), { vtepIp: '44.128.0.2' });

  const victim = procs[1]!;
  victim.kill('SIGKILL');
  await until(() => local!.member('p1')?.state === 'dead', 30_000, 'p1 dead locally');
  for (const p of procs.filter((x) => x !== victim)) {
    await p.waitFor((e) => e.ev === 'dead' && e.member === 'p1', 30_000, 'p1 dead');
    await p.waitFor((e) => e.ev === 'delete' && e.key === 'vtep/p1', 10_000, 'vtep/p1 gone');
  }
  t.notOk(local.store.has('vtep/p1'), "the killed member's bound key is gone everywhere");

  const leaver = procs[2]!;
  leaver.send({ op: 'leave' });
  await until(() => local!.member('p2')?.state === 'left', 10_000, 'p2 left');
  for (const p of [procs[0]!, procs[3]!])
    await p.waitFor((e) => e.ev === 'leave' && e.member === 'p2', 10_000, 'leave of p2');
  t.ok(
    procs.every((p) => !p.events.some((e) => e.ev === 'dead' && e.member !== 'p1')),
    'no other member declared dead',
  );
  t.same(names(local.members()), ['local', 'p0', 'p3']);
});

t.test('garbage and foreign packets are dropped and counted; the member carries on', async (t) => {
  const a = await createSwim({
    name: 'a',
    bindAddr: '127.0.0.1',
    bindPort: 0,
    profile: 'local',
    settings,
  });
  const b = await createSwim({
    name: 'b',
    bindAddr: '127.0.0.1',
    bindPort: 0,
    profile: 'local',
    settings,
  });
  const raw = createSocket('udp4');
  t.teardown(async () => {
    raw.close();
    await Promise.all([a.close(), b.close()]);
  });
  await b.join([a.address]);
  const [host, port] = a.address.split(':') as [string, string];
  const send = (bytes: Uint8Array) =>
    new Promise<void>((r) => raw.send(bytes, Number(port), host, () => r()));
  await send(Buffer.from('hello, not a swim packet'));
  await send(Uint8Array.of(9, 0, 0x91, 0xa1, 0x61)); // future protocol version
  await send(Uint8Array.of(1, 0, 0xc1)); // msgpack's never-used byte
  await send(Uint8Array.of(1, 1, 1, 2, 3)); // "encrypted", but a has no keyring
  await send(Uint8Array.of(1, 0, 0x92, 0xa1, 0x78, 0x93, 0x01, 0xff, 0xa1, 0x61)); // ping with a bad seq
  for (let i = 0; i < 200; i++)
    await send(Buffer.from(Array.from({ length: 1 + (i % 90) }, (_, j) => (i * 31 + j * 7) & 255)));
  await until(
    () => {
      const d = a.stats().dropped;
      return d.version >= 1 && d.decode >= 2 && d.auth >= 1;
    },
    5000,
    'drops to be counted',
  );
  const s = a.stats();
  t.ok(s.dropped.version >= 1, 'wrong version counted');
  t.ok(s.dropped.decode >= 2, 'undecodable counted');
  t.ok(s.dropped.auth >= 1, 'unauthenticated counted');
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(a.member('b')?.state, 'alive', 'membership unaffected');
  a.store.put('still', 'working');
  await until(() => b.store.get('still') === 'working', 5000, 'gossip after garbage');
  t.pass('gossip still flows');
});

t.test('an encrypted group over real sockets; the wrong key cannot join', async (t) => {
  const key = Keyring.generateKey();
  const procs: MemberProcess[] = [];
  const mine: Swim[] = [];
  t.teardown(async () => {
    await stopAll(procs);
    await Promise.all(mine.map((s) => s.close()));
  });
  const seed = await createSwim({
    name: 'seed',
    bindAddr: '127.0.0.1',
    bindPort: 0,
    profile: 'local',
    settings,
    keyring: [key],
  });
  mine.push(seed);
  for (let i = 0; i < 2; i++)
    procs.push(new MemberProcess({ name: `e${i}`, profile: 'local', settings, key }));
  await Promise.all(procs.map((p) => p.ready()));
  for (const p of procs) p.send({ op: 'join', seeds: [seed.address] });
  await until(() => seed.liveCount === 3, 20_000, 'encrypted group of 3');
  const intruder = await createSwim({
    name: 'intruder',
    bindAddr: '127.0.0.1',
    bindPort: 0,
    profile: 'local',
    settings: { ...settings, joinRetries: 1 },
    keyring: [Keyring.generateKey()],
  });
  mine.push(intruder);
  await t.rejects(intruder.join([seed.address]), JoinError);
  t.ok(seed.stats().dropped.auth > 0, 'the seed counted the unauthenticated attempt');
  const plain = await createSwim({
    name: 'plain',
    bindAddr: '127.0.0.1',
    bindPort: 0,
    settings: { joinRetries: 1 },
  });
  mine.push(plain);
  await t.rejects(
    plain.join([seed.address]),
    JoinError,
    'an unencrypted member cannot join either',
  );
  t.equal(seed.liveCount, 3);
});

t.test('bad options get clear errors', async (t) => {
  await t.rejects(createSwim({ name: 'x', bindAddr: 'localhost' }), /bindAddr/);
  await t.rejects(createSwim({ name: '', bindAddr: '127.0.0.1', bindPort: 0 }), /name/);
  await t.rejects(
    createSwim({ name: 'x', bindAddr: '127.0.0.1', bindPort: 0, profile: 'fast' as never }),
    /unknown profile/,
  );
  await t.rejects(
    createSwim({ name: 'x', bindAddr: '127.0.0.1', bindPort: 0, keyring: ['short'] }),
    /32 bytes/,
  );
  const s = await createSwim({ name: 'x', bindAddr: '127.0.0.1', bindPort: 0 });
  t.teardown(() => s.close());
  await t.rejects(
    createSwim({ name: 'y', bindAddr: '127.0.0.1', bindPort: Number(s.address.split(':')[1]) }),
    /EADDRINUSE/,
  );
  await t.rejects(s.join(['127.0.0.1']), /no port/);
  const other = await createSwim({ name: 'z', bindAddr: '127.0.0.1', bindPort: 0 });
  t.teardown(() => other.close());
  t.equal(await other.join([`localhost:${s.address.split(':')[1]}`]), 1, 'seeds may be host names');
});
