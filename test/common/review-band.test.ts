import { describe, expect, it } from 'vitest';
import { checkReviewBand, describeReviewBand, judge, proposeReviewBand } from '../../src-main/common/review-band';
import { thresholdAtFalseRejectRate } from '../../src-main/metrics/thresholds';
import { isAppError } from '../../src-main/common/errors';

describe('the verdict with a review band', () => {
  it('is review for low < score <= high, pass at or below low, fail above high', () => {
    const band = { low: 1, high: 2 };
    expect([0.5, 1, 1.0001, 1.5, 2, 2.0001, 3].map((s) => judge(s, 1.2, band))).toEqual(['pass', 'pass', 'review', 'review', 'review', 'fail', 'fail']);
  });

  it('is pass or fail at the threshold without a band, as before (fail only above it)', () => {
    expect([1.1, 1.2, 1.2001].map((s) => judge(s, 1.2))).toEqual(['pass', 'pass', 'fail']);
    expect([1.1, 1.2, 1.2001].map((s) => judge(s, 1.2, null))).toEqual(['pass', 'pass', 'fail']);
  });

  it('only turns verdicts near the threshold into review: a pass never becomes a fail nor the reverse', () => {
    const band = { low: 0.9, high: 1.4 };
    for (let s = 0; s <= 3; s += 0.01) {
      const without = judge(s, 1.1);
      const withBand = judge(s, 1.1, band);
      if (withBand !== 'review') expect(withBand).toBe(without);
    }
  });
});

describe('checking a band', () => {
  const code = (f: () => unknown) => {
    try {
      f();
      return null;
    } catch (e) {
      return isAppError(e) ? `${e.code}: ${e.message}` : String(e);
    }
  };

  it('takes a band that holds the threshold, its ends included', () => {
    expect(checkReviewBand({ low: 1, high: 2 }, 1.5)).toEqual({ low: 1, high: 2 });
    expect(checkReviewBand({ low: 1, high: 2 }, 1)).toEqual({ low: 1, high: 2 });
    expect(checkReviewBand({ low: 1, high: 2 }, 2)).toEqual({ low: 1, high: 2 });
  });

  it('refuses a band that is empty, reversed, not numbers or beside the threshold, naming the field', () => {
    expect(code(() => checkReviewBand({ low: 2, high: 2 }, 2, 'args.band'))).toMatch(/^BAD_ARGUMENT: The review band args.band is empty: low \(2\) must be below high \(2\)/);
    expect(code(() => checkReviewBand({ low: 3, high: 2 }, 2.5))).toMatch(/low \(3\) must be below high \(2\)/);
    expect(code(() => checkReviewBand({ low: '1', high: 2 }, 1.5))).toMatch(/needs two finite numbers/);
    expect(code(() => checkReviewBand({ low: 1, high: Infinity }, 1.5))).toMatch(/needs two finite numbers/);
    expect(code(() => checkReviewBand({ low: 1, high: 2 }, 2.5))).toMatch(/\[1, 2\] does not hold the threshold 2.5/);
  });

  it('reads as the rule it applies', () => {
    expect(describeReviewBand({ low: 1.23456789, high: 2 })).toBe('review when 1.23457 < score <= 2');
  });
});

describe('the default proposal', () => {
  /** Deterministic normal-ish scores (Box-Muller on a fixed sequence). */
  function normals(n: number, mean: number, sd: number): number[] {
    const out: number[] = [];
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
    for (let i = 0; i < n; i++) out.push(mean + sd * Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()));
    return out;
  }

  it('with many normals spans the thresholds at 1 % and 0.1 % false-reject rate (the training rule)', () => {
    const s = normals(5000, 1, 0.1);
    const t1 = thresholdAtFalseRejectRate(s, 0.01);
    const t01 = thresholdAtFalseRejectRate(s, 0.001);
    const p = proposeReviewBand(s, t1, 'calibration')!;
    expect(p).toEqual({ low: t1, high: t01, source: 'calibration', method: 'empirical', scores: 5000 });
    // 1 % of the normals are rejected at low, 0.1 % at high: 0.9 % of good parts go to a person
    expect(s.filter((x) => judge(x, t1, p) === 'review').length).toBe(50 - 5);
  });

  it('with the few held-out normals of a training fits a normal distribution (mean + 2.33 and + 3.09 sd)', () => {
    const s = normals(40, 2, 0.2);
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (s.length - 1));
    const threshold = Math.max(...s); // what training sets with 40 normals at 1 %
    const p = proposeReviewBand(s, threshold, 'test-split')!;
    expect(p.method).toBe('normal-fit');
    expect(p.source).toBe('test-split');
    expect(p.high).toBeCloseTo(mean + 3.0902 * sd, 3);
    expect(p.low).toBeCloseTo(Math.min(threshold, mean + 2.3263 * sd), 6);
    expect(p.low).toBeLessThanOrEqual(threshold);
    expect(p.high).toBeGreaterThanOrEqual(threshold);
  });

  it('always holds the threshold, widening an end to it', () => {
    const s = normals(40, 2, 0.2);
    const high = proposeReviewBand(s, 5, 'calibration')!;
    expect(high.high).toBe(5);
    expect(() => checkReviewBand(high, 5)).not.toThrow();
    const low = proposeReviewBand(s, 0, 'calibration')!;
    expect(low.low).toBe(0);
    expect(() => checkReviewBand(low, 0)).not.toThrow();
  });

  it('is null when it cannot be told: too few scores, or all equal and at the threshold', () => {
    expect(proposeReviewBand([1], 1, 'calibration')).toBeNull();
    expect(proposeReviewBand([], 1, 'calibration')).toBeNull();
    expect(proposeReviewBand([1, 1, 1], 1, 'calibration')).toBeNull();
    expect(proposeReviewBand([1, 2], Number.NaN, 'calibration')).toBeNull();
  });
});
