/**
 * The review band (issue 20): a score interval around a model's threshold whose images get the
 * verdict `review` (a person looks) instead of pass or fail. Pure: the services, the inspection
 * code, the CLI and the UI judge with the same function.
 *
 * The rule, in the product's convention (a part fails when its score is above a threshold):
 *   score <= low            -> pass   (passes even at the lenient threshold `low`)
 *   low < score <= high     -> review (fails at `low`, passes at `high`)
 *   score > high            -> fail   (fails even at the strict threshold `high`)
 * without a band: score > threshold -> fail, else pass. A band always holds its model's
 * threshold (low <= threshold <= high), so it only turns the verdicts near the threshold into
 * `review`: a pass stays a pass or becomes a review, a fail stays a fail or becomes a review.
 */
import { AppError } from './errors';
import type { ReviewBand } from './records';

export type { ReviewBand };

/** The verdict of a scored image: fail when score > threshold; review inside the band. */
export function judge(score: number, threshold: number, band?: ReviewBand | null): 'pass' | 'fail' | 'review' {
  if (band && score > band.low && score <= band.high) return 'review';
  return score > threshold ? 'fail' : 'pass';
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x));

/**
 * Checks a band for a model whose threshold is `threshold`: finite bounds, low < high, and the
 * threshold inside [low, high]. `field` names where it came from in the messages (e.g.
 * `args.band`, `--review-range`). Returns a plain copy.
 */
export function checkReviewBand(band: { low: unknown; high: unknown }, threshold: number | null, field = 'band'): ReviewBand {
  const { low, high } = band;
  if (typeof low !== 'number' || !Number.isFinite(low) || typeof high !== 'number' || !Number.isFinite(high)) {
    throw new AppError('BAD_ARGUMENT', `The review band ${field} needs two finite numbers, low and high (got ${String(low)} and ${String(high)}).`, { subject: field, hint: 'Give the scores where the band starts and ends, e.g. {"low": 1.2, "high": 1.5}.' });
  }
  if (!(low < high)) {
    throw new AppError('BAD_ARGUMENT', `The review band ${field} is empty: low (${fmt(low)}) must be below high (${fmt(high)}).`, { subject: field, hint: 'Swap the two numbers, or widen the band.' });
  }
  if (threshold !== null && (threshold < low || threshold > high)) {
    throw new AppError('BAD_ARGUMENT', `The review band ${field} [${fmt(low)}, ${fmt(high)}] does not hold the threshold ${fmt(threshold)}.`, {
      subject: field,
      hint: 'A review band lies around the threshold: choose low at or below it and high at or above it (or move the threshold first).',
    });
  }
  return { low, high };
}

/** "review when 1.23 < score <= 1.57", for reports and the CLI. */
export function describeReviewBand(band: ReviewBand): string {
  return `review when ${fmt(band.low)} < score <= ${fmt(band.high)}`;
}

/** The false-reject rates the default proposal spans: the band's low end at 1 %, its high end at 0.1 %. */
export const PROPOSAL_RATES = { low: 0.01, high: 0.001 } as const;
/** Fewer normal scores than this cannot place a 0.1 % rate: the proposal fits a normal distribution to them instead. */
export const EMPIRICAL_MIN_SCORES = 1000;

export interface ReviewBandProposal extends ReviewBand {
  /** Whose scores it comes from: the held-out normals training calibrated on, or (for models trained before they were kept) the normals of the frozen test split. */
  source: 'calibration' | 'test-split';
  /** `empirical`: the scores' own quantiles (at least 1000 scores); `normal-fit`: quantiles of a normal distribution with their mean and standard deviation. */
  method: 'empirical' | 'normal-fit';
  /** How many normal scores it rests on. */
  scores: number;
}

/** Upper-tail quantiles z of the standard normal: P(Z > z) = rate. */
const NORMAL_TAIL: Readonly<Record<number, number>> = { 0.01: 2.3263478740408408, 0.001: 3.090232306167813 };

/** The smallest t with at most `rate` of the scores above it (metrics/thresholds.ts thresholdAtFalseRejectRate's rule). */
function empiricalThreshold(sorted: readonly number[], rate: number): number {
  const n = sorted.length;
  const m = Math.floor(rate * n + 1e-9);
  return sorted[Math.max(0, n - m - 1)]!;
}

/**
 * The default band of a model: from the threshold at a 1 % false-reject rate of the normal
 * scores to the threshold at 0.1 %, widened where needed to hold the model's threshold, so
 * the images it would reject at 1 % but not at 0.1 % go to a person. With fewer than
 * EMPIRICAL_MIN_SCORES scores (training keeps at most 40 held-out normals) both ends come from
 * a normal distribution fitted to the scores (mean + 2.33 and + 3.09 standard deviations).
 * Null when there are fewer than 2 scores or they do not spread (no band can be told).
 */
export function proposeReviewBand(normalScores: readonly number[], threshold: number, source: ReviewBandProposal['source']): ReviewBandProposal | null {
  const s = normalScores.filter((x) => Number.isFinite(x));
  if (s.length < 2 || !Number.isFinite(threshold)) return null;
  let lo: number;
  let hi: number;
  let method: ReviewBandProposal['method'];
  if (s.length >= EMPIRICAL_MIN_SCORES) {
    const sorted = [...s].sort((a, b) => a - b);
    lo = empiricalThreshold(sorted, PROPOSAL_RATES.low);
    hi = empiricalThreshold(sorted, PROPOSAL_RATES.high);
    method = 'empirical';
  } else {
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (s.length - 1));
    lo = mean + NORMAL_TAIL[PROPOSAL_RATES.low]! * sd;
    hi = mean + NORMAL_TAIL[PROPOSAL_RATES.high]! * sd;
    method = 'normal-fit';
  }
  const low = Math.min(lo, threshold);
  const high = Math.max(hi, threshold);
  if (!(high > low)) return null;
  return { low, high, source, method, scores: s.length };
}
