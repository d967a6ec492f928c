// Random data-plane scenarios for dataplane-property.test.ts: a node and its peers (fast-check),
// the operations that build a desired state without diff(), and what gets planted in a kernel
// before the diff: changes to vnet's objects, stale objects vnet owns, objects of others, noise.

import { isGroupOrZeroMac } from '@vnet/ip';
import type { Link, Operation } from '@vnet/netlink-ffi';
import fc from 'fast-check';
import { desiredState } from '../../src/dataplane/desired.js';
import type { DesiredState, LocalNode } from '../../src/dataplane/types.js';
import { ip4 } from '../../src/net/addr.js';
import type { VtepRecordJson } from '../../src/protocol/vtep-record.js';
import { hex, ip6, record, share } from './dataplane-fixtures.js';
import type { KernelModel } from './kernel-model.js';

interface Peer {
  offset: number;
  underlay: number;
  blocks: boolean[];
  dual: boolean;
}

interface Overlay {
  enabled: boolean;
  isolated: boolean;
  block: boolean;
}

export interface Scenario {
  bridges: boolean;
  dual: boolean;
  overlays: Overlay[];
  peers: Peer[];
  vtepMtu: number | undefined;
  start:
    | { kind: 'empty' }
    | { kind: 'variant'; dropPeer: boolean[]; dropOverlay: boolean[]; mac: boolean; mtu: boolean };
  planted: Plant[];
  prune: boolean;
}

type Plant = { what: 'mutate' | 'extra' | 'foreign' | 'noise'; kind: number; pick: number };

const LOCAL_OFFSET = 1;

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  bridges: fc.boolean(),
  dual: fc.boolean(),
  // Mostly at least one overlay: without one there are no routes to diff.
  overlays: fc.oneof(
    { weight: 1, arbitrary: fc.constant([] as Overlay[]) },
    {
      weight: 6,
      arbitrary: fc.array(
        fc.record({
          enabled: fc.nat(4).map((n) => n > 0),
          isolated: fc.boolean(),
          block: fc.nat(3).map((n) => n > 0),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    },
  ),
  peers: fc.uniqueArray(
    fc.record({
      offset: fc.integer({ min: 2, max: 60 }),
      underlay: fc.integer({ min: 2, max: 200 }),
      blocks: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      dual: fc.boolean(),
    }),
    { maxLength: 8, selector: (p) => p.offset, size: 'large' },
  ),
  vtepMtu: fc.option(fc.integer({ min: 1300, max: 1450 }), { nil: undefined }),
  start: fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('variant' as const),
        dropPeer: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        dropOverlay: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        mac: fc.nat(3).map((n) => n === 0),
        mtu: fc.boolean(),
      }),
    },
  ),
  planted: fc.array(
    fc.record({
      what: fc.constantFrom(
        'mutate' as const,
        'extra' as const,
        'foreign' as const,
        'noise' as const,
      ),
      kind: fc.nat(15),
      pick: fc.nat(1000),
    }),
    { maxLength: 30, size: 'large' },
  ),
  prune: fc.boolean(),
});

export function node(s: Scenario, variant?: Extract<Scenario['start'], { kind: 'variant' }>) {
  const overlays = s.overlays
    .map((o, i) => ({ o, i }))
    .filter(({ i }) => !variant?.dropOverlay[i])
    .map(({ o, i }) =>
      share({
        name: `o${i}`,
        net4: `10.${i}.0.0/16`,
        ...(s.dual && { net6: `fd00:${i}::/64` }),
        ...(o.block && { block4: `10.${i}.1.0/24` }),
        ...(o.block && s.dual && { block6: `fd00:${i}:0:0:1::/80` }),
        enabled: o.enabled,
        isolated: o.isolated,
      }),
    );
  const local: LocalNode = {
    underlay: ip4('192.168.0.1')!,
    underlayDev: 'eth0',
    underlayMtu: 1500,
    bridges: s.bridges,
    vtep: {
      ip: ip4(`44.128.0.${LOCAL_OFFSET}`)!,
      prefix: 20,
      mac: `70:b3:d5:80:00:${variant?.mac ? 'ee' : hex(LOCAL_OFFSET)}`,
      ...(s.dual && { ip6: ip6(`fd01:a::${LOCAL_OFFSET}`), prefix6: 64 }),
    },
    overlays,
  };
  const remotes = s.peers
    .filter((_, i) => !variant?.dropPeer[i])
    .map((p) => {
      const r: VtepRecordJson = {
        underlay: `192.168.${p.underlay >> 8}.${p.underlay & 255}`,
        vtepIp: `44.128.0.${p.offset}`,
        mac: `70:b3:d5:80:00:${hex(p.offset)}`,
        blocks: {},
      };
      if (s.dual && p.dual) r.vtepIp6 = `fd01:a::${hex(p.offset)}`;
      p.blocks.forEach((has, i) => {
        if (has)
          r.blocks[`o${i}`] = {
            subnet: `10.${i}.${p.offset}.0/24`,
            subnet6: `fd00:${i}:0:0:${p.offset}::/80`,
          };
      });
      return record(r);
    });
  const mtu = variant?.mtu ? 1300 : s.vtepMtu;
  return desiredState(local, remotes, mtu === undefined ? {} : { vtepMtu: mtu, overlayMtu: 1280 });
}

