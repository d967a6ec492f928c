// The line every bench prints last (DESIGN.md): one JSON object that compares ours with an
// anchor, a peer system measured side by side in the same run.

export interface BenchResult {
  bench: string;
  unit: string;
  ours: number;
  /** The peer measured against. */
  anchor: string;
  anchorValue: number;
  higherIsBetter: boolean;
}

/**
 * `{"bench", "unit", "ours", "anchor", "anchor_value", "ratio", "higher_is_better"}` with
 * ratio = ours / anchor_value to 3 decimals. Throws for a value that is not a finite number: a
 * bench that measured nothing fails rather than print null.
 */
export function benchResultLine(r: BenchResult): string {
  const ratio = r.ours / r.anchorValue;
  for (const [name, v] of [
    ['ours', r.ours],
    ['anchor_value', r.anchorValue],
    ['ratio', ratio],
  ] as const) {
    if (!Number.isFinite(v)) throw new Error(`bench ${r.bench}: ${name} is ${v}`);
  }
  return JSON.stringify({
    bench: r.bench,
    unit: r.unit,
    ours: r.ours,
    anchor: r.anchor,
    anchor_value: r.anchorValue,
    ratio: Number(ratio.toFixed(3)),
    higher_is_better: r.higherIsBetter,
  });
}
