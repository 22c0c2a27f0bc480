/** Wording shared by the reports and the CLI summary. */
import type { InspectionSummary, ModelInfo } from '../inspection/types';

export function fmtScore(v: number | null, digits = 4): string {
  return v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

export function describeThreshold(s: Pick<InspectionSummary, 'threshold' | 'thresholdSource' | 'model'>): string {
  return s.thresholdSource === 'override'
    ? `${fmtScore(s.threshold, 6)} (set for this run; the model's own threshold is ${fmtScore(s.model.threshold, 6)})`
    : `${fmtScore(s.threshold, 6)} (the model's threshold)`;
}

export function describeThresholdRule(m: ModelInfo): string {
  const r = m.thresholdRule;
  if (r?.kind === 'held-out-false-reject-rate') {
    return `the model's threshold was set at training time so that at most ${(r.rate * 100).toFixed(1)} % of ${r.heldOutImages} held-out normal images (not used for training) score above it`;
  }
  return `recorded rule: ${JSON.stringify(r)}`;
}
