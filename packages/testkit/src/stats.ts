// Percentiles of bench samples by the nearest-rank method: the answer is always one of the samples.

/** The p-th percentile (0-100) of `xs`; NaN when there are no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The 50th percentile (for an even count, the lower of the two middle samples). */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}
