// Protocol settings, the named profiles (memberlist's LAN / WAN / local defaults) and the
// validation that turns user options into a complete, checked configuration.

/** Timing and sizing knobs of the membership protocol and the store. All durations in ms. */
export interface ProtocolSettings {
  /** Time between failure probes of one member (before Lifeguard scaling). */
  probeInterval: number;
  /** Time to wait for a direct ack before asking helpers (before Lifeguard scaling). */
  probeTimeout: number;
  /** Number of helpers asked to probe a member indirectly (`k` of SWIM's ping-req). */
  indirectChecks: number;
  /** Each broadcast is sent `retransmitMult * ceil(log10(n + 1))` times by each member. */
  retransmitMult: number;
  /** Minimum suspicion timeout is `suspicionMult * max(1, log10(n)) * probeInterval`. */
  suspicionMult: number;
  /** Maximum suspicion timeout (no confirmations yet) is this multiple of the minimum. */
  suspicionMaxTimeoutMult: number;
  /**
   * Independent confirmations that bring a suspicion timeout down to the minimum (memberlist
   * derives `suspicionMult - 2`; the profiles set that value).
   */
  suspicionConfirmations: number;
  /** Period of full-state TCP exchanges with a random member (scaled up above 32 members). */
  pushPullInterval: number;
  /** Period of gossip rounds that send pending broadcasts. */
  gossipInterval: number;
  /** Members gossiped to per round. */
  gossipNodes: number;
  /** Dead members still receive gossip for this long, so they can learn they were declared dead. */
  gossipToTheDeadTime: number;
  /** Lifeguard: the probe interval and timeout are scaled by at most this factor. */
  awarenessMaxMultiplier: number;
  /** Deadline for a whole TCP exchange (connect, request, response). */
  tcpTimeout: number;
  /** Largest UDP datagram sent, including the header and any encryption overhead. */
  packetSize: number;
  /** Period of attempts to reach a random dead (not left) member again, so partitions heal. */
  reconnectInterval: number;
  /** Dead and left members are remembered (and retried) for this long, then forgotten. */
  reconnectTimeout: number;
  /** Attempts per seed address when joining, and the pause between rounds of attempts. */
  joinRetries: number;
  joinRetryInterval: number;
  /** Largest encoded member metadata, in bytes. */
  metaMaxSize: number;
  /** Members that learn of a suspicion probe the suspect at once (faster, independent confirmations). */
  probeOnSuspicion: boolean;
  /** A packet from a member we do not know (or hold as dead) starts a full-state exchange with it. */
  syncUnknownSenders: boolean;
  /** Store: tombstones live at least this long, and until every live member has synced since. */
  tombstoneGrace: number;
  /** Store: tombstones older than this are dropped even if some member never synced (a backstop). */
  tombstoneMaxAge: number;
  /** Store: largest encoded value of one key, in bytes. */
  maxValueSize: number;
}

export type ProfileName = 'lan' | 'wan' | 'local' | 'responsive';

const common = {
  awarenessMaxMultiplier: 8,
  suspicionMaxTimeoutMult: 6,
  packetSize: 1400,
  reconnectInterval: 30_000,
  reconnectTimeout: 24 * 3600_000,
  joinRetries: 5,
  joinRetryInterval: 1000,
  metaMaxSize: 512,
  probeOnSuspicion: true,
  syncUnknownSenders: true,
  tombstoneGrace: 60_000,
  tombstoneMaxAge: 24 * 3600_000,
  maxValueSize: 1024 * 1024,
} as const;

/** memberlist's `DefaultLANConfig` (the default). */
export const LAN: Readonly<ProtocolSettings> = Object.freeze({
  ...common,
  probeInterval: 1000,
  probeTimeout: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionConfirmations: 2,
  pushPullInterval: 30_000,
  gossipInterval: 200,
  gossipNodes: 3,
  gossipToTheDeadTime: 30_000,
  tcpTimeout: 10_000,
});

/** memberlist's `DefaultWANConfig`. */
export const WAN: Readonly<ProtocolSettings> = Object.freeze({
  ...common,
  probeInterval: 5000,
  probeTimeout: 3000,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 6,
  suspicionConfirmations: 4,
  pushPullInterval: 60_000,
  gossipInterval: 500,
  gossipNodes: 4,
  gossipToTheDeadTime: 60_000,
  tcpTimeout: 30_000,
});

