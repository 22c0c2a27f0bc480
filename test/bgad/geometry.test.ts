import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { asGeometry, chooseGeometry, DEFAULT_GEOMETRY, geometryKey, geometryLabel, inputGeometry } from '../../src-main/bgad/geometry';
import { BundleError, decodeBundle, encodeBundle, type ModelBundle } from '../../src-main/bgad/bundle';
import { augmentPair, pasteDefect } from '../../src-main/bgad/copy-paste';
import { maskToLevel } from '../../src-main/bgad/sampler';
import { resolveConfig } from '../../src-main/bgad/config';
import { Rng } from '../../src-main/bgad/rng';
import { parseTrainOptions } from '../../src-main/cli/train-options';
import { UsageError } from '../../src-main/cli/command';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

describe('chooseGeometry', () => {
  it('keeps S on the long side and S / ratio on the other, rounded to a multiple of 32', () => {
    expect(chooseGeometry([4], 256)).toEqual({ height: 256, width: 64 }); // a tall 1:4 part
    expect(chooseGeometry([0.25], 256)).toEqual({ height: 64, width: 256 }); // the same part lying down
    expect(chooseGeometry([1], 256)).toEqual({ height: 256, width: 256 });
    // magnetic_tile: median height/width about 1.17 -> 256 / 1.17 = 218.8 -> 224
    expect(chooseGeometry([1.17], 256)).toEqual({ height: 256, width: 224 });
    expect(chooseGeometry([1 / 1.17], 256)).toEqual({ height: 224, width: 256 });
    // 500 x 1250 shafts: 256 / 2.5 = 102.4 -> 96
    expect(chooseGeometry([1250 / 500], 256)).toEqual({ height: 256, width: 96 });
  });

  it('takes the median aspect ratio, so a few odd images do not move it', () => {
    expect(chooseGeometry([4, 4, 4, 1, 0.2], 256)).toEqual({ height: 256, width: 64 });
    expect(chooseGeometry([1.1, 1.2, 1.3, 1.4], 256)).toEqual({ height: 256, width: 192 }); // median 1.25: 256 / 1.25 = 204.8 -> 6 * 32
  });

  it('clamps the short side to [64, S]', () => {
    expect(chooseGeometry([20], 256)).toEqual({ height: 256, width: 64 });
    expect(chooseGeometry([1 / 20], 256)).toEqual({ height: 64, width: 256 });
    expect(chooseGeometry([1.01], 256)).toEqual({ height: 256, width: 256 });
    expect(chooseGeometry([3], 128)).toEqual({ height: 128, width: 64 });
  });

  it('refuses no usable aspect ratios and a too small input size', () => {
    expect(() => chooseGeometry([], 256)).toThrow(/no image aspect ratios/);
    expect(() => chooseGeometry([NaN, 0, -1], 256)).toThrow(/no image aspect ratios/);
    expect(() => chooseGeometry([2], 32)).toThrow(/at least 64/);
  });
});

describe('the input geometry of a bundle', () => {
  const bundle = (backbone: ModelBundle['meta']['backbone']): ModelBundle => ({
    meta: {
      format: 'bgad-model', formatVersion: 1, createdAt: '2024-01-01T00:00:00.000Z', config: resolveConfig('fast'), backbone,
      levels: [], calibration: { levelMax: [], mapMax: 1 }, threshold: 0.5, thresholdRule: { kind: 'held-out-false-reject-rate', rate: 0.01, heldOutImages: 8 },
      anomaliesUsed: [], trainImageHashes: [], heldOutImageHashes: [],
    },
    weights: [],
  });
  const version = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);

  it('falls back to inputSize x inputSize for bundles written before aspect models (format 1, unchanged)', () => {
    const old = bundle({ id: 'mobilenetv2', sha256: 'ab'.repeat(32), inputSize: 256 });
    const bytes = encodeBundle(old, sha);
    expect(version(bytes)).toBe(1);
    const back = decodeBundle(bytes, sha);
    expect(back.meta.backbone).toEqual({ id: 'mobilenetv2', sha256: 'ab'.repeat(32), inputSize: 256 });
    expect(inputGeometry(back.meta)).toEqual({ height: 256, width: 256 });
  });

  it('records an aspect model\'s H x W as format 3, so a version that would score it S x S refuses it', () => {
    const aspect = bundle({ id: 'mobilenetv2', sha256: 'ab'.repeat(32), inputSize: 256, inputHeight: 64, inputWidth: 256 });
    const bytes = encodeBundle(aspect, sha);
    expect(version(bytes)).toBe(3);
    const back = decodeBundle(bytes, sha);
    expect(back.meta.formatVersion).toBe(3);
    expect(inputGeometry(back.meta)).toEqual({ height: 64, width: 256 });
    // what a version reading at most format 2 does with it
    const newer = Uint8Array.from(bytes);
    new DataView(newer.buffer).setUint32(8, 4, true);
    expect(() => decodeBundle(newer, sha)).toThrow(/newer version \(format 4; this version reads 3\)/);
  });

  it('refuses a damaged input geometry, naming it', () => {
    const bad = bundle({ id: 'mobilenetv2', sha256: 'ab'.repeat(32), inputSize: 256, inputHeight: 64 });
    expect(() => decodeBundle(encodeBundle(bad, sha), sha)).toThrow(BundleError);
    expect(() => decodeBundle(encodeBundle(bad, sha), sha)).toThrow(/input geometry is damaged \(height 64, width undefined\)/);
  });
});

