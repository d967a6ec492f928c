// Policy routing rules (RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE), IPv4 and IPv6.

import type { IpFamily } from '@vnet/ip';
import {
  bodyAttributes,
  type Message,
  needBody,
  type RawAttribute,
  raw,
  readIp,
  readString,
  readU8,
  readU32,
  startMessage,
} from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { type Prefix, parsePrefix } from '../codec/ip.js';
import { NetlinkDecodeError, NetlinkSpecError } from '../errors.js';
import {
  actionFlags,
  checkBool,
  checkLinkName,
  checkObject,
  checkUint,
  type EncodeContext,
  type Request,
} from './common.js';

const FIB_RULE_HDR = 12;

/** Rule actions by name (fib_rule_hdr.action). */
export const RULE_ACTIONS = {
  lookup: C.FR_ACT_TO_TBL,
  goto: C.FR_ACT_GOTO,
  nop: C.FR_ACT_NOP,
  blackhole: C.FR_ACT_BLACKHOLE,
  unreachable: C.FR_ACT_UNREACHABLE,
  prohibit: C.FR_ACT_PROHIBIT,
};
export type RuleActionName = keyof typeof RULE_ACTIONS;

export interface RuleSpec {
  /** Default: the family of `src`/`dst`, else IPv4. */
  family?: IpFamily;
  priority?: number;
  /** Table for action 'lookup' (default main, 254). */
  table?: number;
  action?: RuleActionName;
  /** Target priority of action 'goto'. */
  goto?: number;
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
  fwmark?: number;
  fwmask?: number;
  tos?: number;
  /** Match when the selector does NOT match (`ip rule add not ...`). */
  invert?: boolean;
  protocol?: number;
}

export interface Rule {
  family: IpFamily;
  /** Preference (0 when the kernel omits FRA_PRIORITY). */
  priority: number;
  table: number;
  /** fib_rule_hdr.action (see RULE_ACTIONS). */
  action: number;
  goto?: number;
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
  fwmark?: number;
  fwmask?: number;
  tos: number;
  flags: number;
  invert: boolean;
  protocol?: number;
  unknown: RawAttribute[];
}

export type RuleAction = 'add' | 'delete';

export function describeRule(spec: RuleSpec): string {
  const parts: string[] = [];
  if (spec.priority !== undefined) parts.push(`pref ${spec.priority}`);
  if (spec.invert) parts.push('not');
  parts.push(`from ${spec.src ?? 'all'}`);
  if (spec.dst !== undefined) parts.push(`to ${spec.dst}`);
  if (spec.iif !== undefined) parts.push(`iif ${spec.iif}`);
  if (spec.oif !== undefined) parts.push(`oif ${spec.oif}`);
  if (spec.fwmark !== undefined) parts.push(`fwmark ${spec.fwmark}`);
  if ((spec.action ?? 'lookup') === 'lookup') parts.push(`lookup ${spec.table ?? C.RT_TABLE_MAIN}`);
  else parts.push(spec.action as string);
  return parts.join(' ');
}

