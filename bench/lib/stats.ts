/** Small numeric helpers for the benchmark: percentiles over samples and a seeded PRNG. */

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
}

/** Nearest-rank percentile of already sorted samples (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return { count: sorted.length, mean, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}
