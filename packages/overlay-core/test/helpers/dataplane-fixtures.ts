// Nodes and kernels for the data-plane tests: DC/OS's default overlay (9.0.0.0/8, /24 blocks,
// VTEPs in 44.128.0.0/20), an IPv6 overlay, and a host with lo and eth0 as the kernel shows them.

import { formatIpv6, parseIpv6 } from '@vnet/ip';
import type { Link, Rule } from '@vnet/netlink-ffi';
import type { KernelState, LocalNode } from '../../src/dataplane/types.js';
import { type Ip6, ip4, parseNet } from '../../src/net/addr.js';
import type { OverlayShare } from '../../src/protocol/node-allocation.js';
import {
  parseRecord,
  type VtepRecord,
  type VtepRecordJson,
} from '../../src/protocol/vtep-record.js';

/** One of the policy rules a namespace starts with (local, main, default), as the kernel lists it. */
function kernelRule(family: 4 | 6, priority: number, table: number): Rule {
  return {
    family,
    priority,
    table,
    action: 1,
    tos: 0,
    flags: 0,
    invert: false,
    protocol: 2,
    unknown: [],
  };
}

export const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** An IPv6 address as the parsers give it. */
export function ip6(text: string): Ip6 {
  const value = parseIpv6(text);
  if (value === undefined) throw new Error(`fixture: ${text} is not an IPv6 address`);
  return { value, text: formatIpv6(value) };
}

/** An overlay share from text, as an allocation from the masters would give it. */
export function share(o: {
  name: string;
  net4?: string;
  net6?: string;
  block4?: string;
  block6?: string;
  enabled?: boolean;
  isolated?: boolean;
}): OverlayShare {
  const net = (text: string | undefined, family: 4 | 6) => {
    if (text === undefined) return undefined;
    const n = parseNet(text, family);
    if (!n) throw new Error(`fixture: ${text} is not an IPv${family} network`);
    return n;
  };
  return {
    name: o.name,
    net4: net(o.net4, 4),
    net6: net(o.net6, 6),
    block4: net(o.block4, 4),
    block6: net(o.block6, 6),
    enabled: o.enabled ?? true,
    isolated: o.isolated ?? true,
  };
}

/** Node n (1-based): underlay 192.168.0.n, VTEP 44.128.0.n, MAC 70:b3:d5:80:00:n, block 9.0.n.0/24. */
export function agent(
  n = 1,
  opts: { dual?: boolean; bridges?: boolean; overlays?: OverlayShare[] } = {},
): LocalNode {
  return {
    underlay: ip4(`192.168.0.${n}`)!,
    underlayDev: 'eth0',
    underlayMtu: 1500,
    bridges: opts.bridges ?? true,
    vtep: {
      ip: ip4(`44.128.0.${n}`)!,
      prefix: 20,
      mac: `70:b3:d5:80:00:${hex(n)}`,
      ...(opts.dual && { ip6: ip6(`fd01:a::${n}`), prefix6: 64 }),
    },
    overlays: opts.overlays ?? [
      share({ name: 'dcos', net4: '9.0.0.0/8', block4: `9.0.${n}.0/24` }),
      ...(opts.dual
        ? [share({ name: 'dcos6', net6: 'fd01:b::/64', block6: `fd01:b::${n}:0:0:0/80` })]
        : []),
    ],
  };
}

/** Node n's gossip record as it travels. */
export function remoteJson(n: number, opts: { dual?: boolean } = {}): VtepRecordJson {
  const r: VtepRecordJson = {
    underlay: `192.168.0.${n}`,
    vtepIp: `44.128.0.${n}/20`,
    mac: `70:b3:d5:80:00:${hex(n)}`,
    blocks: { dcos: { subnet: `9.0.${n}.0/24` } },
  };
  if (opts.dual) {
    r.vtepIp6 = `fd01:a::${n}`;
    r.blocks['dcos6'] = { subnet6: `fd01:b::${n}:0:0:0/80` };
  }
  return r;
}

/** A record from its JSON, parsed as gossip would (throws when it would be refused). */
export function record(json: VtepRecordJson): VtepRecord {
  const r = parseRecord(json);
  if (!r) throw new Error(`fixture: a record gossip would refuse: ${JSON.stringify(json)}`);
  return r;
}

/** Node n's record, parsed. */
export const remote = (n: number, opts: { dual?: boolean } = {}): VtepRecord =>
  record(remoteJson(n, opts));

const link = (index: number, name: string, extra: Partial<Link> = {}): Link => ({
  index,
  name,
  type: 1,
  flags: 1,
  up: true,
  mtu: 1500,
  unknown: [],
  ...extra,
});

/** lo and eth0 (192.168.0.1/24) with the kernel's routes and the default rules. */
export function hostKernel(): KernelState {
  return {
    links: [
      link(1, 'lo', { type: 772, mtu: 65536, address: '00:00:00:00:00:00' }),
      link(2, 'eth0', { address: '52:54:00:12:34:56', kind: 'veth' }),
    ],
    addresses: [
      {
        family: 4,
        index: 1,
        address: '127.0.0.1',
        prefixLength: 8,
        scope: 254,
        flags: 0x80,
        unknown: [],
      },
      {
        family: 4,
        index: 2,
        address: '192.168.0.1',
        prefixLength: 24,
        scope: 0,
        flags: 0x80,
        unknown: [],
      },
      {
        family: 6,
        index: 2,
        address: 'fe80::5054:ff:fe12:3456',
        prefixLength: 64,
        scope: 253,
        flags: 0x80,
        unknown: [],
      },
    ],
    neighbours: [
      {
        family: 4,
        index: 2,
        address: '192.168.0.254',
        lladdr: '52:54:00:00:00:fe',
        state: 0x04,
        flags: 0,
        type: 1,
        router: false,
        proxy: false,
        unknown: [],
      },
    ],
    fdb: [],
    nexthops: [],
    routes: [
      {
        family: 4,
        dst: '0.0.0.0/0',
        via: '192.168.0.254',
        dev: 2,
        onlink: false,
        table: 254,
        scope: 0,
        protocol: 3,
        type: 1,
        flags: 0,
        tos: 0,
        unknown: [],
      },
      {
        family: 4,
        dst: '192.168.0.0/24',
        dev: 2,
        onlink: false,
        table: 254,
        src: '192.168.0.1',
        scope: 253,
        protocol: 2,
        type: 1,
        flags: 0,
        tos: 0,
        unknown: [],
      },
      {
        family: 4,
        dst: '192.168.0.1/32',
        dev: 2,
        onlink: false,
        table: 255,
        src: '192.168.0.1',
        scope: 254,
        protocol: 2,
        type: 2,
        flags: 0,
        tos: 0,
        unknown: [],
      },
      {
        family: 6,
        dst: 'fe80::/64',
        dev: 2,
        onlink: false,
        table: 254,
        metric: 256,
        scope: 0,
        protocol: 2,
        type: 1,
        flags: 0,
        tos: 0,
        unknown: [],
      },
    ],
    rules: [
      kernelRule(4, 0, 255),
      kernelRule(4, 32766, 254),
      kernelRule(4, 32767, 253),
      kernelRule(6, 0, 255),
      kernelRule(6, 32766, 254),
    ],
  };
}
