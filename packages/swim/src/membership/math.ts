// memberlist's scaling formulas (util.go / suspicion.go), as pure functions of the member count.

/** Times each broadcast is sent by each member: `mult * ceil(log10(n + 1))`. */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

/** Minimum suspicion timeout: `mult * max(1, log10(n)) * probeInterval`. */
export function suspicionTimeout(mult: number, n: number, probeInterval: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor(mult * nodeScale * probeInterval);
}

/**
 * Independent confirmations a suspicion waits for: `wanted` (memberlist uses
 * `suspicionMult - 2`), none when the group is too small to provide them.
 */
export function suspicionConfirmations(wanted: number, n: number): number {
  return n - 2 < wanted ? 0 : Math.max(0, wanted);
}

/** Push-pull period: unchanged up to 32 members, then grows with log2(n / 32). */
export function pushPullScale(interval: number, n: number): number {
  const threshold = 32;
  if (n <= threshold) return interval;
  const mult = Math.ceil(Math.log2(n) - Math.log2(threshold)) + 1;
  return interval * mult;
}
