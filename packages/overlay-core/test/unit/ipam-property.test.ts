// Seeded property tests of the allocator: random sequences of register / remove / add-overlay /
// enable / disable over small address spaces (so exhaustion and reuse happen), checking the
// invariants after every step. Re-run a failure with VNET_SEED=<seed>.

import { testSeed } from '@vnet/testkit';
import fc from 'fast-check';
import t from 'tap';
import { ConfigError, type NetworkConfig } from '../../src/config/types.js';
import { VtepExhaustedError } from '../../src/ipam/errors.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { toStateJson } from '../../src/master/render.js';
import { type Cidr, contains, parseCidr } from '../../src/net/cidr.js';

type Command =
  | { op: 'register'; node: number; bridges: boolean }
  | { op: 'remove'; node: number }
  | { op: 'add'; slot: number; prefix: number }
  | { op: 'enable'; overlay: number; enabled: boolean };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('register' as const),
      node: fc.nat(19),
      bridges: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), node: fc.nat(19) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      slot: fc.nat(7),
      prefix: fc.integer({ min: 26, max: 28 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('enable' as const),
      overlay: fc.nat(9),
      enabled: fc.boolean(),
    }),
  },
);

const startConfig = (): NetworkConfig => ({
  vtep_subnet: '44.128.0.0/28', // 14 VTEP addresses for 20 candidate nodes
  vtep_subnet6: 'fd01:a::/124',
  vtep_mac_oui: '70:B3:D5:00:00:00',
  overlay_mtu: 1420,
  overlays: [
    { name: 'a', subnet: '10.0.0.0/26', prefix: 28 },
    { name: 'b', subnet: '10.0.1.0/24', prefix: 27, subnet6: 'fd01:b::/120', prefix6: 123 },
  ],
});

const cidr = (text: string, family: 4 | 6): Cidr => {
  const r = parseCidr(text, family);
  if (!r.ok) throw new Error(r.reason);
  return r.cidr;
};

function checkInvariants(ipam: Ipam): void {
  const vteps = new Set<bigint>();
  const vteps6 = new Set<bigint>();
  const macs = new Set<string>();
  const blocks = new Set<string>();
  const vtepNet = cidr(ipam.config.vtep_subnet, 4);
  for (const node of ipam.nodes) {
    if (vteps.has(node.vtepIp)) throw new Error(`VTEP IP shared by two nodes (${node.ip})`);
    vteps.add(node.vtepIp);
    if (!contains(vtepNet, { family: 4, network: node.vtepIp, prefix: 32 }))
      throw new Error('VTEP IP outside vtep_subnet');
    if (node.vtepIp === vtepNet.network || node.vtepIp === vtepNet.network + 15n)
      throw new Error('VTEP IP is the network or broadcast address');
    if (node.vtepIp6 !== undefined) {
      if (vteps6.has(node.vtepIp6)) throw new Error('VTEP IPv6 shared');
      vteps6.add(node.vtepIp6);
    }
    const mac = ipam.vtepMac(node);
    if (macs.has(mac)) throw new Error(`MAC ${mac} shared`);
    macs.add(mac);
    for (const share of node.overlays.values()) {
      const overlay = ipam.config.overlays.find((o) => o.name === share.name)!;
      for (const [family, block, net, prefix] of [
        [4, share.subnet, overlay.subnet, overlay.prefix],
        [6, share.subnet6, overlay.subnet6, overlay.prefix6],
      ] as const) {
        if (block === undefined) continue;
        const inner: Cidr = { family, network: block, prefix: prefix! };
        if (!contains(cidr(net!, family), inner))
          throw new Error(`${share.name} block outside its overlay`);
        if ((block & ((1n << BigInt((family === 4 ? 32 : 128) - prefix!)) - 1n)) !== 0n)
          throw new Error('unaligned block');
        const key = `${share.name}/${family}/${block}`;
        if (blocks.has(key)) throw new Error(`block ${key} shared by two nodes`);
        blocks.add(key);
      }
      if (share.error && (share.subnet !== undefined || share.subnet6 !== undefined)) {
        throw new Error('a failed overlay holds a block');
      }
    }
  }
}

/** A newly taken block must be the lowest one nobody else holds. */
function checkLowest(ipam: Ipam, ip: string, name: string, before: Set<bigint>): void {
  const share = ipam.getNode(ip)!.overlays.get(name);
  if (share?.subnet === undefined || before.has(share.subnet)) return;
  const overlay = ipam.config.overlays.find((o) => o.name === name)!;
  const net = cidr(overlay.subnet!, 4);
  const step = 1n << BigInt(32 - overlay.prefix!);
  const held = new Set<bigint>();
  for (const n of ipam.nodes)
    if (n.ip !== ip && n.overlays.get(name)?.subnet !== undefined)
      held.add(n.overlays.get(name)!.subnet!);
  for (let b = net.network; b < share.subnet; b += step) {
    if (!held.has(b)) throw new Error(`${name}: took ${share.subnet} but ${b} was free`);
  }
}

function run(commands: Command[]): void {
  const ipam = new Ipam(startConfig());
  let added = 0;
  for (const c of commands) {
    if (c.op === 'register') {
      const ip = `192.168.0.${c.node + 1}`;
      const before = new Set<bigint>(
        [...(ipam.getNode(ip)?.overlays.values() ?? [])].flatMap((s) =>
          s.subnet === undefined ? [] : [s.subnet],
        ),
      );
      try {
        const r = ipam.register(ip, { bridges: c.bridges });
        for (const name of r.node.overlays.keys()) checkLowest(ipam, ip, name, before);
      } catch (err) {
        if (!(err instanceof VtepExhaustedError)) throw err;
        if ([...ipam.nodes].length !== 14)
          throw new Error('VTEP exhausted with free addresses left');
      }
    } else if (c.op === 'remove') {
      ipam.remove(`192.168.0.${c.node + 1}`);
    } else if (c.op === 'add') {
      try {
        ipam.addOverlay({
          name: `x${added}`,
          subnet: `10.1.${c.slot * 32}.0/24`,
          prefix: c.prefix,
        });
        added++;
      } catch (err) {
        // Overlapping an overlay added before: refused, and nothing changes.
        if (!(err instanceof ConfigError)) throw err;
      }
    } else {
      const o = ipam.config.overlays[c.overlay % ipam.config.overlays.length]!;
      ipam.setOverlayEnabled(o.name, c.enabled);
    }
    checkInvariants(ipam);
  }
  const copy = Ipam.restore(JSON.parse(JSON.stringify(ipam.snapshot())));
  checkInvariants(copy);
  if (JSON.stringify(toStateJson(copy)) !== JSON.stringify(toStateJson(ipam))) {
    throw new Error('snapshot/restore changed the state');
  }
}

t.test('allocation invariants over random command sequences', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (re-run with VNET_SEED=${seed})`);
  try {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 120 }), (cmds) => run(cmds)),
      {
        seed,
        numRuns: 400,
      },
    );
    t.pass('no two nodes share a block, VTEP IP or MAC; every block lies in its overlay');
  } catch (err) {
    t.fail(`seed ${seed}: ${(err as Error).message}`);
  }
});
