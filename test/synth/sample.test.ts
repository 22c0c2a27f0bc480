import { describe, expect, it } from 'vitest';
import { CATEGORY_SPECS } from '../../src-main/synth/categories';
import { MIN_DEFECT_DIFF } from '../../src-main/synth/defects';
import { mulberry32 } from '../../src-main/synth/prng';
import { renderClean, renderSample, sampleFileName, maskFileName } from '../../src-main/synth/sample';

describe('synthetic samples', () => {
  it('draws the same stream for the same mulberry32 seed and a different one otherwise', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const sa = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(sa);
    expect(Array.from({ length: 5 }, c)).not.toEqual(sa);
    expect(sa.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('changes every channel of every masked pixel by at least the minimum and nothing else, at other sizes too', () => {
    for (const spec of CATEGORY_SPECS) {
      for (const kind of spec.defectTypes) {
        for (const sizePx of [64, 128]) {
          const key = { category: spec.name, split: 'test' as const, kind, index: 2 };
          const { image, mask } = renderSample(11, key, sizePx);
          const clean = renderClean(11, key, sizePx).image;
          expect(mask).not.toBeNull();
          // square, or the elongated shaft: 2 * size x size / 2 (as many pixels)
          expect([image.width, image.height]).toEqual(spec.name === 'shaft' ? [2 * sizePx, sizePx / 2] : [sizePx, sizePx]);
          expect(mask!.length).toBe(image.width * image.height);
          const ch = image.channels;
          let tooSmall = 0;
          let outside = 0;
          for (let p = 0; p < image.width * image.height; p++) {
            for (let c = 0; c < ch; c++) {
              const d = Math.abs(image.data[p * ch + c] - clean.data[p * ch + c]);
              if (mask![p] === 255 && d < MIN_DEFECT_DIFF) tooSmall++;
              if (mask![p] !== 255 && d !== 0) outside++;
            }
          }
          expect([tooSmall, outside], `${spec.name}/${kind}/${sizePx}`).toEqual([0, 0]);
        }
      }
    }
  });

  it('varies the good images of a category from one index to the next', () => {
    for (const spec of CATEGORY_SPECS) {
      const a = renderSample(1, { category: spec.name, split: 'train', kind: 'good', index: 0 }, 96).image.data;
      const b = renderSample(1, { category: spec.name, split: 'train', kind: 'good', index: 1 }, 96).image.data;
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    }
  });

  it('names train-pool and test defect images so that their masks never collide', () => {
    const train = maskFileName(sampleFileName({ split: 'train', kind: 'spot', index: 0 }));
    const test = maskFileName(sampleFileName({ split: 'test', kind: 'spot', index: 0 }));
    expect(train).toBe('train_000_mask.png');
    expect(test).toBe('000_mask.png');
  });

  it('draws the shaft long and its scratches long and thin along it, on the part', () => {
    for (let index = 0; index < 6; index++) {
      const { image, mask } = renderSample(3, { category: 'shaft', split: 'test', kind: 'scratch', index }, 96);
      expect([image.width, image.height]).toEqual([192, 48]);
      let x0 = Infinity, x1 = -1, y0 = Infinity, y1 = -1;
      for (let p = 0; p < mask!.length; p++) {
        if (!mask![p]) continue;
        const x = p % 192, y = Math.floor(p / 192);
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
      // at least a quarter of the shaft long, and at least 8 times longer than high
      expect(x1 - x0 + 1).toBeGreaterThan(48);
      expect((x1 - x0 + 1) / (y1 - y0 + 1)).toBeGreaterThan(8);
      // on the shaft (rows about 8..40 of 48), never on the background above or below it
      expect(y0).toBeGreaterThan(4);
      expect(y1).toBeLessThan(44);
    }
  });

  it('rejects a defect type the category does not have', () => {
    expect(() => renderSample(1, { category: 'grain', split: 'test', kind: 'missing', index: 0 }, 96)).toThrow(/no defect type/);
  });
});
