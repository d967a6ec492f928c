// The Docker networks a node should have (pure): one bridge network per enabled overlay with a
// block, named like the overlay, on `d-<name>`, addressed from the UPPER half of the node's
// block, as DC/OS created it — and the plan that brings what dockerd holds there. DC/OS trusted
// an existing network of the name without looking at it; vnet compares subnet, gateway, options,
// bridge name and label, and re-creates a network that differs (Docker cannot edit one in place).

import { isObject } from '../input.js';
import { prefixOf } from '../net/addr.js';
import { type Family, formatAddress, formatCidr } from '../net/cidr.js';
import { dockerBridgeName, dockerGateway, halves } from '../protocol/allocation.js';
import type { NodeAllocation } from '../protocol/node-allocation.js';

/** The label that marks a network as vnet's; its value is the overlay's name. */
export const OVERLAY_LABEL = 'vnet.overlay';

export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
export const MASQUERADE_OPTION = 'com.docker.network.bridge.enable_ip_masquerade';
export const MTU_OPTION = 'com.docker.network.driver.mtu';

/** A subnet of a Docker network and its gateway, canonical text. */
export interface DockerSubnet {
  subnet: string;
  gateway: string;
}

export interface DockerNetworkSpec {
  /** The overlay's name, and the network's. */
  name: string;
  /** `d-<name>`. */
  bridge: string;
  mtu: number;
  /** The upper half of the node's IPv4 block, gateway its first address. */
  ipv4?: DockerSubnet;
  ipv6?: DockerSubnet;
}

/** What the Docker side of a node should hold. */
export interface DockerDesired {
  networks: DockerNetworkSpec[];
  /** Every enabled overlay's whole networks: the traffic Docker's FORWARD chain must let pass. */
  overlays4: string[];
  overlays6: string[];
}

function upperHalf(block: { family: Family; network: bigint; prefix: number }): DockerSubnet {
  const [, upper] = halves(block);
  return {
    subnet: formatCidr(upper),
    gateway: formatAddress(upper.family, dockerGateway(block).address),
  };
}

/**
 * The Docker side of an allocation: a network per enabled overlay with a block (none on nodes
 * without bridges: masters).
 */
export function desiredDocker(allocation: NodeAllocation, bridges = true): DockerDesired {
  const enabled = allocation.overlays.filter((o) => o.enabled);
  const networks = bridges
    ? enabled.flatMap((o): DockerNetworkSpec[] => {
        if (!o.block4 && !o.block6) return [];
        return [
          {
            name: o.name,
            bridge: dockerBridgeName(o.name),
            mtu: allocation.overlayMtu,
            ...(o.block4 && { ipv4: upperHalf(o.block4) }),
            ...(o.block6 && { ipv6: upperHalf(o.block6) }),
          },
        ];
      })
    : [];
  return {
    networks,
    overlays4: enabled.flatMap((o) => (o.net4 ? [o.net4.text] : [])),
    overlays6: enabled.flatMap((o) => (o.net6 ? [o.net6.text] : [])),
  };
}

/** The body of `POST /networks/create` for a spec. */
export function createNetworkBody(spec: DockerNetworkSpec): Record<string, unknown> {
  return {
    Name: spec.name,
    Driver: 'bridge',
    CheckDuplicate: true,
    EnableIPv6: spec.ipv6 !== undefined,
    Options: optionsOf(spec),
    IPAM: {
      Driver: 'default',
      Config: [spec.ipv4, spec.ipv6].flatMap((s) =>
        s ? [{ Subnet: s.subnet, Gateway: s.gateway }] : [],
      ),
    },
    Labels: { [OVERLAY_LABEL]: spec.name },
  };
}

function optionsOf(spec: DockerNetworkSpec): Record<string, string> {
  return {
    [BRIDGE_NAME_OPTION]: spec.bridge,
    [MASQUERADE_OPTION]: 'false',
    [MTU_OPTION]: String(spec.mtu),
  };
}

/** A network as `GET /networks` lists it, the fields vnet reads. */
export interface DockerNetwork {
  id: string;
  name: string;
  driver: string;
  enableIPv6: boolean;
  internal: boolean;
  subnets: { subnet: string; gateway: string }[];
  options: Record<string, string>;
  labels: Record<string, string>;
}

const strings = (v: unknown): Record<string, string> =>
  isObject(v)
    ? Object.fromEntries(
        Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
      )
    : {};

