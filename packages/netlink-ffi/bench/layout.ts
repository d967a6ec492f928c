// The content both sides of the bench install on `vtep1024`: per remote node i, its VTEP IP and
// MAC, underlay IP and overlay subnet, programmed in one of two layouts:
// - plain (DESIGN.md): permanent ARP entry, FDB entry, route `subnet via vtepIp dev vtep1024
//   onlink`;
// - nexthop: the same ARP and FDB entries, a nexthop object `id i+1 via vtepIp dev vtep1024
//   onlink`, and the route `subnet nhid i+1`.
import type { Operation } from '../src/index.js';

export const LAYOUTS = {
  plain: ['neighbour', 'fdb', 'route'],
  nexthop: ['neighbour', 'fdb', 'nexthop', 'route'],
} as const;
export type Layout = keyof typeof LAYOUTS;
export type Kind = 'neighbour' | 'fdb' | 'nexthop' | 'route';

const hex = (n: number) => n.toString(16).padStart(2, '0');

/** Remote node i: VTEP IP and MAC, underlay IP, overlay subnet, nexthop id. */
export function remote(i: number) {
  const h = i + 2;
  return {
    vtepIp: `44.128.${h >> 8}.${h & 255}`,
    mac: `70:b3:d5:80:${hex(h >> 8)}:${hex(h & 255)}`,
    underlay: `192.168.${h >> 8}.${h & 255}`,
    subnet: `10.${i >> 8}.${i & 255}.0/24`,
    nhid: i + 1,
  };
}

/**
 * The library's operations for `n` remote nodes. `again` is the second pass: replace
 * everything (the first pass adds nexthops and routes, as the iproute2 side does).
 */
export function operations(
  layout: Layout,
  kind: Kind,
  n: number,
  dev: number,
  again: boolean,
): Operation[] {
  return Array.from({ length: n }, (_, i): Operation => {
    const r = remote(i);
    if (kind === 'neighbour') {
      return { kind, action: 'replace', spec: { dev, address: r.vtepIp, lladdr: r.mac } };
    }
    if (kind === 'fdb') {
      return { kind, action: 'replace', spec: { dev, lladdr: r.mac, dst: r.underlay } };
    }
    if (kind === 'nexthop') {
      return {
        kind,
        action: again ? 'replace' : 'add',
        spec: { id: r.nhid, via: r.vtepIp, dev, onlink: true },
      };
    }
    return {
      kind,
      action: again || layout === 'plain' ? 'replace' : 'add',
      spec:
        layout === 'plain'
          ? { dst: r.subnet, via: r.vtepIp, dev, onlink: true }
          : { dst: r.subnet, nhid: r.nhid },
    };
  });
}

/** The same content as an `ip -batch` / `bridge -batch` file. */
export function batchText(layout: Layout, kind: Kind, n: number, again: boolean): string {
  const verb = again ? 'replace' : 'add';
  const lines = Array.from({ length: n }, (_, i) => {
    const r = remote(i);
    if (kind === 'neighbour') {
      return `neigh replace ${r.vtepIp} lladdr ${r.mac} dev vtep1024 nud permanent`;
    }
    if (kind === 'fdb') return `fdb replace ${r.mac} dev vtep1024 dst ${r.underlay} self permanent`;
    if (kind === 'nexthop')
      return `nexthop ${verb} id ${r.nhid} via ${r.vtepIp} dev vtep1024 onlink`;
    return layout === 'plain'
      ? `route replace ${r.subnet} via ${r.vtepIp} dev vtep1024 onlink`
      : `route ${verb} ${r.subnet} nhid ${r.nhid}`;
  });
  return `${lines.join('\n')}\n`;
}
