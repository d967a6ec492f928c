// A change request as plain data, so that callers (e.g. a reconciler computing a diff) can build
// lists of them without a kernel and submit them in one batch.
import { NetlinkSpecError } from './errors.js';
import {
  type AddressAction,
  type AddressSpec,
  describeAddress,
  encodeAddress,
} from './objects/address.js';
import {
  checkObject,
  describeLink,
  type EncodeContext,
  type LinkRef,
  type Words,
} from './objects/common.js';
import {
  describeLinkAdd,
  encodeLinkAdd,
  encodeLinkDelete,
  encodeLinkSet,
  type LinkChange,
  type LinkSpec,
} from './objects/link.js';
import {
  describeFdb,
  describeNeighbour,
  encodeFdb,
  encodeNeighbour,
  type FdbAction,
  type FdbSpec,
  type NeighbourAction,
  type NeighbourSpec,
} from './objects/neighbour.js';
import {
  describeNexthop,
  encodeNexthop,
  type NexthopAction,
  type NexthopSpec,
} from './objects/nexthop.js';
import { describeRoute, encodeRoute, type RouteAction, type RouteSpec } from './objects/route.js';
import { describeRule, encodeRule, type RuleAction, type RuleSpec } from './objects/rule.js';

export type Operation =
  | { kind: 'link'; action: 'add'; spec: LinkSpec }
  | { kind: 'link'; action: 'set'; spec: LinkChange }
  | { kind: 'link'; action: 'delete'; spec: { link: LinkRef } }
  | { kind: 'address'; action: AddressAction; spec: AddressSpec }
  | { kind: 'route'; action: RouteAction; spec: RouteSpec }
  | { kind: 'nexthop'; action: NexthopAction; spec: NexthopSpec }
  | { kind: 'rule'; action: RuleAction; spec: RuleSpec }
  | { kind: 'neighbour'; action: NeighbourAction; spec: NeighbourSpec }
  | { kind: 'fdb'; action: FdbAction; spec: FdbSpec };

const ACTIONS: Record<string, string[]> = {
  link: ['add', 'set', 'delete'],
  address: ['add', 'replace', 'delete'],
  route: ['add', 'replace', 'append', 'delete'],
  nexthop: ['add', 'replace', 'delete'],
  rule: ['add', 'delete'],
  neighbour: ['add', 'replace', 'delete'],
  fdb: ['add', 'replace', 'append', 'delete'],
};

function check(op: Operation): void {
  checkObject(op, 'operation');
  const actions = ACTIONS[op.kind];
  if (!actions) {
    throw new NetlinkSpecError(
      'operation.kind',
      `${JSON.stringify(op.kind)} is not one of ${Object.keys(ACTIONS).join(', ')}`,
    );
  }
  if (!actions.includes(op.action)) {
    throw new NetlinkSpecError(
      'operation.action',
      `${JSON.stringify(op.action)} is not supported for ${op.kind} (${actions.join(', ')})`,
    );
  }
}

/** Writes the operation's request into `ctx.w`; throws NetlinkSpecError for a bad operation. */
export function encodeOperation(op: Operation, ctx: EncodeContext): void {
  check(op);
  switch (op.kind) {
    case 'link':
      if (op.action === 'add') encodeLinkAdd(op.spec, ctx);
      else if (op.action === 'set') encodeLinkSet(op.spec, ctx);
      else {
        checkObject(op.spec, 'link');
        encodeLinkDelete(op.spec.link, ctx);
      }
      break;
    case 'address':
      encodeAddress(op.action, op.spec, ctx);
      break;
    case 'route':
      encodeRoute(op.action, op.spec, ctx);
      break;
    case 'nexthop':
      encodeNexthop(op.action, op.spec, ctx);
      break;
    case 'rule':
      encodeRule(op.action, op.spec, ctx);
      break;
    case 'neighbour':
      encodeNeighbour(op.action, op.spec, ctx);
      break;
    case 'fdb':
      encodeFdb(op.action, op.spec, ctx);
      break;
  }
}

/** The operation in iproute2-like words, for errors (computed only when one needs them). */
function target(op: Operation): string {
  switch (op.kind) {
    case 'link':
      if (op.action === 'add') return describeLinkAdd(op.spec);
      return describeLink(op.spec.link);
    case 'address':
      return describeAddress(op.spec);
    case 'route':
      return describeRoute(op.spec);
    case 'nexthop':
      return describeNexthop(op.spec);
    case 'rule':
      return describeRule(op.spec);
    case 'neighbour':
      return describeNeighbour(op.spec);
    case 'fdb':
      return describeFdb(op.spec);
  }
}

/** The words that name an operation (one that could be encoded) in its errors. */
export function describeOperation(op: Operation): Words {
  return { kind: op.kind, operation: op.action, describe: () => target(op) };
}

/** Whether the operation can change which ifindex a link name refers to. */
export function renamesLinks(op: Operation): boolean {
  if (op.kind !== 'link') return false;
  if (op.action !== 'set') return true;
  return op.spec.name !== undefined || op.spec.netns !== undefined;
}
