// The record every node publishes in the gossip group (bound to its liveness): its underlay IP,
// its VTEP (IPv4 with the VTEP subnet's prefix, IPv6, MAC) and its block of every enabled
// overlay. On the wire it is JSON text; a record from the network is parsed here once, into typed
// values, and what cannot be parsed is refused whole.

import { isObject } from '../input.js';
import { type Ip4, type Ip6, ip4, type Net, parseNet, prefixOf, unicastMac } from '../net/addr.js';

/** The gossip key of a node's record. */
export const RECORD_PREFIX = 'vtep/';
export const recordKey = (underlay: string): string => `${RECORD_PREFIX}${underlay}`;

/** A record as it travels. */
export interface VtepRecordJson {
  underlay: string;
  /** VTEP IPv4 with the VTEP subnet's prefix ("44.128.0.2/20"). */
  vtepIp: string;
  vtepIp6?: string;
  mac: string;
  /** The node's block per overlay (networks). */
  blocks: Record<string, { subnet?: string; subnet6?: string }>;
}

/** A node's blocks of one overlay. */
export interface Blocks {
  block4?: Net;
  block6?: Net;
}

/** A node's record, parsed. */
export interface VtepRecord {
  underlay: Ip4;
  vtep: Ip4;
  vtep6?: Ip6;
  /** Canonical lower-case unicast MAC. */
  mac: string;
  blocks: ReadonlyMap<string, Blocks>;
}

/** An address given with or without a /prefix (the receiver does not use the prefix). */
function address(v: unknown, family: 4 | 6): { value: bigint; text: string } | undefined {
  const p = typeof v === 'string' ? prefixOf(v, family) : undefined;
  return p && { value: p.value, text: p.ip };
}

/** A record from the network, checked; undefined when anything in it is malformed. */
export function parseRecord(v: unknown): VtepRecord | undefined {
  if (!isObject(v) || typeof v.underlay !== 'string' || typeof v.mac !== 'string') return undefined;
  const underlay = ip4(v.underlay);
  const vtep = address(v.vtepIp, 4);
  const mac = unicastMac(v.mac);
  if (!underlay || !vtep || mac === undefined || !isObject(v.blocks)) return undefined;
  const record: VtepRecord = {
    underlay,
    vtep: { value: Number(vtep.value), text: vtep.text },
    mac,
    blocks: new Map(),
  };
  if (v.vtepIp6 !== undefined) {
    const v6 = address(v.vtepIp6, 6);
    if (!v6) return undefined;
    record.vtep6 = v6;
  }
  const blocks = record.blocks as Map<string, Blocks>;
  for (const [name, b] of Object.entries(v.blocks)) {
    if (!isObject(b)) return undefined;
    const entry: Blocks = {};
    if (b.subnet !== undefined) {
      entry.block4 = typeof b.subnet === 'string' ? parseNet(b.subnet, 4) : undefined;
      if (!entry.block4) return undefined;
    }
    if (b.subnet6 !== undefined) {
      entry.block6 = typeof b.subnet6 === 'string' ? parseNet(b.subnet6, 6) : undefined;
      if (!entry.block6) return undefined;
    }
    blocks.set(name, entry);
  }
  return record;
}

/** The JSON of a record (what a node publishes). */
export function recordJson(
  r: VtepRecord,
  vtepPrefix: number,
  vtepPrefix6?: number,
): VtepRecordJson {
  const blocks: VtepRecordJson['blocks'] = {};
  for (const [name, b] of r.blocks) {
    blocks[name] = {
      ...(b.block4 && { subnet: b.block4.text }),
      ...(b.block6 && { subnet6: b.block6.text }),
    };
  }
  return {
    underlay: r.underlay.text,
    vtepIp: `${r.vtep.text}/${vtepPrefix}`,
    ...(r.vtep6 && { vtepIp6: `${r.vtep6.text}/${vtepPrefix6 ?? 128}` }),
    mac: r.mac,
    blocks,
  };
}