/** memberlist's `DefaultLocalConfig` (one host or a fast, quiet network). */
export const LOCAL: Readonly<ProtocolSettings> = Object.freeze({
  ...common,
  probeInterval: 1000,
  probeTimeout: 200,
  indirectChecks: 1,
  retransmitMult: 2,
  suspicionMult: 3,
  suspicionConfirmations: 1,
  pushPullInterval: 15_000,
  gossipInterval: 100,
  gossipNodes: 3,
  gossipToTheDeadTime: 15_000,
  tcpTimeout: 1000,
});

/**
 * LAN timings with the suspicion tuned as in the Lifeguard paper's faster configuration
 * (minimum multiplier 2 instead of memberlist's 4, maximum 6 times that, and still 2 independent
 * confirmations). It relies on what Lifeguard adds (local health, the buddy system) and on this
 * library's suspicion-triggered probes and prompt gossip: a live suspect hears of the suspicion
 * within a round trip and refutes, while a dead one is declared in about half the time.
 */
export const RESPONSIVE: Readonly<ProtocolSettings> = Object.freeze({
  ...LAN,
  suspicionMult: 2,
});

export const PROFILES: Readonly<Record<ProfileName, Readonly<ProtocolSettings>>> = Object.freeze({
  lan: LAN,
  wan: WAN,
  local: LOCAL,
  responsive: RESPONSIVE,
});

/** A configuration problem, naming the option that is wrong. */
export class SwimConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid swim option ${field}: ${message}`);
    this.name = 'SwimConfigError';
  }
}

/** The settings of `profile` (default `lan`) with `overrides` applied and checked. */
export function resolveSettings(
  profile: ProfileName = 'lan',
  overrides: Partial<ProtocolSettings> = {},
): ProtocolSettings {
  const base = PROFILES[profile];
  if (!base) {
    throw new SwimConfigError(
      'profile',
      `unknown profile ${JSON.stringify(profile)} (lan, wan, local, responsive)`,
    );
  }
  const out: ProtocolSettings = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in base)) throw new SwimConfigError(key, 'unknown setting');
    const expected = typeof base[key as keyof ProtocolSettings];
    if (typeof value !== expected) {
      throw new SwimConfigError(key, `expected a ${expected}, got ${JSON.stringify(value)}`);
    }
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  const positive: (keyof ProtocolSettings)[] = [
    'probeInterval',
    'probeTimeout',
    'retransmitMult',
    'suspicionMult',
    'suspicionMaxTimeoutMult',
    'pushPullInterval',
    'gossipInterval',
    'awarenessMaxMultiplier',
    'tcpTimeout',
    'reconnectInterval',
    'joinRetries',
    'joinRetryInterval',
    'metaMaxSize',
    'maxValueSize',
  ];
  for (const key of positive) {
    const v = out[key] as number;
    if (!Number.isFinite(v) || v <= 0) throw new SwimConfigError(key, `must be > 0, got ${v}`);
  }
  const nonNegative: (keyof ProtocolSettings)[] = [
    'indirectChecks',
    'suspicionConfirmations',
    'gossipNodes',
    'gossipToTheDeadTime',
    'reconnectTimeout',
    'tombstoneGrace',
    'tombstoneMaxAge',
  ];
  for (const key of nonNegative) {
    const v = out[key] as number;
    if (!Number.isFinite(v) || v < 0) throw new SwimConfigError(key, `must be >= 0, got ${v}`);
  }
  for (const key of [
    'indirectChecks',
    'gossipNodes',
    'retransmitMult',
    'joinRetries',
    'suspicionConfirmations',
  ] as const) {
    if (!Number.isInteger(out[key]))
      throw new SwimConfigError(key, `must be an integer, got ${out[key]}`);
  }
  if (out.probeTimeout > out.probeInterval) {
    throw new SwimConfigError(
      'probeTimeout',
      `must not exceed probeInterval (${out.probeTimeout} > ${out.probeInterval})`,
    );
  }
  if (out.packetSize < 256 || out.packetSize > 65_000) {
    throw new SwimConfigError(
      'packetSize',
      `must be within 256..65000 bytes, got ${out.packetSize}`,
    );
  }
  if (out.tombstoneMaxAge < out.tombstoneGrace) {
    throw new SwimConfigError('tombstoneMaxAge', 'must be at least tombstoneGrace');
  }
  return out;
}
