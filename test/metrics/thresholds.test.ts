import { describe, expect, it } from 'vitest';
import { f1AtThreshold, thresholdAtFalseRejectRate } from '../../src-main/metrics/index';

describe('f1AtThreshold', () => {
  it('predicts anomalous only when the score is strictly above the threshold', () => {
    const r = f1AtThreshold([0.1, 0.5, 0.5, 0.9], [0, 1, 0, 1], 0.5);
    expect(r).toMatchObject({ tp: 1, fp: 0, tn: 2, fn: 1, precision: 1, recall: 0.5 });
    expect(r.f1).toBeCloseTo(2 / 3, 12);
  });

  it('counts a lower threshold as more detections and more false alarms', () => {
    const r = f1AtThreshold([0.1, 0.5, 0.5, 0.9], [0, 1, 0, 1], 0.4);
    expect(r).toMatchObject({ tp: 2, fp: 1, tn: 1, fn: 0, recall: 1 });
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.f1).toBeCloseTo(0.8, 12);
  });

  it('returns zeros instead of NaN when nothing is predicted or nothing is anomalous', () => {
    expect(f1AtThreshold([0.1, 0.2], [1, 0], 1)).toMatchObject({ f1: 0, precision: 0, recall: 0, fn: 1, tn: 1 });
    expect(f1AtThreshold([0.1, 0.2], [0, 0], 0)).toMatchObject({ f1: 0, precision: 0, recall: 0, fp: 2 });
  });
});

describe('thresholdAtFalseRejectRate', () => {
  const tenScores = [3, 1, 4, 10, 5, 9, 2, 6, 8, 7];

  it('rejects at most the given fraction of normals', () => {
    expect(thresholdAtFalseRejectRate(tenScores, 0.1)).toBe(9);
    expect(thresholdAtFalseRejectRate(tenScores, 0.25)).toBe(8);
    expect(thresholdAtFalseRejectRate(tenScores, 0)).toBe(10);
  });

  it('does not count ties with the threshold as rejected', () => {
    expect(thresholdAtFalseRejectRate([1, 2, 2, 2, 3], 0.2)).toBe(2);
    expect(thresholdAtFalseRejectRate([1, 2, 2, 2, 3], 0.4)).toBe(2);
    expect(thresholdAtFalseRejectRate([1, 2, 2, 2, 3], 0.8)).toBe(1);
  });

  it('is robust to rounding of rate times count', () => {
    const scores = Array.from({ length: 100 }, (_, i) => i);
    expect(thresholdAtFalseRejectRate(scores, 0.29)).toBe(70); // 29 scores above 70
  });

  it('is the smallest threshold meeting the definition on random data', () => {
    let s = 5;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 20; trial++) {
      const scores = Array.from({ length: 37 }, () => Math.floor(rnd() * 12));
      const rate = rnd() * 0.9;
      const t = thresholdAtFalseRejectRate(scores, rate);
      const rejected = (th: number) => scores.filter((v) => v > th).length;
      expect(rejected(t)).toBeLessThanOrEqual(rate * scores.length);
      const below = scores.filter((v) => v < t);
      if (below.length > 0) expect(rejected(Math.max(...below))).toBeGreaterThan(rate * scores.length);
    }
  });

  it('returns -Infinity when every normal may be rejected and NaN without scores', () => {
    expect(thresholdAtFalseRejectRate([1, 2], 1)).toBe(-Infinity);
    expect(thresholdAtFalseRejectRate([], 0.1)).toBeNaN();
    expect(() => thresholdAtFalseRejectRate([1], 1.5)).toThrow(RangeError);
  });
});
