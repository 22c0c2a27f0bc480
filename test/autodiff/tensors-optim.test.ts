import { describe, expect, it } from 'vitest';
import { packTensors, unpackTensors } from '../../src-main/autodiff/tensors';
import { Adam, cosineWithWarmup, globalNorm } from '../../src-main/autodiff/optim';

describe('named tensor packs', () => {
  it('round-trips names, shapes, values and metadata exactly', () => {
    const a = { name: 'L0.b0.w1x', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, -0, 1e-30]) };
    const b = { name: 'L0.rot0', shape: [1], data: Float32Array.from([Math.PI]) };
    const bytes = packTensors([a, b], { version: 7, note: 'x' });
    const back = unpackTensors(bytes);
    expect(back.meta).toEqual({ version: 7, note: 'x' });
    expect(back.tensors.map((t) => [t.name, t.shape])).toEqual([[a.name, a.shape], [b.name, b.shape]]);
    expect(Array.from(back.tensors[0]!.data)).toEqual(Array.from(a.data));
    expect(back.tensors[1]!.data[0]).toBe(Math.fround(Math.PI));
  });
  it('refuses a truncated pack, a wrong magic number and a shape that does not match the data', () => {
    const bytes = packTensors([{ name: 'x', shape: [4], data: new Float32Array(4) }]);
    expect(() => unpackTensors(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    const bad = bytes.slice();
    bad[0] = 0;
    expect(() => unpackTensors(bad)).toThrow(/not a tensor pack/);
    expect(() => packTensors([{ name: 'y', shape: [3], data: new Float32Array(4) }])).toThrow(/4 values for shape \[3\]/);
  });
});

describe('Adam and the learning-rate schedule', () => {
  it('makes the bias-corrected first step of size lr in the direction of -sign(g)', () => {
    const p = Float32Array.from([1, -1, 0.5]);
    const adam = new Adam([p], { lr: 0.1 });
    adam.step([Float32Array.from([0.3, -2, 0])]);
    expect(p[0]).toBeCloseTo(0.9, 6);
    expect(p[1]).toBeCloseTo(-0.9, 6);
    expect(p[2]).toBeCloseTo(0.5, 6);
  });
  it('minimises a quadratic', () => {
    const p = Float32Array.from([3, -4]);
    const adam = new Adam([p], { lr: 0.05 });
    for (let i = 0; i < 2000; i++) adam.step([Float32Array.from([2 * p[0]!, 2 * p[1]!])]);
    expect(Math.abs(p[0]!)).toBeLessThan(1e-2);
    expect(Math.abs(p[1]!)).toBeLessThan(1e-2);
  });
  it('clips the global gradient norm and refuses non-finite gradients', () => {
    const p = Float32Array.from([0, 0]);
    const adam = new Adam([p], { lr: 0.1, maxGradNorm: 1 });
    expect(adam.step([Float32Array.from([30, 40])])).toBe(50);
    expect(globalNorm([Float32Array.from([3, 4])])).toBe(5);
    expect(() => adam.step([Float32Array.from([NaN, 0])])).toThrow(/non-finite/);
  });
  it('warms up linearly and decays along a cosine to lr * finalFactor', () => {
    const o = { lr: 1e-3, totalSteps: 1000, warmupSteps: 100, finalFactor: 1e-3 };
    expect(cosineWithWarmup(0, o)).toBeCloseTo(1e-4, 12);
    expect(cosineWithWarmup(50, o)).toBeCloseTo(5.5e-4, 12);
    expect(cosineWithWarmup(100, o)).toBeCloseTo(1e-3, 12);
    expect(cosineWithWarmup(550, o)).toBeCloseTo((1e-3 + 1e-6) / 2, 12);
    expect(cosineWithWarmup(1000, o)).toBeCloseTo(1e-6, 12);
  });
});