/** Operations that build a desired state from scratch, without diff(). */
export function build(d: DesiredState): Operation[] {
  return [
    ...d.links.map((spec) => ({ kind: 'link', action: 'add', spec })),
    ...d.addresses.map((spec) => ({ kind: 'address', action: 'add', spec })),
    ...d.neighbours.map((spec) => ({ kind: 'neighbour', action: 'add', spec })),
    ...d.fdb.map((spec) => ({ kind: 'fdb', action: 'add', spec })),
    ...d.nexthops.map((spec) => ({ kind: 'nexthop', action: 'add', spec })),
    ...d.routes.map((spec) => ({ kind: 'route', action: 'add', spec })),
    ...d.rules.map((spec) => ({ kind: 'rule', action: 'add', spec })),
  ] as Operation[];
}

const pickOf = <T>(list: T[], pick: number): T | undefined =>
  list.length === 0 ? undefined : list[pick % list.length];

/** A change to something vnet made (applied through the model, failures ignored). */
export function mutate(m: KernelModel, kind: number, pick: number, wanted: Set<string>): void {
  const s = m.state;
  const vtep = s.links.find((l) => l.name === 'vtep1024');
  const owned = <T extends { protocol?: number }>(l: T[]) => l.filter((x) => x.protocol === 210);
  const edit = (l: Link | undefined, change: (l: Link) => Link) => l && m.replaceLink(l, change(l));
  const ops: Record<number, () => Operation | undefined> = {
    0: () => {
      const l = pickOf(
        s.links.filter((x) => x.name === 'vtep1024' || x.name.startsWith('m-')),
        pick,
      );
      return l && { kind: 'link', action: 'delete', spec: { link: l.name } };
    },
    1: () => {
      const l = pickOf(
        s.links.filter((x) => x.name === 'vtep1024' || x.name.startsWith('m-')),
        pick,
      );
      return l && { kind: 'link', action: 'set', spec: { link: l.name, mtu: 1200 + (pick % 50) } };
    },
    2: () => {
      const l = pickOf(
        s.links.filter((x) => x.name === 'vtep1024' || x.name.startsWith('m-')),
        pick,
      );
      if (l) m.setDown(l.name);
      return undefined;
    },
    3: () => {
      // Rare: each of these re-creates vtep1024.
      if (pick % 3 !== 0) return undefined;
      const field = Math.floor(pick / 3) % 5;
      edit(vtep, (l) => {
        const v = { ...l.vxlan!, unknown: [] };
        if (field === 0) return { ...l, address: '02:00:00:00:00:01' };
        if (field === 1) v.learning = true;
        if (field === 2) v.port = 4789;
        if (field === 3) v.vni = 42;
        if (field === 4) v.local = '192.168.0.200';
        return { ...l, vxlan: v };
      });
      return undefined;
    },
    4: () => {
      const a = pickOf(
        s.addresses.filter((x) => x.family === 4 && x.address.startsWith('44.128')),
        pick,
      );
      if (!a) return undefined;
      return {
        kind: 'address',
        action: 'delete',
        spec: { dev: m.name(a.index), address: `${a.address}/${a.prefixLength}` },
      };
    },
    5: () => {
      const n = pickOf(
        s.neighbours.filter((x) => x.state === 0x80),
        pick,
      );
      if (!n) return undefined;
      const dev = m.name(n.index);
      return pick % 3 === 0
        ? { kind: 'neighbour', action: 'delete', spec: { dev, address: n.address } }
        : pick % 3 === 1
          ? {
              kind: 'neighbour',
              action: 'replace',
              spec: { dev, address: n.address, lladdr: '02:00:00:00:00:99' },
            }
          : {
              kind: 'neighbour',
              action: 'replace',
              spec: { dev, address: n.address, lladdr: n.lladdr, state: 0x04 },
            };
    },
    6: () => {
      const e = pickOf(
        s.fdb.filter((x) => !isGroupOrZeroMac(x.lladdr)),
        pick,
      );
      if (!e) return undefined;
      const base = { dev: m.name(e.index), lladdr: e.lladdr };
      return pick % 3 === 0
        ? { kind: 'fdb', action: 'delete', spec: base }
        : {
            kind: 'fdb',
            action: pick % 3 === 1 ? 'replace' : 'append',
            spec: { ...base, dst: `192.168.9.${pick % 250}` },
          };
    },
    7: () => {
      const n = pickOf(owned(s.nexthops), pick);
      if (!n || !vtep) return undefined;
      if (pick % 2 === 0) return { kind: 'nexthop', action: 'delete', spec: { id: n.id } };
      const via = n.family === 6 ? `fd01:a::f:${pick}` : `44.128.15.${pick % 250}`;
      return {
        kind: 'nexthop',
        action: 'replace',
        spec: { id: n.id, via, dev: 'vtep1024', onlink: true, protocol: 210 },
      };
    },
    8: () => {
      const r = pickOf(owned(s.routes), pick);
      if (!r) return undefined;
      if (pick % 2 === 0)
        return {
          kind: 'route',
          action: 'delete',
          spec: { dst: r.dst, table: r.table, protocol: 210 },
        };
      const other = pickOf(
        owned(s.nexthops).filter((n) => n.family === r.family && n.id !== r.nhid),
        pick,
      );
      return (
        other && {
          kind: 'route',
          action: 'replace',
          spec: { dst: r.dst, table: r.table, nhid: other.id, protocol: 210 },
        }
      );
    },
    9: () => {
      const r = pickOf(owned(s.rules), pick);
      return (
        r && {
          kind: 'rule',
          action: 'delete',
          spec: { src: r.src!, table: r.table, priority: r.priority, protocol: 210 },
        }
      );
    },
    10: () => {
      edit(
        pickOf(
          s.links.filter((x) => wanted.has(x.name) && x.kind === 'bridge'),
          pick,
        ),
        (l) => ({
          ...l,
          kind: 'veth',
        }),
      );
      return undefined;
    },
  };
  const op = (ops[kind % 11] ?? ops[0]!)();
  if (op) m.applyAll([op]);
}

