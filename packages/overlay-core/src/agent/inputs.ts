// From what the masters and the gossip group say to the data plane's inputs: this node's
// LocalNode, the network settings, and the record this node publishes. Pure.
import type { LocalNode, MappedPort, NetworkSettings } from '../dataplane/types.js';
import type { Ip4 } from '../net/addr.js';
import type { NodeAllocation, Vtep } from '../protocol/node-allocation.js';
import type { TaskRecordJson } from '../protocol/task-record.js';
import type { Blocks, VtepRecord } from '../protocol/vtep-record.js';

export interface Underlay {
  ip: Ip4;
  dev: string;
  mtu: number;
}

/**
 * This node as the data plane sees it; undefined while it has no VTEP (no overlay yet). `lastVtep`
 * is the VTEP of an earlier allocation, kept so that removing the last overlay still tears its
 * devices down.
 */
export function localNode(
  a: NodeAllocation,
  underlay: Underlay,
  bridges: boolean,
  lastVtep?: Vtep,
  mapped: readonly MappedPort[] = [],
): LocalNode | undefined {
  const vtep = a.vtep ?? lastVtep;
  if (!vtep) return undefined;
  return {
    underlay: underlay.ip,
    underlayDev: underlay.dev,
    underlayMtu: underlay.mtu,
    bridges,
    vtep,
    overlays: a.overlays,
    ...(mapped.length > 0 && { mappedPorts: mapped }),
  };
}

/** The container endpoints of this node's tasks that host ports are mapped to, sorted. */
export function mappedPorts(tasks: readonly TaskRecordJson[]): MappedPort[] {
  const out = tasks.flatMap((t) =>
    t.ports.flatMap((p) =>
      p.hostPort === undefined
        ? []
        : t.containerIps.map((ip) => ({ ip, protocol: p.protocol, port: p.containerPort })),
    ),
  );
  const key = (m: MappedPort) => `${m.ip} ${m.protocol} ${m.port}`;
  return [...new Map(out.map((m) => [key(m), m])).values()].sort((a, b) =>
    key(a) < key(b) ? -1 : 1,
  );
}

export function networkSettings(a: NodeAllocation): NetworkSettings {
  return { overlayMtu: a.overlayMtu, ...(a.vtepMtu !== undefined && { vtepMtu: a.vtepMtu }) };
}

/** The record this node publishes: its underlay, VTEP, and block of each enabled overlay. */
export function ownRecord(node: LocalNode): VtepRecord {
  const blocks = new Map<string, Blocks>();
  for (const o of node.overlays) {
    if (!o.enabled || (!o.block4 && !o.block6)) continue;
    blocks.set(o.name, {
      ...(o.block4 && { block4: o.block4 }),
      ...(o.block6 && { block6: o.block6 }),
    });
  }
  return {
    underlay: node.underlay,
    vtep: node.vtep.ip,
    ...(node.vtep.ip6 && { vtep6: node.vtep.ip6 }),
    mac: node.vtep.mac,
    blocks,
  };
}

/**
 * What the data plane's result depends on, as a comparable key: an allocation that differs only
 * in what the node itself reported (its statuses) or in the log index changes nothing on the node.
 */
export function inputsKey(node: LocalNode, settings: NetworkSettings): string {
  return JSON.stringify({ node, settings }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}