describe('geometry helpers', () => {
  it('names square sizes as before (feature cache folders) and others H x W; labels as width x height', () => {
    expect(geometryKey(256)).toBe('256');
    expect(geometryKey({ height: 256, width: 256 })).toBe('256');
    expect(geometryKey({ height: 256, width: 64 })).toBe('256x64');
    expect(geometryLabel({ height: 256, width: 64 })).toBe('64x256 px');
    expect(asGeometry(96)).toEqual({ height: 96, width: 96 });
  });

  it('brings a non-square mask to a level by its own rows and columns', () => {
    // a 4 x 16 mask (H x W) with one defect column at x = 12..15 -> level 2 x 4: only the last column
    const mask = new Uint8Array(4 * 16);
    for (let y = 0; y < 4; y++) for (let x = 12; x < 16; x++) mask[y * 16 + x] = 1;
    expect(Array.from(maskToLevel(mask, { height: 4, width: 16 }, 2, 4))).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(maskToLevel(mask, { height: 4, width: 16 }, 2, 4, 'any'))).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('augments and pastes non-square images without quarter turns, keeping mask and pixels together', () => {
    const H = 4, W = 12, size = { height: H, width: W };
    const chw = new Float32Array(3 * H * W);
    const mask = new Uint8Array(H * W);
    // a 1 x 6 horizontal streak: it must stay horizontal (a quarter turn would not fit the frame)
    for (let x = 2; x < 8; x++) { mask[1 * W + x] = 1; for (let c = 0; c < 3; c++) chw[c * H * W + W + x] = 0.8; }
    const rng = new Rng(5);
    for (let k = 0; k < 20; k++) {
      const a = augmentPair({ chw, size }, mask, rng);
      const rows = new Set<number>();
      let n = 0;
      a.mask.forEach((v, i) => { if (v) { rows.add(Math.floor(i / W)); n++; expect(a.img.chw[i]).toBeGreaterThan(0.6); } });
      expect([rows.size, n]).toEqual([1, 6]);
      const target = new Float32Array(3 * H * W);
      const p = pasteDefect(a.img, a.mask, { chw: target, size }, rng)!;
      expect(p.mask.reduce((s, v) => s + v, 0)).toBe(6);
      p.mask.forEach((v, i) => expect(p.img.chw[i]! > 0.6).toBe(v === 1));
    }
  });
});

describe('the geometry training option', () => {
  it('defaults to the one constant and takes square or aspect from --geometry', () => {
    expect(resolveConfig('fast').geometry).toBe(DEFAULT_GEOMETRY);
    expect(DEFAULT_GEOMETRY).toBe('square');
    expect(parseTrainOptions({ geometry: 'aspect' }).overrides.geometry).toBe('aspect');
    expect(parseTrainOptions({}).overrides.geometry).toBeUndefined();
    expect(() => parseTrainOptions({ geometry: 'wide' })).toThrow(UsageError);
    expect(() => parseTrainOptions({ geometry: 'wide' })).toThrow(/--geometry must be square or aspect, got "wide"/);
    expect(() => resolveConfig('fast', { geometry: 'wide' as 'square' })).toThrow(/geometry must be square or aspect/);
  });
});
