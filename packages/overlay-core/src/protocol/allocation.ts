// What an allocation means on a node, known the same way by the masters that hand it out, the
// agents that program it and the data plane: the VXLAN device and its VNI, the bridge of each
// half, the halves of a node block, and the statuses a node reports.
import { type Cidr, familyBits } from '../net/cidr.js';
import type { AddressUsage__Output } from './generated/vnet/overlay/v1/AddressUsage.js';
// The generated enum itself, not through messages.ts, which loads gRPC: the data plane is pure.
import { Status, type Status__Output } from './generated/vnet/overlay/v1/Status.js';

/** DC/OS's VXLAN device: one per node, VNI 1024, UDP port 64000. */
export const VTEP_NAME = 'vtep1024';
export const VXLAN_VNI = 1024;
export const VXLAN_PORT = 64000;

const MESOS_PREFIX = 'm-';
const DOCKER_PREFIX = 'd-';

/** `m-<name>`: the Mesos (CNI) bridge of an overlay, on the lower half of the node's block. */
export const mesosBridgeName = (overlay: string): string => `${MESOS_PREFIX}${overlay}`;

/** `d-<name>`: the Docker bridge of an overlay, on the upper half of the node's block. */
export const dockerBridgeName = (overlay: string): string => `${DOCKER_PREFIX}${overlay}`;

/** Whether a link name is one of vnet's Mesos bridges. */
export const isMesosBridge = (name: string): boolean => name.startsWith(MESOS_PREFIX);

/** The overlay a bridge name belongs to (`m-dcos`, `d-dcos` -> `dcos`), or undefined. */
export function overlayOfBridge(name: string): string | undefined {
  if (name.startsWith(MESOS_PREFIX)) return name.slice(MESOS_PREFIX.length);
  if (name.startsWith(DOCKER_PREFIX)) return name.slice(DOCKER_PREFIX.length);
  return undefined;
}

/** A node's status of one overlay, as it reports it (the .proto's Status enum, by name). */
export type OverlayStatus = Status__Output;
export const OVERLAY_STATUSES: readonly OverlayStatus[] = Object.values(Status);

export const isOverlayStatus = (v: unknown): v is OverlayStatus =>
  OVERLAY_STATUSES.includes(v as OverlayStatus);

/** Container addresses a node uses in the two halves of its block of one overlay. */
export type AddressUsage = Required<AddressUsage__Output>;

/** What a node last reported about one of its overlays. */
export interface OverlayReport {
  status: OverlayStatus;
  error?: string;
  used?: AddressUsage;
}

/** One overlay's entry of a node's status report. */
export interface OverlayStatusReport extends OverlayReport {
  name: string;
}

/** The lower (Mesos) and upper (Docker) /prefix+1 halves of a node block. */
export function halves(block: Cidr): [Cidr, Cidr] {
  const prefix = block.prefix + 1;
  const half = 1n << BigInt(familyBits(block.family) - prefix);
  return [
    { family: block.family, network: block.network, prefix },
    { family: block.family, network: block.network + half, prefix },
  ];
}

/** The gateway of a block's Mesos half (on `m-<name>`): the half's first host address. */
export function mesosGateway(block: Cidr): { address: bigint; prefix: number } {
  const [mesos] = halves(block);
  return { address: mesos.network + 1n, prefix: mesos.prefix };
}

/** The gateway of a block's Docker half (on `d-<name>`): the half's first host address. */
export function dockerGateway(block: Cidr): { address: bigint; prefix: number } {
  const [, docker] = halves(block);
  return { address: docker.network + 1n, prefix: docker.prefix };
}
