// Validation of a `dcos_overlay_network` block given as plain data (parsed YAML or JSON).
// Pure: reports every problem at once, each with the path of the field it is about.

import { quote } from '../input.js';
import {
  type Cidr,
  type Family,
  familyBits,
  formatCidr,
  overlaps,
  parseCidr,
} from '../net/cidr.js';
import { closest } from './did-you-mean.js';
import {
  type ConfigIssue,
  type ConfigPath,
  DEFAULT_OVERLAY_MTU,
  DEFAULT_PREFIX6,
  DEFAULT_UNDERLAY_MTU,
  MAX_OVERLAY_NAME,
  MIN_MTU,
  type NetworkConfig,
  type OverlayConfig,
  RESERVED_NAMES,
  VXLAN_OVERHEAD,
} from './types.js';

export interface ValidateOptions {
  /** MTU of the nodes' underlay interfaces (default 1500). */
  underlayMtu?: number;
}

export type ValidationResult =
  | { ok: true; config: NetworkConfig }
  | { ok: false; issues: ConfigIssue[] };

const TOP_KEYS = [
  'vtep_subnet',
  'vtep_subnet6',
  'vtep_mac_oui',
  'vtep_mtu',
  'overlay_mtu',
  'overlays',
] as const;
/** The keys an overlay may have. */
export const OVERLAY_KEYS = [
  'name',
  'subnet',
  'prefix',
  'subnet6',
  'prefix6',
  'enabled',
  'isolated',
] as const;
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const OUI_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
/** Per half: network, broadcast and gateway addresses (IPv4); subnet-router anycast and gateway (IPv6). */
const RESERVED_PER_HALF: Record<Family, bigint> = { 4: 3n, 6: 2n };
const MIN_CONTAINERS_PER_HALF = 2n;

type Raw = Record<string, unknown>;
const isMapping = (v: unknown): v is Raw =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'object'
        ? 'a mapping'
        : quote(v);

/** Addresses left for containers in each half of a node block of length `prefix`. */
export function containersPerHalf(family: Family, prefix: number): bigint {
  return (1n << BigInt(familyBits(family) - prefix - 1)) - RESERVED_PER_HALF[family];
}

/** The longest node-block prefix that still leaves MIN_CONTAINERS_PER_HALF in each half. */
function maxNodePrefix(family: Family): number {
  let p = familyBits(family) - 1;
  while (containersPerHalf(family, p) < MIN_CONTAINERS_PER_HALF) p--;
  return p;
}

class Checker {
  readonly issues: ConfigIssue[] = [];

  report(path: ConfigPath, message: string): void {
    this.issues.push({ path, message });
  }

  unknownKeys(raw: Raw, allowed: readonly string[], path: ConfigPath): void {
    for (const key of Object.keys(raw)) {
      if (allowed.includes(key)) continue;
      const hint = closest(key, allowed);
      this.report(
        [...path, key],
        hint
          ? `unknown key; did you mean "${hint}"?`
          : `unknown key; expected one of ${allowed.join(', ')}`,
      );
    }
  }

