/** Score histogram shared by the PDF and HTML reports. */

export interface Histogram {
  lo: number;
  hi: number;
  /** Bin width. */
  step: number;
  counts: number[];
  /** Counts of failing scores per bin (score > threshold). */
  failCounts: number[];
}

/**
 * Bins scores on a range that always contains the threshold (with a margin), so the
 * threshold line is drawn even when every score lies on one side of it.
 */
export function scoreHistogram(scores: readonly number[], threshold: number, bins = 30): Histogram {
  const finite = scores.filter(Number.isFinite);
  let lo = Math.min(threshold, ...finite);
  let hi = Math.max(threshold, ...finite);
  const pad = (hi - lo) * 0.05 || Math.abs(threshold) * 0.1 || 1;
  lo -= pad;
  hi += pad;
  const step = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  const failCounts = new Array<number>(bins).fill(0);
  for (const s of finite) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((s - lo) / step)));
    counts[b]!++;
    if (s > threshold) failCounts[b]!++;
  }
  return { lo, hi, step, counts, failCounts };
}
