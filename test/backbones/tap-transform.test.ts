import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../src-main/autodiff/onnx-proto';
import { GraphBuilder, attr, floatTensor, modelFromGraph, symbolicImageInput } from '../../src-main/backbones/onnx-graph';
import { appendTapTransform, orthonormalRows, tapProjection } from '../../src-main/backbones/tap-transform';
import { Rng } from '../../src-main/bgad/rng';

/** A tiny "backbone": one 3x3 convolution to 12 channels at stride 2 (the tap `feat`), then more layers using it. */
function tinyBackbone() {
  const g = new GraphBuilder();
  let seed = 5;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5));
  const w = g.init(floatTensor('w', rand(12 * 3 * 9), [12, 3, 3, 3]));
  g.node('Conv', ['image', w], ['feat'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1])]);
  g.node('Relu', ['feat'], ['after']); // a later layer still reads the raw tap
  return modelFromGraph({ name: 't', node: g.nodes, initializer: g.initializers, input: [symbolicImageInput('image')], output: [{ name: 'feat' }, { name: 'after' }] }, { opset: 13, producer: 'test' });
}

async function run(model: ReturnType<typeof tinyBackbone>, x: Float32Array, h: number, w: number, outputs: string[]) {
  const s = await ort.InferenceSession.create(encodeModel(model));
  const r = await s.run({ image: new ort.Tensor('float32', x, [1, 3, h, w]) }, outputs);
  await s.release();
  return r;
}

describe('tap transform', () => {
  it('makes orthonormal rows, the same for the same seed and tap', () => {
    const q = orthonormalRows(16, 40, new Rng(3));
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let k = 0; k < 40; k++) dot += q[i * 40 + k]! * q[j * 40 + k]!;
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
    expect(tapProjection(1, 40, 16, 7)).toEqual(tapProjection(1, 40, 16, 7));
    expect(tapProjection(1, 40, 16, 7)).not.toEqual(tapProjection(2, 40, 16, 7));
    expect(() => orthonormalRows(41, 40, new Rng(1))).toThrow(/41 orthonormal rows/);
  });

  it('projects each position of the tap with its matrix, after the neighbourhood average, keeping other consumers on the raw tap', async () => {
    const H = 10, W = 14; // not square: the transform is size-agnostic
    const x = Float32Array.from({ length: 3 * H * W }, (_, i) => Math.sin(i * 0.37));
    const raw = (await run(tinyBackbone(), x, H, W, ['feat', 'after'])) as Record<string, ort.Tensor>;
    const feat = raw.feat!.data as Float32Array;
    const [, C, h, w] = raw.feat!.dims.map(Number) as [number, number, number, number];

    const m = tinyBackbone();
    appendTapTransform(m, [{ name: 'feat', inChannels: 12 }], { widths: [5], average: 3, seed: 11 });
    const out = (await run(m, x, H, W, ['feat', 'after'])) as Record<string, ort.Tensor>;
    expect(out.feat!.dims.map(Number)).toEqual([1, 5, h, w]);
    // the layer after the tap still sees the raw features
    expect(Array.from(out.after!.data as Float32Array)).toEqual(Array.from(raw.after!.data as Float32Array));

    // by hand: 3x3 mean over the cells inside the map, then P (5 x 12)
    const P = tapProjection(0, 12, 5, 11);
    const got = out.feat!.data as Float32Array;
    let worst = 0;
    for (let yy = 0; yy < h; yy++) {
      for (let xx = 0; xx < w; xx++) {
        const avg = new Float64Array(C);
        let n = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          const y2 = yy + dy, x2 = xx + dx;
          if (y2 < 0 || y2 >= h || x2 < 0 || x2 >= w) continue;
          n++;
          for (let c = 0; c < C; c++) avg[c]! += feat[c * h * w + y2 * w + x2]!;
        }
        for (let o = 0; o < 5; o++) {
          let v = 0;
          for (let c = 0; c < C; c++) v += P[o * C + c]! * (avg[c]! / n);
          worst = Math.max(worst, Math.abs(v - got[o * h * w + yy * w + xx]!));
        }
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('refuses an even neighbourhood and a width list of the wrong length', () => {
    expect(() => appendTapTransform(tinyBackbone(), [{ name: 'feat', inChannels: 12 }], { average: 4, seed: 1 })).toThrow(/odd/);
    expect(() => appendTapTransform(tinyBackbone(), [{ name: 'feat', inChannels: 12 }], { widths: [4, 4], seed: 1 })).toThrow(/2 widths for 1 taps/);
  });
});
