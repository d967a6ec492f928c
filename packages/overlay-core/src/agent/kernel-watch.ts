// Notices at once when someone else changes what vnet programmed (a deleted neighbour, FDB entry,
// route, nexthop, rule, bridge, or vtep1024 itself) through rtnetlink notifications, so the
// reconciler repairs it now rather than at its next periodic pass. Changes the agent made
// itself are recognised by their netlink port where the kernel tells it.
import { type ChangeEvent, type MonitorEvent, Netlink, NUD_STATES } from '@vnet/netlink-ffi';
import type { Logger } from 'pino';
import { HOST_ROUTE_TABLE, VNET_PROTOCOL } from '../dataplane/types.js';
import { isMesosBridge, VTEP_NAME } from '../protocol/allocation.js';

export interface KernelWatch {
  close(): Promise<void>;
}

const isOwnLinkName = (name: string) => name === VTEP_NAME || isMesosBridge(name);

/** Whether a change may concern what vnet owns (cheap and generous: a reconcile is idempotent). */
export function concernsVnet(e: ChangeEvent, ownLinks: ReadonlySet<number>): boolean {
  switch (e.kind) {
    case 'link':
      return isOwnLinkName(e.object.name) || ownLinks.has(e.object.index);
    case 'address':
      return ownLinks.has(e.object.index);
    case 'neighbour':
      // Only vtep1024's permanent entries are ours; ARP churn elsewhere is not.
      return (
        ownLinks.has(e.object.index) &&
        (e.type === 'del' || (e.object.state & NUD_STATES.permanent) !== 0)
      );
    case 'fdb':
      return ownLinks.has(e.object.index);
    case 'route':
      return e.object.protocol === VNET_PROTOCOL || e.object.table === HOST_ROUTE_TABLE;
    case 'nexthop':
      return e.object.protocol === VNET_PROTOCOL || e.type === 'del';
    case 'rule':
      return e.object.protocol === VNET_PROTOCOL || e.object.table === HOST_ROUTE_TABLE;
  }
}

/**
 * Calls `onChange` when a notification concerns vnet's objects, or when notifications were lost
 * (an overrun): then everything must be compared again.
 */
export function watchKernel(opts: {
  onChange: () => void;
  log: Logger;
  /** The links that exist now (vnet's among them are watched from the start). */
  links: readonly { name: string; index: number }[];
  /** The netlink port of the agent's own handle: its own changes are not news. */
  ownPort?: number;
}): KernelWatch {
  const { onChange, log, ownPort } = opts;
  const monitor = Netlink.monitor({
    groups: ['link', 'address', 'neigh', 'route', 'nexthop', 'rule'],
  });
  const ownLinks = new Set(opts.links.filter((l) => isOwnLinkName(l.name)).map((l) => l.index));
  monitor.on('event', (e: MonitorEvent) => {
    if (e.type === 'overrun') {
      log.warn('kernel notifications were lost; reconciling everything');
      onChange();
      return;
    }
    if (e.type === 'error') {
      log.warn({ err: e.error.message }, 'an undecodable kernel notification');
      return;
    }
    if (e.kind === 'link') {
      if (isOwnLinkName(e.object.name)) {
        if (e.type === 'new') ownLinks.add(e.object.index);
        else ownLinks.delete(e.object.index);
      }
    }
    if (ownPort !== undefined && e.portId === ownPort) return;
    if (concernsVnet(e, ownLinks)) onChange();
  });
  return { close: () => monitor.close() };
}
