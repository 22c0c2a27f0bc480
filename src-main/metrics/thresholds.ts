/**
 * Operating points: F1 at a threshold and the threshold for a false-reject rate.
 * Pure: no node, electron, DOM or native imports.
 */

export interface F1Result {
  f1: number;
  precision: number;
  recall: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/**
 * Confusion counts and F1 when a sample is predicted anomalous iff score > threshold
 * (strictly greater: a score equal to the threshold passes). Labels: 0 = normal, any other
 * value = anomalous. Precision is 0 when nothing is predicted anomalous, recall is 0 when
 * there is no anomaly, and F1 is 0 when precision + recall is 0 (scikit-learn's
 * zero_division=0).
 */
export function f1AtThreshold(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): F1Result {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const isPredicted = scores[i] > threshold;
    if (labels[i] !== 0) {
      if (isPredicted) tp++;
      else fn++;
    } else if (isPredicted) fp++;
    else tn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { f1, precision, recall, tp, fp, tn, fn };
}

/**
 * The smallest threshold t such that at most `rate` of the normal scores are > t (the
 * normals that would be rejected under f1AtThreshold's rule). With m = floor(rate * n)
 * (plus 1e-9 against rounding, so 0.29 * 100 allows 29), t is the (n - m)-th smallest score.
 * Returns -Infinity when every normal may be rejected (m >= n), NaN for no scores.
 */
export function thresholdAtFalseRejectRate(normalScores: ArrayLike<number>, rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`rate must be in [0, 1], got ${rate}`);
  const n = normalScores.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(normalScores);
  for (let i = 0; i < n; i++) if (Number.isNaN(sorted[i])) throw new RangeError(`NaN score at index ${i}`);
  sorted.sort();
  const m = Math.floor(rate * n + 1e-9);
  if (m >= n) return -Infinity;
  return sorted[n - m - 1];
}
