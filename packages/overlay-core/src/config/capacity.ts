// What a valid config offers: node blocks per overlay, container addresses per node and in total,
// and how many nodes the VTEP subnet can number.
import { type Family, parseCidr } from '../net/cidr.js';
import { isEnabled, type NetworkConfig } from './types.js';
import { containersPerHalf } from './validate.js';

export interface FamilyCapacity {
  family: Family;
  subnet: string;
  prefix: number;
  /** Node blocks (/prefix) the subnet holds: at most this many nodes get the overlay. */
  nodeSubnets: bigint;
  /** Container addresses in the Mesos (lower) half of a node block. */
  mesosPerNode: bigint;
  /** Container addresses in the Docker (upper) half of a node block. */
  dockerPerNode: bigint;
  totalContainers: bigint;
}

export interface OverlayCapacity {
  name: string;
  enabled: boolean;
  families: FamilyCapacity[];
}

export interface Capacity {
  /** VTEP addresses in vtep_subnet: the most nodes the cluster can hold. */
  maxNodes: bigint;
  overlays: OverlayCapacity[];
}

export function capacity(config: NetworkConfig): Capacity {
  const vtep = mustParse(config.vtep_subnet, 4);
  return {
    maxNodes: (1n << BigInt(32 - vtep.prefix)) - 2n,
    overlays: config.overlays.map((o) => {
      const families: FamilyCapacity[] = [];
      if (o.subnet !== undefined) families.push(familyCapacity(4, o.subnet, o.prefix!));
      if (o.subnet6 !== undefined) families.push(familyCapacity(6, o.subnet6, o.prefix6!));
      return { name: o.name, enabled: isEnabled(o), families };
    }),
  };
}

function familyCapacity(family: Family, subnet: string, prefix: number): FamilyCapacity {
  const cidr = mustParse(subnet, family);
  const nodeSubnets = 1n << BigInt(prefix - cidr.prefix);
  const perHalf = containersPerHalf(family, prefix);
  return {
    family,
    subnet,
    prefix,
    nodeSubnets,
    mesosPerNode: perHalf,
    dockerPerNode: perHalf,
    totalContainers: nodeSubnets * 2n * perHalf,
  };
}

function mustParse(text: string, family: Family) {
  const r = parseCidr(text, family);
  if (!r.ok) throw new Error(`capacity() needs a validated config: ${r.reason}`);
  return r.cidr;
}
