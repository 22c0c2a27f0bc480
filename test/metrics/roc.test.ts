import { describe, expect, it } from 'vitest';
import { auroc, pixelAuroc, rocCurve } from '../../src-main/metrics/index';

/** O(n^2) reference: P(pos > neg) + 0.5 P(pos == neg). */
function bruteAuroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] === 0) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      sum += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return sum / pairs;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('auroc', () => {
  it('is 1 for a perfect detector and 0 for an inverted one', () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('matches the scikit-learn documentation example', () => {
    expect(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
  });

  it('gives tied pairs half a count (average rank)', () => {
    // pairs (pos, neg): (2,1)=1 (2,2)=0.5 (3,1)=1 (3,2)=1 -> 3.5 / 4
    expect(auroc([1, 2, 2, 3], [0, 0, 1, 1])).toBe(0.875);
  });

  it('is one half when all scores are equal', () => {
    expect(auroc([5, 5, 5, 5, 5], [0, 1, 0, 1, 1])).toBe(0.5);
  });

  it('returns NaN when one class is empty', () => {
    expect(auroc([0.1, 0.2], [0, 0])).toBeNaN();
    expect(auroc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(auroc([], [])).toBeNaN();
  });

  it('treats any non-zero label as anomalous', () => {
    expect(auroc([0.1, 0.9, 0.8], [0, 255, 1])).toBe(1);
  });

  it('agrees with a brute-force pair count on random data with many ties', () => {
    const rnd = lcg(7);
    const n = 300;
    const scores = Array.from({ length: n }, () => Math.floor(rnd() * 20) / 4);
    const labels = Array.from({ length: n }, (_, i) => (rnd() < 0.3 + (scores[i] > 3 ? 0.3 : 0) ? 1 : 0));
    expect(auroc(scores, labels)).toBeCloseTo(bruteAuroc(scores, labels), 12);
  });

  it('rejects NaN scores and mismatched lengths', () => {
    expect(() => auroc([0.1, NaN], [0, 1])).toThrow(RangeError);
    expect(() => auroc([0.1], [0, 1])).toThrow(RangeError);
  });
});

describe('rocCurve', () => {
  it('lists one point per distinct score, starting at +Infinity', () => {
    const c = rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    expect(Array.from(c.thresholds)).toEqual([Infinity, 0.8, 0.4, 0.35, 0.1]);
    expect(Array.from(c.fpr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(Array.from(c.tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
  });

  it('merges tied scores into one point and its trapezoid area equals auroc', () => {
    const scores = [1, 2, 2, 3, 3, 3, 0];
    const labels = [0, 0, 1, 1, 0, 1, 0];
    const c = rocCurve(scores, labels);
    expect(Array.from(c.thresholds)).toEqual([Infinity, 3, 2, 1, 0]);
    let area = 0;
    for (let i = 1; i < c.fpr.length; i++) area += 0.5 * (c.tpr[i] + c.tpr[i - 1]) * (c.fpr[i] - c.fpr[i - 1]);
    expect(area).toBeCloseTo(auroc(scores, labels), 12);
  });

  it('reports NaN rates for an empty class', () => {
    const c = rocCurve([0.3, 0.6], [1, 1]);
    expect(Array.from(c.tpr)).toEqual([0, 0.5, 1]);
    expect(c.fpr.every((v) => Number.isNaN(v))).toBe(true);
  });
});

describe('pixelAuroc', () => {
  it('agrees with auroc on the flattened pixels', () => {
    const rnd = lcg(11);
    const maps: Float32Array[] = [];
    const masks: Uint8Array[] = [];
    const flatS: number[] = [];
    const flatL: number[] = [];
    for (let k = 0; k < 5; k++) {
      const n = 64 + k * 7;
      const m = new Float32Array(n);
      const g = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        g[i] = rnd() < 0.2 ? 255 : 0;
        m[i] = Math.round((rnd() + (g[i] ? 0.4 : 0)) * 16) / 16; // quantised: many ties
        flatS.push(m[i]);
        flatL.push(g[i]);
      }
      maps.push(m);
      masks.push(g);
    }
    const expected = bruteAuroc(flatS, flatL);
    expect(expected).toBeGreaterThan(0.6);
    expect(expected).toBeLessThan(1);
    expect(pixelAuroc(maps, masks)).toBeCloseTo(expected, 12);
    expect(pixelAuroc(maps, masks)).toBeCloseTo(auroc(flatS, flatL), 12);
  });

  it('returns NaN when no pixel is anomalous', () => {
    expect(pixelAuroc([new Float32Array([1, 2])], [new Uint8Array(2)])).toBeNaN();
  });

  it('rejects a mask whose size differs from its map', () => {
    expect(() => pixelAuroc([new Float32Array(4)], [new Uint8Array(3)])).toThrow(RangeError);
  });

  // speed is a benchmark's business (bgad eval prints its time); this checks the size works
  it('handles 300 maps of 256 x 256 (20 million pixels)', () => {
    const n = 256 * 256;
    const maps: Float32Array[] = [];
    const masks: Uint8Array[] = [];
    const rnd = lcg(3);
    for (let k = 0; k < 300; k++) {
      const m = new Float32Array(n);
      const g = new Uint8Array(n);
      const x0 = Math.floor(rnd() * 200);
      for (let i = 0; i < n; i++) {
        const isDefect = k % 2 === 1 && i % 256 >= x0 && i % 256 < x0 + 20 && i < 40 * 256;
        g[i] = isDefect ? 255 : 0;
        m[i] = ((i * 2654435761) % 1000) / 1000 + (isDefect ? 0.5 : 0);
      }
      maps.push(m);
      masks.push(g);
    }
    const v = pixelAuroc(maps, masks);
    expect(v).toBeGreaterThan(0.7);
    expect(v).toBeLessThan(1);
  });
});
