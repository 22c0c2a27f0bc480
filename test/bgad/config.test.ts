import { describe, expect, it } from 'vitest';
import { positionsForLevel, resolveConfig, totalSteps } from '../../src-main/bgad/config';

describe('training presets', () => {
  it('gives coarser levels smaller chunks by the square root of their share in the fast preset', () => {
    const cfg = resolveConfig('fast');
    expect(positionsForLevel(cfg, 64 * 64, 64 * 64)).toBe(4096);
    expect(positionsForLevel(cfg, 32 * 32, 64 * 64)).toBe(2048);
    expect(positionsForLevel(cfg, 16 * 16, 64 * 64)).toBe(1024);
  });
  it('makes every level pass over its positions equally often in the paper preset', () => {
    const cfg = resolveConfig('paper');
    expect(positionsForLevel(cfg, 32 * 32, 64 * 64)).toBe(1024);
    expect(positionsForLevel(cfg, 16 * 16, 64 * 64)).toBe(256);
    // 200 epochs over 100 images of 64x64 positions in chunks of 4096
    expect(totalSteps(cfg, 100, 4096)).toBe(20000);
  });
  it('keeps the published constants of the paper schedule', () => {
    const cfg = resolveConfig('paper');
    expect(cfg).toMatchObject({ lr: 2e-4, blocks: 8, tau: 0.1, lambda: 1, beta: 0.01, focal: true, positionsPerStep: 4096 });
    expect(cfg.warmupFraction).toBeCloseTo(2 / 200);
  });
  it('refuses out-of-range overrides with the name of the parameter', () => {
    expect(() => resolveConfig('fast', { lr: 5 })).toThrow(/lr/);
    expect(() => resolveConfig('fast', { beta: 0.7 })).toThrow(/beta/);
    expect(() => resolveConfig('fast', { steps: 0 })).toThrow(/steps/);
  });
});

import { maskToLevel } from '../../src-main/bgad/sampler';
describe('masks at the feature levels', () => {
  const S = 16;
  const mask = new Uint8Array(S * S);
  mask[5 * S + 6] = 1; // one pixel in the cell (1, 1) of a 4x4 level, not at its sampled corner
  it('samples one pixel per cell with nearest (as published), so a pinhole can vanish', () => {
    expect(Array.from(maskToLevel(mask, S, 4, 4)).reduce((a, b) => a + b, 0)).toBe(0);
    const corner = new Uint8Array(S * S);
    corner[4 * S + 4] = 1;
    expect(maskToLevel(corner, S, 4, 4)[1 * 4 + 1]).toBe(1);
  });
  it('marks the cell holding any defect pixel with any-pixel pooling', () => {
    const m = maskToLevel(mask, S, 4, 4, 'any');
    expect(Array.from(m).reduce((a, b) => a + b, 0)).toBe(1);
    expect(m[1 * 4 + 1]).toBe(1);
  });
});

import * as ort from 'onnxruntime-node';
import { buildScoreHead } from '../../src-main/bgad/score-head';
import { initFlowWeights } from '../../src-main/bgad/flow';
import { Rng } from '../../src-main/bgad/rng';
describe('scoring head', () => {
  it('upsamples feature maps whose size does not divide the input size (e.g. 29 -> 256)', async () => {
    const rng = new Rng(1);
    const levels = [{ weights: initFlowWeights({ channels: 4, blocks: 1 }, rng), height: 29, width: 29 }];
    const onnx = buildScoreHead(levels, [4], { inputSize: 256, calibration: { levelMax: [0], mapMax: 1 } });
    const s = await ort.InferenceSession.create(onnx);
    const out = await s.run({ feat_0: new ort.Tensor('float32', Float32Array.from({ length: 2 * 4 * 29 * 29 }, () => rng.normal()), [2, 4, 29, 29]) });
    expect(out.anomaly_map!.dims).toEqual([2, 1, 256, 256]);
    expect(out.pred_score!.dims).toEqual([2]);
    await s.release();
  });
});
