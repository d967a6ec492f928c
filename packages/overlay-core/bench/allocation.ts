// Allocations per second when registering one node per /24 block of 9.0.0.0/8 (65,536 nodes, each
// taking a block and a VTEP address), ours against a linear scan of the free list in the same
// process. Both must hand out the same addresses. Last line: the DESIGN.md JSON.
import { benchResultLine } from '@vnet/testkit';
import { Ipam } from '../src/ipam/ipam.js';
import { LinearScanAllocator } from './linear-scan.js';

const NODES = 65_536;
const nodeIp = (i: number) => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

function ours(n: number): { seconds: number; ipam: Ipam } {
  const ipam = new Ipam({
    vtep_subnet: '44.0.0.0/8',
    vtep_mac_oui: '70:B3:D5:00:00:00',
    overlay_mtu: 1420,
    overlays: [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }],
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) ipam.register(nodeIp(i));
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, ipam };
}

function anchor(n: number): { seconds: number; alloc: LinearScanAllocator } {
  const alloc = new LinearScanAllocator(0x09000000, 256, 65_536, 0x2c000000, 2 ** 24 - 2);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) alloc.register(nodeIp(i));
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, alloc };
}

// Warm both up so the JIT has compiled the hot paths before timing.
ours(2_000);
anchor(2_000);

const a = ours(NODES);
const b = anchor(NODES);
const last = a.ipam.getNode(nodeIp(NODES - 1))!;
const lastAnchor = b.alloc.register(nodeIp(NODES - 1));
if (
  Number(last.overlays.get('dcos')!.subnet) !== lastAnchor.block ||
  Number(last.vtepIp) !== lastAnchor.vtep
) {
  throw new Error('ours and the anchor allocated differently');
}
if (a.ipam.counts().overlays['dcos']!.v4!.free !== 0)
  throw new Error('not every block was allocated');

const oursRate = NODES / a.seconds;
const anchorRate = NODES / b.seconds;
console.log(`registered ${NODES} nodes, one /24 of 9.0.0.0/8 and one VTEP IP each`);
console.log(
  `ours (interval B+ tree):           ${a.seconds.toFixed(3)} s  ${Math.round(oursRate)} allocations/s`,
);
console.log(
  `anchor (linear scan of free list): ${b.seconds.toFixed(3)} s  ${Math.round(anchorRate)} allocations/s`,
);
console.log(
  benchResultLine({
    bench: 'ipam-register-65536-blocks',
    unit: 'allocations/s',
    ours: Math.round(oursRate),
    anchor: 'linear-scan-free-list',
    anchorValue: Math.round(anchorRate),
    higherIsBetter: true,
  }),
);
