// Policy routing rules through the library, checked against `ip -j rule`.

import { ipJsonSync, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { Netlink, NetlinkSpecError, type Rule } from '../src/index.js';
import { netns } from './helpers/netns.js';

requireRoot(t, 'network namespaces');

interface IpRule {
  priority: number;
  not?: null;
  src: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  fwmark?: string;
  fwmask?: string;
  iif?: string;
  oif?: string;
  table?: string;
  action?: string;
}

const TABLES: Record<string, number> = { main: 254, local: 255, default: 253 };

function view(r: Rule) {
  const action =
    r.action === 1 ? undefined : { 6: 'blackhole', 7: 'unreachable', 8: 'prohibit' }[r.action];
  return {
    priority: r.priority,
    not: r.invert,
    src: r.src ?? 'all',
    dst: r.dst,
    fwmark: r.fwmark,
    fwmask: r.fwmask,
    iif: r.iif,
    oif: r.oif,
    table: action ? undefined : r.table,
    action,
  };
}

function ipView(rules: IpRule[]) {
  return rules.map((r) => ({
    priority: r.priority,
    not: 'not' in r,
    src: r.src === 'all' ? 'all' : `${r.src}/${r.srclen ?? 32}`,
    dst: r.dst === undefined ? undefined : `${r.dst}/${r.dstlen ?? 32}`,
    fwmark: r.fwmark === undefined ? undefined : Number(r.fwmark),
    fwmask: r.fwmask === undefined ? undefined : Number(r.fwmask),
    iif: r.iif,
    oif: r.oif,
    table: r.table === undefined ? undefined : (TABLES[r.table] ?? Number(r.table)),
    action: r.action,
  }));
}

t.test('add, list and delete rules (IPv4 and IPv6)', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.rules.add({ priority: 100, src: '10.0.0.0/8', table: 100 });
  await nl.rules.add({
    priority: 200,
    invert: true,
    dst: '10.1.0.0/16',
    fwmark: 5,
    fwmask: 0xff,
    iif: 'v0',
    table: 2000,
  });
  await nl.rules.add({ priority: 300, action: 'blackhole' });
  await nl.rules.add({ priority: 400, oif: 'vx0', table: 7 });
  await nl.rules.add({ priority: 500, src: 'fd00::/8', table: 100 });

  t.same(
    (await nl.rules.list(4)).map(view),
    ipView(ipJsonSync<IpRule[]>(ns, '-4', 'rule', 'show')),
  );
  t.same(
    (await nl.rules.list(6)).map(view),
    ipView(ipJsonSync<IpRule[]>(ns, '-6', 'rule', 'show')),
  );
  t.equal(
    (await nl.rules.list()).length,
    (await nl.rules.list(4)).length + (await nl.rules.list(6)).length,
  );

  await nl.rules.delete({ priority: 200 });
  await nl.rules.delete({ priority: 100, src: '10.0.0.0/8', table: 100 });
  await nl.rules.delete({ priority: 500, family: 6 });
  t.same(
    ipJsonSync<IpRule[]>(ns, '-4', 'rule', 'show').map((r) => r.priority),
    [0, 300, 400, 32766, 32767],
  );
  t.same(
    ipJsonSync<IpRule[]>(ns, '-6', 'rule', 'show').map((r) => r.priority),
    [0, 32766],
  );
});

t.test('rule errors', async (t) => {
  const ns = netns(t);
  const nl = Netlink.in(ns);
  t.teardown(() => nl.close());
  await nl.rules.add({ priority: 100, src: '10.0.0.0/8', table: 100 });
  t.match(await nl.rules.add({ priority: 100, src: '10.0.0.0/8', table: 100 }).catch((e) => e), {
    code: 'EEXIST',
    operation: 'add',
    kind: 'rule',
    target: 'pref 100 from 10.0.0.0/8 lookup 100',
  });
  t.match(await nl.rules.delete({ priority: 999 }).catch((e) => e), {
    code: 'ENOENT',
    operation: 'delete',
    kind: 'rule',
  });
  for (const [spec, field] of [
    [{ src: '10.0.0.0/8', dst: 'fd00::/8' }, 'rule.dst'],
    [{ action: 'jump' }, 'rule.action'],
    [{ iif: 'bad name' }, 'rule.iif'],
    [{ priority: 2 ** 32 }, 'rule.priority'],
  ] as const) {
    const err = await nl.rules.add(spec as never).catch((e) => e);
    t.type(err, NetlinkSpecError, field);
    t.equal(err.field, field);
  }
});
