/** Wording shared by the reports and the CLI summary. */
import type { HeldOutThresholdRule } from '../bgad/bundle';
import type { InspectionReport, ModelInfo } from '../model/records';

export function fmtScore(v: number | null, digits = 4): string {
  return v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

export function describeThreshold(s: Pick<InspectionReport, 'threshold' | 'thresholdSource' | 'model'>): string {
  return s.thresholdSource === 'override'
    ? `${fmtScore(s.threshold, 6)} (set for this run; the model's own threshold is ${fmtScore(s.model.threshold, 6)})`
    : `${fmtScore(s.threshold, 6)} (the model's threshold)`;
}

export function describeThresholdRule(m: ModelInfo): string {
  const r = m.thresholdRule;
  const heldOut = (h: HeldOutThresholdRule) => `at most ${(h.rate * 100).toFixed(1)} % of ${h.heldOutImages} held-out normal images (not used for training) score above it`;
  if (r?.kind === 'held-out-false-reject-rate') return `the model's threshold was set at training time so that ${heldOut(r)}`;
  if (r?.kind === 'set-by-user') {
    return `the model's threshold was changed by hand on ${r.at.slice(0, 10)} ${r.at.slice(11, 16)} UTC (from ${fmtScore(r.previous, 6)}); at training time it was set so that ${heldOut(r.trained)}`;
  }
  return `recorded rule: ${JSON.stringify(r)}`;
}