/** A stale object vnet owns. */
export function extra(m: KernelModel, kind: number, n: number): void {
  const nh = m.state.nexthops.filter((x) => x.protocol === 210);
  const nh4 = pickOf(
    nh.filter((x) => x.family === 4),
    n,
  );
  const nh6 = pickOf(
    nh.filter((x) => x.family === 6),
    n,
  );
  const k = n % 200;
  const ops: Operation[][] = [
    [
      {
        kind: 'nexthop',
        action: 'add',
        spec: {
          id: 100000300 + k,
          via: `44.128.3.${k}`,
          dev: 'vtep1024',
          onlink: true,
          protocol: 210,
        },
      },
      {
        kind: 'route',
        action: 'add',
        spec: { dst: `172.16.${k}.0/24`, nhid: 100000300 + k, protocol: 210 },
      },
    ],
    nh4
      ? [
          {
            kind: 'route',
            action: 'add',
            spec: { dst: `192.168.50.${k}/32`, nhid: nh4.id, table: 42, protocol: 210 },
          },
        ]
      : [],
    nh6
      ? [
          {
            kind: 'route',
            action: 'add',
            spec: { dst: `fd00:9:0:${k}::/64`, nhid: nh6.id, protocol: 210 },
          },
        ]
      : [],
    [
      {
        kind: 'neighbour',
        action: 'add',
        spec: { dev: 'vtep1024', address: `44.128.2.${k}`, lladdr: `02:00:00:00:02:${hex(k)}` },
      },
    ],
    [
      {
        kind: 'fdb',
        action: 'add',
        spec: { dev: 'vtep1024', lladdr: `02:00:00:00:01:${hex(k)}`, dst: `192.168.7.${k}` },
      },
    ],
    [
      {
        kind: 'rule',
        action: 'add',
        spec: { src: `10.200.${k}.0/24`, table: 42, priority: 32000, protocol: 210 },
      },
    ],
    [
      { kind: 'link', action: 'add', spec: { name: `m-old${k}`, kind: 'bridge', up: true } },
      { kind: 'address', action: 'add', spec: { dev: `m-old${k}`, address: `10.250.${k}.1/25` } },
    ],
    [{ kind: 'address', action: 'add', spec: { dev: 'vtep1024', address: `44.128.9.${k}/20` } }],
    [
      {
        kind: 'address',
        action: 'add',
        spec: {
          dev:
            pickOf(
              m.state.links.filter((l) => l.name.startsWith('m-')),
              n,
            )?.name ?? 'vtep1024',
          address: `10.251.${k}.1/24`,
        },
      },
    ],
    nh4
      ? [
          {
            kind: 'route',
            action: 'add',
            spec: { dst: `10.0.${k}.0/24`, nhid: nh4.id, protocol: 210, metric: 500 },
          },
        ]
      : [],
  ];
  m.applyAll(ops[kind % ops.length]!);
}

