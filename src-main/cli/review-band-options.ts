/**
 * `--review-band` and `--review-range` of `bgad inspect` and `bgad watch` (issue 20): off by
 * default, so the verdicts and exit statuses stay pass / fail / error as documented.
 */
import type { OptionSpec } from './command';
import { UsageError } from './command';
import type { ReviewBand } from '../common/records';

export const REVIEW_BAND_OPTIONS: OptionSpec = {
  'review-band': { type: 'boolean' },
  'review-range': { type: 'string' },
};

export const REVIEW_BAND_USAGE = `  --review-band          judge with the model's review band (set in the app's Models view):
                         images scoring in it get the verdict review instead of pass or fail
  --review-range LOW,HIGH  the review band for this run instead (review when LOW < score <= HIGH;
                         it must hold the threshold); implies --review-band`;

/** The band the options ask for: undefined (none), 'model' (the model's own), or the range given. */
export function reviewBandChoice(values: Record<string, unknown>): ReviewBand | 'model' | undefined {
  const range = values['review-range'];
  if (range !== undefined) {
    const parts = typeof range === 'string' ? range.split(',').map((p) => p.trim()) : [];
    const [low, high] = parts.map(Number);
    if (parts.length !== 2 || parts.some((p) => p === '') || !Number.isFinite(low) || !Number.isFinite(high)) {
      throw new UsageError(`--review-range must be two numbers LOW,HIGH (e.g. 1.2,1.5), got "${String(range)}"`);
    }
    if (!(low! < high!)) throw new UsageError(`--review-range: LOW (${low}) must be below HIGH (${high})`);
    return { low: low!, high: high! };
  }
  return values['review-band'] === true ? 'model' : undefined;
}
