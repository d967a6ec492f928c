// The CNI network config lists of a node (pure): one per enabled overlay that has an IPv4 block
// on this node, on the lower (Mesos) half of the block, as DC/OS's agent wrote `dcos.conf` —
// `bridge` on `m-<name>` (no ipMasq: the agent's nftables masquerade), `host-local` on the half,
// `portmap`, and vnet's own plugin last, which tells the agent which task got which address.
// An overlay without an IPv4 block gets no list (DC/OS skipped it too: "UCR on dcos6 fails").

import { type Cidr, formatAddress, formatCidr } from '../net/cidr.js';
import { halves, mesosBridgeName, mesosGateway } from '../protocol/allocation.js';
import type { NodeAllocation } from '../protocol/node-allocation.js';
import { CNI_VERSION, type CniConfList, type CniDns, type VnetPluginConf } from './spec.js';

/** host-local's leases on tmpfs, so that a reboot frees them (DC/OS moved them there: DCOS_OSS-3750). */
export const DEFAULT_CNI_DATA_DIR = '/run/vnet/cni/networks';

/** Where the agent serves tasks to the vnet plugin. */
export const DEFAULT_TASK_SOCKET = '/run/vnet/tasks.sock';

export interface ConfListOptions {
  /** The agent's task socket (default DEFAULT_TASK_SOCKET). */
  agentSocket?: string;
  /** host-local's dataDir (default DEFAULT_CNI_DATA_DIR); leases are in `<dataDir>/<name>/`. */
  dataDir?: string;
  /** Bridge and container MTU (default: the allocation's overlay MTU). */
  mtu?: number;
  /**
   * The containers' resolvers. Default: the gateway of the overlay's `m-` bridge, where the
   * agent's DNS server answers; `[]` hands out none.
   */
  nameservers?: string[];
  /** The containers' DNS search domains (none by default). */
  search?: string[];
}

/** The node as the lists need it: its IP, overlays and MTU. */
export type ConfListNode = Pick<NodeAllocation, 'ip' | 'overlays' | 'overlayMtu'>;

interface Half {
  subnet: string;
  gateway: string;
  rangeStart: string;
  any: string;
}

function lowerHalf(block: Cidr): Half {
  const [mesos] = halves(block);
  const gw = mesosGateway(block).address;
  return {
    subnet: formatCidr(mesos),
    gateway: formatAddress(block.family, gw),
    // host-local skips the gateway anyway; an explicit start makes the first container `.2`.
    rangeStart: formatAddress(block.family, gw + 1n),
    any: block.family === 4 ? '0.0.0.0/0' : '::/0',
  };
}

/** One config list per enabled overlay with an IPv4 block, in the allocation's order. */
export function cniConfigLists(node: ConfListNode, opts: ConfListOptions = {}): CniConfList[] {
  const lists: CniConfList[] = [];
  for (const o of node.overlays) {
    if (!o.enabled || !o.block4) continue;
    const v4 = lowerHalf(o.block4);
    const v6 = o.block6 ? lowerHalf(o.block6) : undefined;
    const halvesOf = v6 ? [v4, v6] : [v4];
    const nameservers = opts.nameservers ?? [v4.gateway];
    const dns: CniDns = {
      ...(nameservers.length > 0 && { nameservers }),
      ...(opts.search && opts.search.length > 0 && { search: opts.search }),
    };
    const vnet: VnetPluginConf = {
      type: 'vnet',
      // The task's ports come from the runtime like portmap's; aliases may name the task.
      capabilities: { portMappings: true, aliases: true },
      agentSocket: opts.agentSocket ?? DEFAULT_TASK_SOCKET,
      network: o.name,
      node: node.ip,
      ...(Object.keys(dns).length > 0 && { dns }),
    };
    lists.push({
      cniVersion: CNI_VERSION,
      name: o.name,
      plugins: [
        {
          type: 'bridge',
          bridge: mesosBridgeName(o.name),
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          mtu: opts.mtu ?? node.overlayMtu,
          ipam: {
            type: 'host-local',
            dataDir: opts.dataDir ?? DEFAULT_CNI_DATA_DIR,
            // One range set per family: a container gets one address of each.
            ranges: halvesOf.map((h) => [
              { subnet: h.subnet, rangeStart: h.rangeStart, gateway: h.gateway },
            ]),
            routes: halvesOf.map((h) => ({ dst: h.any, gw: h.gateway })),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        vnet,
      ],
    });
  }
  return lists;
}
