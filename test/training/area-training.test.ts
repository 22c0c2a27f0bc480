/**
 * Positions outside the inspection area are left out of training: the sampler never draws
 * them, so what lies there (finite but wild features, anomaly masks) changes neither the loss
 * (likelihood, push-pull), the explicit boundary nor the trained weights. The control shows
 * the same difference does change them without an area (the test can fail).
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src-main/bgad/config';
import { Rng } from '../../src-main/bgad/rng';
import { ChunkSampler } from '../../src-main/bgad/sampler';
import { areaAt, areaAtLevel, areaFraction } from '../../src-main/bgad/area';
import { trainFlows, type LevelData, type TrainResult } from '../../src-main/training/trainer';

const H = 8, W = 8, C = 6;
/** The left half of the level is inside. */
const AREA = Uint8Array.from({ length: H * W }, (_, p) => (p % W < W / 2 ? 1 : 0));

/** Normal images and two with defects; `outside` decides what lies outside the area. */
function level(outside: 'plain' | 'wild', area: Uint8Array | null): LevelData {
  const rng = new Rng(3);
  const images = Array.from({ length: 12 }, (_, i) => {
    const f = new Float32Array(C * H * W);
    for (let ch = 0; ch < C; ch++) {
      for (let p = 0; p < H * W; p++) {
        const v = rng.normal() + (i >= 10 ? 2 : 0);
        f[ch * H * W + p] = outside === 'wild' && !AREA[p] ? 40 + 7 * Math.sin(p + ch) : v;
      }
    }
    // defects inside and, when wild, also outside the area
    const mask = i >= 10 ? Uint8Array.from({ length: H * W }, (_, p) => (AREA[p] ? (p % 3 === 0 ? 1 : 0) : outside === 'wild' ? 1 : 0)) : null;
    return { features: f, mask, weight: 1 };
  });
  return { channels: C, height: H, width: W, images, area };
}

const cfg = resolveConfig('fast', { steps: 30, positionsPerStep: 64, seed: 9 });
const weightsOf = (r: TrainResult) => r.levels.map((l) => [...l.weights.params].map(([n, p]) => [n, Array.from(p.data)]));

describe('training with an inspection area', () => {
  it('never draws a position outside the area, and draws as before without one', () => {
    const lv = level('plain', null);
    const s = new ChunkSampler(lv.images, C, H, W, AREA);
    const rng = new Rng(1);
    for (let k = 0; k < 20; k++) {
      const c = s.sample(64, rng, k < 5);
      for (let i = 0; i < 64; i++) expect(AREA[Number(c.row[i]) * W + Number(c.col[i])]).toBe(1);
    }
    const a = new ChunkSampler(lv.images, C, H, W).sample(64, new Rng(2), false);
    const b = new ChunkSampler(lv.images, C, H, W, null).sample(64, new Rng(2), false);
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
    expect(() => new ChunkSampler(lv.images, C, H, W, new Uint8Array(H * W))).toThrow(/covers no position/);
  });

  it('gives the same losses, boundary and weights whatever lies outside the area', async () => {
    const plain = await trainFlows([level('plain', AREA)], cfg, cfg.steps!, { threads: 1 });
    const wild = await trainFlows([level('wild', AREA)], cfg, cfg.steps!, { threads: 1 });
    expect(plain.curve.length).toBeGreaterThan(2);
    for (const p of wild.curve) for (const v of [p.loss, p.ml, p.pull, p.push, p.boundary]) expect(Number.isFinite(v)).toBe(true);
    // some steps saw anomalous positions inside the area (the push-pull terms were live)
    expect(plain.curve.some((p) => p.push > 0 || p.pull > 0)).toBe(true);
    expect(wild.curve).toEqual(plain.curve);
    expect(wild.levels[0]!.boundary).toBe(plain.levels[0]!.boundary);
    expect(weightsOf(wild)).toEqual(weightsOf(plain));
    expect(wild.nanSteps).toBe(0);
  }, 120_000);

  it('(control) without an area the same outside difference changes the training', async () => {
    const plain = await trainFlows([level('plain', null)], cfg, cfg.steps!, { threads: 1 });
    const wild = await trainFlows([level('wild', null)], cfg, cfg.steps!, { threads: 1 });
    expect(wild.curve).not.toEqual(plain.curve);
  }, 120_000);
});

describe('the area in image-normalised coordinates', () => {
  it('maps onto any size by relative position (nearest), and onto feature levels by any pixel', () => {
    // painted at 10 x 4: the left 3 columns (30 %) are inside
    const a = { width: 10, height: 4, pixels: Uint8Array.from({ length: 40 }, (_, i) => (i % 10 < 3 ? 1 : 0)) };
    expect(areaFraction(a)).toBeCloseTo(0.3);
    const at = areaAt(a, 20, 3); // another size, another aspect ratio: the left 6 of 20 columns
    for (let y = 0; y < 3; y++) expect(Array.from(at.subarray(y * 20, y * 20 + 20)).join('')).toBe('11111100000000000000');
    // a 5 x 5 level of a 20 x 20 input: columns 0..3 -> cell 0, 4..7 -> cell 1 (pixel 4, 5 inside)
    const lv = areaAtLevel(a, 20, 5, 5);
    expect(Array.from(lv.subarray(0, 5)).join('')).toBe('11000');
  });
});