export function encodeRule(action: RuleAction, spec: RuleSpec, ctx: EncodeContext): void {
  checkObject(spec, 'rule');
  const src = spec.src === undefined ? undefined : parsePrefix(spec.src, 'rule.src');
  const dst = spec.dst === undefined ? undefined : parsePrefix(spec.dst, 'rule.dst');
  const family = spec.family ?? src?.family ?? dst?.family ?? 4;
  if (family !== 4 && family !== 6) throw new NetlinkSpecError('rule.family', 'expected 4 or 6');
  for (const [p, field] of [
    [src, 'rule.src'],
    [dst, 'rule.dst'],
  ] as [Prefix | undefined, string][]) {
    if (p && p.family !== family) throw new NetlinkSpecError(field, `not an IPv${family} prefix`);
  }
  const ruleAction = spec.action ?? 'lookup';
  if (!Object.hasOwn(RULE_ACTIONS, ruleAction)) {
    throw new NetlinkSpecError('rule.action', `${JSON.stringify(ruleAction)} is not a rule action`);
  }
  const del = action === 'delete';
  const w = ctx.w.begin(del ? C.RTM_DELRULE : C.RTM_NEWRULE, actionFlags(action));
  const h = w.fixed(FIB_RULE_HDR);
  w.setU8(h, family === 4 ? C.AF_INET : C.AF_INET6);
  if (dst) w.setU8(h + 1, dst.length);
  if (src) w.setU8(h + 2, src.length);
  if (spec.tos !== undefined) w.setU8(h + 3, checkUint(spec.tos, 'rule.tos', 255));
  // A delete without table/action matches any rule with the other selectors.
  const table =
    spec.table !== undefined
      ? checkUint(spec.table, 'rule.table', 0xffffffff)
      : del || ruleAction !== 'lookup'
        ? 0
        : C.RT_TABLE_MAIN;
  w.setU8(h + 4, table < 256 ? table : 0);
  w.setU8(h + 7, del && spec.action === undefined ? 0 : RULE_ACTIONS[ruleAction]);
  if (spec.invert !== undefined && checkBool(spec.invert, 'rule.invert')) {
    w.setU32(h + 8, C.FIB_RULE_INVERT);
  }
  if (table !== 0) w.u32(C.FRA_TABLE, table);
  if (spec.priority !== undefined) {
    w.u32(C.FRA_PRIORITY, checkUint(spec.priority, 'rule.priority', 0xffffffff));
  }
  if (src) w.attr(C.FRA_SRC, src.bytes);
  if (dst) w.attr(C.FRA_DST, dst.bytes);
  if (spec.iif !== undefined) w.string(C.FRA_IIFNAME, checkLinkName(spec.iif, 'rule.iif'));
  if (spec.oif !== undefined) w.string(C.FRA_OIFNAME, checkLinkName(spec.oif, 'rule.oif'));
  if (spec.fwmark !== undefined) {
    w.u32(C.FRA_FWMARK, checkUint(spec.fwmark, 'rule.fwmark', 0xffffffff));
  }
  if (spec.fwmask !== undefined) {
    w.u32(C.FRA_FWMASK, checkUint(spec.fwmask, 'rule.fwmask', 0xffffffff));
  }
  if (spec.goto !== undefined) w.u32(C.FRA_GOTO, checkUint(spec.goto, 'rule.goto', 0xffffffff));
  if (spec.protocol !== undefined) {
    w.u8(C.FRA_PROTOCOL, checkUint(spec.protocol, 'rule.protocol', 255));
  }
  w.finish();
}

export function encodeRuleList(family: IpFamily | undefined): Request {
  const w = startMessage(C.RTM_GETRULE, C.NLM_F_REQUEST | C.NLM_F_DUMP);
  const h = w.fixed(FIB_RULE_HDR);
  if (family !== undefined) {
    if (family !== 4 && family !== 6)
      throw new NetlinkSpecError('filter.family', 'expected 4 or 6');
    w.setU8(h, family === 4 ? C.AF_INET : C.AF_INET6);
  }
  const target = family === undefined ? 'all' : `family ipv${family}`;
  w.finish();
  return { message: w.bytes(), kind: 'rule', operation: 'list', describe: () => target };
}

export function decodeRule(msg: Message): Rule {
  needBody(msg, FIB_RULE_HDR, 'fib_rule_hdr');
  const h = msg.body;
  const af = h[0] as number;
  if (af !== C.AF_INET && af !== C.AF_INET6) {
    throw new NetlinkDecodeError(`rule family ${af} is not IPv4 or IPv6`, msg.offset);
  }
  const family: IpFamily = af === C.AF_INET ? 4 : 6;
  const size = family === 4 ? 4 : 16;
  const flags = h.readUInt32LE(8);
  const r: Rule = {
    family,
    priority: 0,
    table: h[4] as number,
    action: h[7] as number,
    tos: h[3] as number,
    flags,
    invert: (flags & C.FIB_RULE_INVERT) !== 0,
    unknown: [],
  };
  for (const a of bodyAttributes(msg, FIB_RULE_HDR)) {
    const prefix = (len: number) => {
      return `${readIp(a, size, 'rule')}/${len}`;
    };
    switch (a.type) {
      case C.FRA_SRC:
        r.src = prefix(h[2] as number);
        break;
      case C.FRA_DST:
        r.dst = prefix(h[1] as number);
        break;
      case C.FRA_PRIORITY:
        r.priority = readU32(a, 'rule');
        break;
      case C.FRA_TABLE:
        r.table = readU32(a, 'rule');
        break;
      case C.FRA_IIFNAME:
        r.iif = readString(a);
        break;
      case C.FRA_OIFNAME:
        r.oif = readString(a);
        break;
      case C.FRA_FWMARK:
        r.fwmark = readU32(a, 'rule');
        break;
      case C.FRA_FWMASK:
        r.fwmask = readU32(a, 'rule');
        break;
      case C.FRA_GOTO:
        r.goto = readU32(a, 'rule');
        break;
      case C.FRA_PROTOCOL:
        r.protocol = readU8(a, 'rule');
        break;
      default:
        r.unknown.push(raw(a));
    }
  }
  return r;
}