/** One entry of `GET /networks`, or undefined when it has no id or name. */
export function readNetwork(v: unknown): DockerNetwork | undefined {
  if (!isObject(v) || typeof v.Id !== 'string' || typeof v.Name !== 'string') return undefined;
  const ipam = isObject(v.IPAM) && Array.isArray(v.IPAM.Config) ? v.IPAM.Config : [];
  return {
    id: v.Id,
    name: v.Name,
    driver: typeof v.Driver === 'string' ? v.Driver : '',
    enableIPv6: v.EnableIPv6 === true,
    internal: v.Internal === true,
    subnets: ipam.filter(isObject).map((c) => ({
      subnet: typeof c.Subnet === 'string' ? c.Subnet : '',
      gateway: typeof c.Gateway === 'string' ? c.Gateway : '',
    })),
    options: strings(v.Options),
    labels: strings(v.Labels),
  };
}

/** `text` (an address or a prefix) in canonical form, or itself when it does not parse. */
function canonical(text: string): string {
  const p = prefixOf(text, text.includes(':') ? 6 : 4);
  return p ? (text.includes('/') ? `${p.ip}/${p.prefix}` : p.ip) : text;
}

/** How `actual` differs from `spec`, in words for the log; empty when it is right. */
export function networkDifferences(spec: DockerNetworkSpec, actual: DockerNetwork): string[] {
  const why: string[] = [];
  if (actual.driver !== 'bridge') why.push(`driver ${actual.driver}, not bridge`);
  if (actual.internal) why.push('internal');
  if (actual.enableIPv6 !== (spec.ipv6 !== undefined)) {
    why.push(`IPv6 ${actual.enableIPv6 ? 'enabled' : 'disabled'}`);
  }
  for (const [family, want] of [
    [4, spec.ipv4],
    [6, spec.ipv6],
  ] as const) {
    const have = actual.subnets
      .filter((s) => s.subnet.includes(':') === (family === 6))
      .map((s) => `${canonical(s.subnet)} gateway ${canonical(s.gateway)}`);
    // Without an IPv4 half (an IPv6-only overlay) Docker picks an IPv4 subnet itself: any will do.
    if (!want && family === 4) continue;
    const wanted = want ? [`${want.subnet} gateway ${want.gateway}`] : [];
    if (have.join(',') !== wanted.join(',')) {
      why.push(`IPv${family} ${have.join(', ') || 'none'}, not ${wanted.join(', ') || 'none'}`);
    }
  }
  const options = optionsOf(spec);
  for (const key of new Set([...Object.keys(options), ...Object.keys(actual.options)])) {
    if (options[key] !== actual.options[key]) {
      why.push(
        `option ${key}=${actual.options[key] ?? '(unset)'}, not ${options[key] ?? '(unset)'}`,
      );
    }
  }
  if (actual.labels[OVERLAY_LABEL] !== spec.name) {
    why.push(`label ${OVERLAY_LABEL}=${actual.labels[OVERLAY_LABEL] ?? '(unset)'}`);
  }
  return why;
}

export type NetworkAction =
  | { kind: 'create'; spec: DockerNetworkSpec }
  /** Disconnect its containers, remove it, create the spec, reconnect them. */
  | {
      kind: 'recreate';
      spec: DockerNetworkSpec;
      id: string;
      reasons: string[];
      /** Not made by vnet (no vnet label): taken over. */
      foreign: boolean;
    }
  /** A vnet network no longer desired, or a second network of a desired name. */
  | { kind: 'remove'; id: string; name: string; reason: string };

/**
 * What to do so that dockerd holds exactly the desired networks. Networks of other names that
 * vnet did not label are never touched. Removals come first (they may free the bridge name or
 * subnet a creation needs).
 */
export function planNetworks(
  desired: readonly DockerNetworkSpec[],
  actual: readonly DockerNetwork[],
): NetworkAction[] {
  const wanted = new Map(desired.map((s) => [s.name, s]));
  const removes: NetworkAction[] = [];
  const fixes: NetworkAction[] = [];
  const seen = new Set<string>();
  // Sorted by id so that, of two networks of one name, every run keeps the same one.
  for (const n of [...actual].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const spec = wanted.get(n.name);
    if (!spec) {
      if (n.labels[OVERLAY_LABEL] !== undefined) {
        removes.push({ kind: 'remove', id: n.id, name: n.name, reason: 'overlay not desired' });
      }
      continue;
    }
    if (seen.has(n.name)) {
      removes.push({
        kind: 'remove',
        id: n.id,
        name: n.name,
        reason: 'a second network of the name',
      });
      continue;
    }
    seen.add(n.name);
    const reasons = networkDifferences(spec, n);
    if (reasons.length) {
      fixes.push({
        kind: 'recreate',
        spec,
        id: n.id,
        reasons,
        foreign: n.labels[OVERLAY_LABEL] === undefined,
      });
    }
  }
  for (const spec of desired) {
    if (!seen.has(spec.name)) fixes.push({ kind: 'create', spec });
  }
  return [...removes, ...fixes];
}