/** Something vnet does not own (foreign), or what the kernel makes by itself (noise). */
export function plantUnowned(
  m: KernelModel,
  noise: boolean,
  kind: number,
  n: number,
  planted: Set<object>,
): void {
  const k = n % 200;
  const s = m.state;
  const vtep = s.links.find((l) => l.name === 'vtep1024')?.index;
  const bridge = pickOf(
    s.links.filter((l) => l.name.startsWith('m-')),
    n,
  )?.index;
  const plant = <T extends object>(list: T[], o: T) => {
    list.push(o);
    planted.add(o);
  };
  const u = { unknown: [] };
  const neigh = { type: 1, router: false, proxy: false, flags: 0, ...u };
  const route = { onlink: false, scope: 253, type: 1, flags: 0, tos: 0, ...u };
  if (!noise) {
    const ownedNh = pickOf(
      s.nexthops.filter((x) => x.protocol === 210 && x.family === 4),
      n,
    );
    const ops: Operation[][] = [
      [
        { kind: 'link', action: 'add', spec: { name: `d-o${k}`, kind: 'bridge', up: true } },
        { kind: 'address', action: 'add', spec: { dev: `d-o${k}`, address: `10.0.${k}.129/25` } },
      ],
      [
        {
          kind: 'route',
          action: 'add',
          spec: { dst: `172.20.${k}.0/24`, dev: 'eth0', protocol: 4 },
        },
      ],
      [
        {
          kind: 'nexthop',
          action: 'add',
          spec: { id: 5000 + k, via: '192.168.0.254', dev: 'eth0' },
        },
        { kind: 'route', action: 'add', spec: { dst: `172.21.${k}.0/24`, nhid: 5000 + k } },
      ],
      [
        {
          kind: 'rule',
          action: 'add',
          spec: { src: `172.30.${k}.0/24`, table: 100, priority: 100 + k, protocol: 4 },
        },
      ],
      [
        {
          kind: 'neighbour',
          action: 'add',
          spec: {
            dev: 'eth0',
            address: `192.168.0.${k + 20}`,
            lladdr: '52:54:00:00:01:01',
            state: 0x04,
          },
        },
      ],
      [{ kind: 'address', action: 'add', spec: { dev: 'eth0', address: `192.168.1.${k}/24` } }],
      // Someone else's route through one of vnet's nexthops: that nexthop must stay.
      ownedNh
        ? [
            {
              kind: 'route',
              action: 'add',
              spec: { dst: `172.22.${k}.0/24`, nhid: ownedNh.id, protocol: 4 },
            },
          ]
        : [],
    ];
    for (const op of ops[kind % ops.length]!) {
      try {
        const o = m.apply(op);
        if (o) planted.add(o);
      } catch {
        // already there
      }
    }
    return;
  }
  if (vtep === undefined) return;
  switch (kind % 8) {
    case 0:
      plant(s.addresses, {
        family: 6,
        index: vtep,
        address: `fe80::${k + 1}`,
        prefixLength: 64,
        scope: 253,
        flags: 0x80,
        ...u,
      });
      break;
    case 1:
      plant(s.neighbours, {
        family: 6,
        index: vtep,
        address: `fe80::${k + 1}`,
        lladdr: '02:00:00:00:00:02',
        state: 0x02,
        ...neigh,
      });
      break;
    case 2:
      plant(s.neighbours, {
        family: 4,
        index: vtep,
        address: `44.128.5.${k}`,
        state: 0x20,
        ...neigh,
      });
      break;
    case 3:
      plant(s.fdb, {
        index: vtep,
        lladdr: '00:00:00:00:00:00',
        dst: `192.168.0.${k}`,
        state: 0xc0,
        flags: 2,
        self: true,
        ...u,
      });
      break;
    case 4:
      plant(s.fdb, {
        index: vtep,
        lladdr: `33:33:00:00:00:${hex(k)}`,
        state: 0x80,
        flags: 2,
        self: true,
        ...u,
      });
      break;
    case 5:
      plant(s.routes, {
        family: 4,
        dst: '44.128.0.0/20',
        dev: vtep,
        table: 254,
        protocol: 2,
        ...route,
      });
      break;
    case 6:
      plant(s.routes, {
        family: 6,
        dst: 'fe80::/64',
        dev: vtep,
        table: 254,
        metric: 256,
        protocol: 2,
        ...route,
      });
      break;
    default:
      if (bridge !== undefined) {
        plant(s.addresses, {
          family: 6,
          index: bridge,
          address: `fe80::b:${k}`,
          prefixLength: 64,
          scope: 253,
          flags: 0x80,
          ...u,
        });
      }
  }
}

/** The identity of vtep1024 that only a re-creation changes. */