  string(raw: Raw, key: string, path: ConfigPath, required: boolean): string | undefined {
    const v = raw[key];
    if (v === undefined || v === null) {
      if (required) this.report([...path, key], 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.report([...path, key], `must be a string, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  integer(raw: Raw, key: string, path: ConfigPath, min: number, max: number): number | undefined {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.report([...path, key], `must be an integer, got ${describe(v)}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.report([...path, key], `${v} is out of range: must be ${min} to ${max}`);
      return undefined;
    }
    return v;
  }

  boolean(raw: Raw, key: string, path: ConfigPath): boolean | undefined {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    this.report([...path, key], `must be true or false, got ${describe(v)}`);
    return undefined;
  }

  cidr(
    raw: Raw,
    key: string,
    path: ConfigPath,
    family: Family,
    required: boolean,
  ): Cidr | undefined {
    const text = this.string(raw, key, path, required);
    if (text === undefined) return undefined;
    const parsed = parseCidr(text, family);
    if (!parsed.ok) {
      this.report([...path, key], parsed.reason);
      return undefined;
    }
    return parsed.cidr;
  }
}

interface CheckedOverlay {
  index: number;
  config: OverlayConfig;
  subnet?: Cidr;
  subnet6?: Cidr;
}

export function validateNetworkConfig(
  raw: unknown,
  options: ValidateOptions = {},
): ValidationResult {
  const c = new Checker();
  if (!isMapping(raw)) {
    c.report([], `the overlay network config must be a mapping, got ${describe(raw)}`);
    return { ok: false, issues: c.issues };
  }
  c.unknownKeys(raw, TOP_KEYS, []);

  const vtep = c.cidr(raw, 'vtep_subnet', [], 4, true);
  if (vtep && vtep.prefix < 8) {
    c.report(
      ['vtep_subnet'],
      `prefix /${vtep.prefix} is too short: must be /8 or longer, because a VTEP MAC holds only the low 3 bytes of its VTEP IP`,
    );
  } else if (vtep && vtep.prefix > 30) {
    c.report(
      ['vtep_subnet'],
      `prefix /${vtep.prefix} leaves no VTEP addresses: use /30 or shorter`,
    );
  }
  const vtep6 = c.cidr(raw, 'vtep_subnet6', [], 6, false);
  if (vtep6 && vtep6.prefix > 126) {
    c.report(
      ['vtep_subnet6'],
      `prefix /${vtep6.prefix} leaves no VTEP addresses: use /126 or shorter`,
    );
  }
  checkOui(c, c.string(raw, 'vtep_mac_oui', [], true));

  const underlayMtu = options.underlayMtu ?? DEFAULT_UNDERLAY_MTU;
  const maxVtepMtu = underlayMtu - VXLAN_OVERHEAD;
  const vtepMtu = c.integer(raw, 'vtep_mtu', [], 0, Number.MAX_SAFE_INTEGER);
  if (vtepMtu !== undefined)
    checkMtu(c, ['vtep_mtu'], vtepMtu, maxVtepMtu, underlayMtu, 'vtep_mtu');
  const overlayMtu = c.integer(raw, 'overlay_mtu', [], 0, Number.MAX_SAFE_INTEGER);
  const effectiveVtepMtu = Math.min(vtepMtu ?? maxVtepMtu, maxVtepMtu);
  checkMtu(
    c,
    ['overlay_mtu'],
    overlayMtu ?? DEFAULT_OVERLAY_MTU,
    effectiveVtepMtu,
    underlayMtu,
    overlayMtu === undefined ? 'the default overlay_mtu' : 'overlay_mtu',
  );

  const overlays = checkOverlays(c, raw['overlays']);
  checkOverlaps(c, overlays, vtep, vtep6);
  const withV6 = overlays.find((o) => o.subnet6);
  if (withV6 && raw['vtep_subnet6'] === undefined) {
    c.report(
      ['vtep_subnet6'],
      `is required because overlays[${withV6.index}] (${withV6.config.name}) has a subnet6`,
    );
  }

  if (c.issues.length > 0) return { ok: false, issues: c.issues };
  const config: NetworkConfig = {
    vtep_subnet: raw['vtep_subnet'] as string,
    vtep_mac_oui: raw['vtep_mac_oui'] as string,
    overlay_mtu: overlayMtu ?? DEFAULT_OVERLAY_MTU,
    overlays: overlays.map((o) => o.config),
  };
  if (vtep6) config.vtep_subnet6 = raw['vtep_subnet6'] as string;
  if (vtepMtu !== undefined) config.vtep_mtu = vtepMtu;
  return { ok: true, config };
}

function checkOui(c: Checker, oui: string | undefined): void {
  if (oui === undefined) return;
  if (!OUI_PATTERN.test(oui)) {
    c.report(['vtep_mac_oui'], `${quote(oui)} is not a MAC address like 70:B3:D5:00:00:00`);
    return;
  }
  const bytes = oui.split(':').map((b) => Number.parseInt(b, 16));
  if (bytes.slice(3).some((b) => b !== 0)) {
    c.report(
      ['vtep_mac_oui'],
      `${quote(oui)} sets its low three bytes: they must be zero (they come from the VTEP IP), e.g. ${oui.slice(0, 8)}:00:00:00`,
    );
  }
  if ((bytes[0]! & 1) === 1) {
    c.report(
      ['vtep_mac_oui'],
      `${quote(oui)} is a multicast OUI (lowest bit of the first byte set)`,
    );
  }
}

function checkMtu(
  c: Checker,
  path: ConfigPath,
  mtu: number,
  max: number,
  underlayMtu: number,
  what: string,
): void {
  if (mtu < MIN_MTU) c.report(path, `${what} ${mtu} is below the minimum of ${MIN_MTU}`);
  else if (mtu > max) {
    c.report(
      path,
      `${what} ${mtu} does not fit: at most ${max} on a ${underlayMtu}-byte underlay (VXLAN adds ${VXLAN_OVERHEAD} bytes)`,
    );
  }
}

function checkOverlays(c: Checker, raw: unknown): CheckedOverlay[] {
  if (raw === undefined || raw === null) {
    c.report(['overlays'], 'is required: list at least one overlay');
    return [];
  }
  if (!Array.isArray(raw)) {
    c.report(['overlays'], `must be a list of overlays, got ${describe(raw)}`);
    return [];
  }
  if (raw.length === 0) c.report(['overlays'], 'is empty: list at least one overlay');
  const seen = new Map<string, number>();
  const out: CheckedOverlay[] = [];
  raw.forEach((item, index) => {
    const path = ['overlays', index];
    if (!isMapping(item)) {
      c.report(path, `must be a mapping with name and subnet, got ${describe(item)}`);
      return;
    }
    c.unknownKeys(item, OVERLAY_KEYS, path);
    const name = checkName(c, item, path, seen, index);
    const subnet = c.cidr(item, 'subnet', path, 4, false);
    const subnet6 = c.cidr(item, 'subnet6', path, 6, false);
    if (item['subnet'] == null && item['subnet6'] == null) {
      c.report([...path, 'subnet'], 'is required (or subnet6 for an IPv6 overlay)');
    }
    const prefix = checkNodePrefix(c, item, path, 'prefix', 'subnet', subnet, 4);
    const prefix6 = checkNodePrefix(c, item, path, 'prefix6', 'subnet6', subnet6, 6);
    const enabled = c.boolean(item, 'enabled', path);
    const isolated = c.boolean(item, 'isolated', path);
    const config: OverlayConfig = { name: name ?? '' };
    if (subnet) {
      config.subnet = item['subnet'] as string;
      config.prefix = prefix;
    }
    if (subnet6) {
      config.subnet6 = item['subnet6'] as string;
      config.prefix6 = prefix6;
    }
    if (enabled !== undefined) config.enabled = enabled;
    if (isolated !== undefined) config.isolated = isolated;
    out.push({ index, config, subnet, subnet6 });
  });
  return out;
}

function checkName(
  c: Checker,
  item: Raw,
  path: ConfigPath,
  seen: Map<string, number>,
  index: number,
): string | undefined {
  const name = c.string(item, 'name', path, true);
  if (name === undefined) return undefined;
  const at = [...path, 'name'];
  if (name.length === 0 || name.length > MAX_OVERLAY_NAME) {
    c.report(
      at,
      `${quote(name)} must be 1 to ${MAX_OVERLAY_NAME} characters, so that its bridges m-NAME and d-NAME fit Linux's 15-character device names`,
    );
  } else if (!NAME_PATTERN.test(name)) {
    c.report(
      at,
      `${quote(name)} may hold only lowercase letters, digits, '-' and '_', and must start with a letter or digit`,
    );
  }
  if (RESERVED_NAMES.has(name)) {
    c.report(at, `${quote(name)} is reserved (host, bridge, default and none name other networks)`);
  }
  const first = seen.get(name);
  if (first !== undefined)
    c.report(at, `duplicate name ${quote(name)}: overlays[${first}] has it too`);
  else seen.set(name, index);
  return name;
}

/** Checks `prefix`/`prefix6` of an overlay against its subnet; returns the effective value. */
function checkNodePrefix(
  c: Checker,
  item: Raw,
  path: ConfigPath,
  key: 'prefix' | 'prefix6',
  subnetKey: 'subnet' | 'subnet6',
  subnet: Cidr | undefined,
  family: Family,
): number | undefined {
  const bits = familyBits(family);
  const value = c.integer(item, key, path, 0, bits);
  if (item[key] != null && item[subnetKey] == null) {
    c.report([...path, key], `is set but ${subnetKey} is not`);
    return undefined;
  }
  if (!subnet) return undefined;
  let prefix = value;
  if (prefix === undefined && item[key] == null) {
    if (family === 6) prefix = DEFAULT_PREFIX6;
    else {
      c.report([...path, key], `is required with ${subnetKey}: the length of each node's block`);
      return undefined;
    }
  }
  if (prefix === undefined) return undefined;
  const max = maxNodePrefix(family);
  if (prefix <= subnet.prefix) {
    c.report(
      [...path, key],
      `/${prefix} must be longer than the ${subnetKey} mask /${subnet.prefix}, or only one node could join`,
    );
  } else if (prefix > max) {
    const per = containersPerHalf(family, prefix);
    c.report(
      [...path, key],
      `/${prefix} is too long: each /${prefix + 1} half would hold ${per < 0n ? 0n : per} container address(es); use /${max} or shorter`,
    );
  }
  return prefix;
}

function checkOverlaps(
  c: Checker,
  overlays: CheckedOverlay[],
  vtep: Cidr | undefined,
  vtep6: Cidr | undefined,
): void {
  const claimed: { cidr: Cidr; what: string }[] = [];
  if (vtep) claimed.push({ cidr: vtep, what: `vtep_subnet ${formatCidr(vtep)}` });
  if (vtep6) claimed.push({ cidr: vtep6, what: `vtep_subnet6 ${formatCidr(vtep6)}` });
  for (const o of overlays) {
    for (const key of ['subnet', 'subnet6'] as const) {
      const cidr = o[key];
      if (!cidr) continue;
      const clash = claimed.find((x) => overlaps(x.cidr, cidr));
      if (clash) {
        c.report(['overlays', o.index, key], `${formatCidr(cidr)} overlaps ${clash.what}`);
      }
      claimed.push({
        cidr,
        what: `overlays[${o.index}].${key} ${formatCidr(cidr)} (${o.config.name})`,
      });
    }
  }
}
