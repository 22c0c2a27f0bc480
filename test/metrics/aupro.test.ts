import { describe, expect, it } from 'vitest';
import { aupro, labelComponents } from '../../src-main/metrics/index';

function grid(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const height = rows.length;
  const width = rows[0].length;
  const mask = new Uint8Array(width * height);
  rows.forEach((r, y) => [...r].forEach((c, x) => (mask[y * width + x] = c === '#' ? 255 : 0)));
  return { mask, width, height };
}

describe('labelComponents', () => {
  it('joins diagonal neighbours (8-connectivity) and separates gaps', () => {
    const g = grid(['#...', '.#..', '...#', '...#']);
    const labels = new Int32Array(16);
    const sizes = labelComponents(g.mask, g.width, g.height, labels);
    expect(sizes).toEqual([2, 2]);
    expect(labels[0]).toBe(labels[5]);
    expect(labels[11]).toBe(labels[15]);
    expect(labels[0]).not.toBe(labels[11]);
  });
});

describe('aupro', () => {
  it('averages the overlap over regions, not pixels (hand-computed, two regions of different sizes)', () => {
    // Region A: 1 pixel (score 0.9). Region B: 3 pixels in column 3 (0.8, 0.5, 0.2).
    // Normal pixels: 12, one at 0.6 and eleven at 0.1.
    const g = grid(['#...', '...#', '...#', '...#']);
    const map = new Float32Array(16).fill(0.1);
    map[0] = 0.9;
    map[7] = 0.8;
    map[11] = 0.5;
    map[15] = 0.2;
    map[5] = 0.6;
    // Curve: (0,.5) (0,2/3) (1/12,2/3) (1/12,5/6) (1/12,1) (1,1).
    // Area to 0.3: (1/12)(2/3) + (0.3 - 1/12)(1) = 0.3 - 1/36; divided by 0.3: 49/54.
    expect(aupro([map], [g.mask], [4], [4])).toBeCloseTo(49 / 54, 6);
  });

  it('interpolates at exactly the integration limit', () => {
    // One anomalous pixel tied with one normal pixel at 0.5; three normals at 0.1.
    // Curve: (0,0) -> (0.25,1) diagonal -> (1,1).
    const g = grid(['#....']);
    const map = new Float32Array([0.5, 0.5, 0.1, 0.1, 0.1]);
    expect(aupro([map], [g.mask], [5], [1], 0.2)).toBeCloseTo((0.5 * 0.8 * 0.2) / 0.2, 6); // 0.4
    expect(aupro([map], [g.mask], [5], [1], 0.25)).toBeCloseTo(0.125 / 0.25, 6); // limit on a point
    expect(aupro([map], [g.mask], [5], [1], 0.3)).toBeCloseTo((0.125 + 0.05) / 0.3, 6); // 7/12
    expect(aupro([map], [g.mask], [5], [1], 1)).toBeCloseTo(0.125 + 0.75, 6);
  });

  it('counts normal pixels of every image, including defect-free ones', () => {
    const g = grid(['#....']);
    const a = new Float32Array([0.5, 0.5, 0.1, 0.1, 0.1]);
    const clean = new Uint8Array(4);
    // Second image adds 4 normals at 0.0: normal count 8, the tie gives FPR 1/8.
    // Curve (0,0) -> (0.125,1) -> ... ; area to 0.3 = 0.0625 + 0.175.
    const v = aupro([a, new Float32Array(4)], [g.mask, clean], [5, 2], [1, 2]);
    expect(v).toBeCloseTo((0.0625 + 0.175) / 0.3, 6);
  });

  it('is 1 for a perfect detector and 0 for an inverted one', () => {
    const g = grid(['##..', '##..', '....', '..#.']);
    const perfect = Float32Array.from(g.mask, (m) => (m ? 1 : 0));
    const inverted = Float32Array.from(g.mask, (m) => (m ? 0 : 1));
    expect(aupro([perfect], [g.mask], [4], [4])).toBeCloseTo(1, 9);
    expect(aupro([inverted], [g.mask], [4], [4])).toBeCloseTo(0, 9);
  });

  it('returns NaN without any ground-truth region', () => {
    expect(aupro([new Float32Array(4)], [new Uint8Array(4)], [2], [2])).toBeNaN();
  });

  it('rejects an integration limit outside (0, 1] and mismatched sizes', () => {
    const g = grid(['#.']);
    expect(() => aupro([new Float32Array(2)], [g.mask], [2], [1], 0)).toThrow(RangeError);
    expect(() => aupro([new Float32Array(3)], [g.mask], [2], [1])).toThrow(RangeError);
  });

  it('orders negative, zero and positive scores correctly', () => {
    const g = grid(['#..']);
    // anomaly at -0 (treated as 0) against normals at -1 and -2: perfect.
    expect(aupro([new Float32Array([-0, -1, -2])], [g.mask], [3], [1])).toBeCloseTo(1, 9);
    // anomaly at -1 below a normal at 0 -> first point (0.5, 0), then (0.5,1) -> area 0 up to 0.3
    expect(aupro([new Float32Array([-1, 0, -2])], [g.mask], [3], [1])).toBeCloseTo(0, 9);
  });
});

describe('aupro against the definition', () => {
  it('matches a direct per-threshold evaluation on random masks with ties and negative scores', () => {
    let s = 99;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const w = 9;
    const h = 7;
    const maps: Float32Array[] = [];
    const masks: Uint8Array[] = [];
    for (let k = 0; k < 4; k++) {
      const mask = new Uint8Array(w * h);
      for (let b = 0; b < 3; b++) {
        const cx = Math.floor(rnd() * w);
        const cy = Math.floor(rnd() * h);
        const r = Math.floor(rnd() * 3);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (Math.abs(x - cx) + Math.abs(y - cy) <= r && k !== 3) mask[y * w + x] = 255;
      }
      const map = Float32Array.from(mask, (m) => Math.round((rnd() - 0.5 + (m ? 0.6 : 0)) * 8) / 8);
      maps.push(map);
      masks.push(mask);
    }
    // Direct: regions from labelComponents, then each distinct threshold in turn.
    const regions: number[][] = [];
    const normals: number[] = [];
    maps.forEach((map, k) => {
      const labels = new Int32Array(w * h);
      const sizes = labelComponents(masks[k], w, h, labels);
      const base = regions.length;
      sizes.forEach(() => regions.push([]));
      labels.forEach((l, i) => (l === 0 ? normals.push(map[i]) : regions[base + l - 1].push(map[i])));
    });
    const all = [...new Set(maps.flatMap((m) => Array.from(m)))].sort((a, b) => b - a);
    const xs = [0];
    const ys = [0];
    for (const t of all) {
      xs.push(normals.filter((v) => v >= t).length / normals.length);
      ys.push(regions.reduce((acc, r) => acc + r.filter((v) => v >= t).length / r.length, 0) / regions.length);
    }
    xs.push(1);
    ys.push(1);
    const limit = 0.3;
    let area = 0;
    for (let i = 1; i < xs.length; i++) {
      if (xs[i] <= limit) area += 0.5 * (ys[i] + ys[i - 1]) * (xs[i] - xs[i - 1]);
      else {
        const yAt = ys[i - 1] + ((ys[i] - ys[i - 1]) * (limit - xs[i - 1])) / (xs[i] - xs[i - 1]);
        area += 0.5 * (ys[i - 1] + yAt) * (limit - xs[i - 1]);
        break;
      }
    }
    expect(regions.length).toBeGreaterThan(3);
    expect(aupro(maps, masks, [w, w, w, w], [h, h, h, h], limit)).toBeCloseTo(area / limit, 9);
  });
});
