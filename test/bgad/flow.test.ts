import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src-main/autodiff/graph';
import { emitOnnx } from '../../src-main/autodiff/emit';
import { buildFlow, initFlowWeights, paramInputs, constantWeights, paramName, flowDims } from '../../src-main/bgad/flow';
import { flowInputsOf } from '../../src-main/bgad/train-graph';
import { positionTable } from '../../src-main/bgad/posenc';
import { Rng, determinantSign } from '../../src-main/bgad/rng';
import { referenceLogLikelihood } from './reference-flow';

function feedsFor(C: number, x: Float64Array, rows: number[], cols: number[], H: number, W: number, dtype: 'float32' | 'float64') {
  const F = dtype === 'float64' ? Float64Array : Float32Array;
  return {
    x: new ort.Tensor(dtype, F.from(x), [rows.length, C]),
    row: new ort.Tensor('int64', BigInt64Array.from(rows.map(BigInt)), [rows.length]),
    col: new ort.Tensor('int64', BigInt64Array.from(cols.map(BigInt)), [cols.length]),
    pe_row: new ort.Tensor(dtype, F.from(positionTable(H)), [H, 64]),
    pe_col: new ort.Tensor(dtype, F.from(positionTable(W)), [W, 64]),
  };
}

/** Random but non-trivial weights (the default init leaves the global affine at identity). */
function perturbedWeights(C: number, blocks: number, seed: number) {
  const rng = new Rng(seed);
  const w = initFlowWeights({ channels: C, blocks }, rng);
  for (const [name, p] of w.params) {
    if (name.endsWith('gscale') || name.endsWith('goffset')) for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + rng.uniform(-0.5, 0.5);
    else for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! * 4;
  }
  return w;
}

describe('conditional flow (AllInOneBlock semantics)', () => {
  it('matches a plain reference implementation with the full 128-dim condition concatenated', async () => {
    const C = 7, H = 5, W = 6;
    const w = perturbedWeights(C, 3, 3);
    const rng = new Rng(11);
    const rows = [0, 4, 2, 3, 1], cols = [5, 0, 2, 3, 4];
    const x = Float64Array.from({ length: rows.length * C }, () => rng.normal() * 1.5);
    const g = new Graph('float64');
    const out = buildFlow(g, flowInputsOf(g, C), w, constantWeights(g, w));
    g.output('l', out.l);
    g.output('logdet', out.logdet);
    const sess = await ort.InferenceSession.create(emitOnnx(g));
    const r = await sess.run(feedsFor(C, x, rows, cols, H, W, 'float64'));
    const ref = referenceLogLikelihood(w, x, rows, cols);
    const l = Array.from(r.l!.data as Float64Array);
    l.forEach((v, i) => expect(v).toBeCloseTo(ref.l[i]!, 9));
    Array.from(r.logdet!.data as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(ref.logdet[i]!, 9));
  });

  it('starts with unit global scale and special-orthogonal rotations', () => {
    const w = initFlowWeights({ channels: 24, blocks: 8 }, new Rng(0));
    const gs = w.params.get(paramName(0, 'gscale'))!.data[0]!;
    expect(0.2 * Math.log1p(Math.exp(0.5 * gs))).toBeCloseTo(1, 6);
    for (const R of w.rotations) {
      const C = 24;
      for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) {
        let dot = 0;
        for (let k = 0; k < C; k++) dot += R[i * C + k]! * R[j * C + k]!;
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 5);
      }
      expect(determinantSign(Float64Array.from(R), C)).toBe(1);
    }
  });

  it('is deterministic: the same seed gives the same weights', () => {
    const a = initFlowWeights({ channels: 10, blocks: 2 }, new Rng(5));
    const b = initFlowWeights({ channels: 10, blocks: 2 }, new Rng(5));
    const c = initFlowWeights({ channels: 10, blocks: 2 }, new Rng(6));
    expect(a.params.get('b1.w2')!.data).toEqual(b.params.get('b1.w2')!.data);
    expect(a.rotations[1]).toEqual(b.rotations[1]);
    expect(a.params.get('b1.w2')!.data).not.toEqual(c.params.get('b1.w2')!.data);
  });

  it('has exact gradients through coupling, tanh-clamped scale, global affine and log-determinant (finite differences)', async () => {
    const C = 5, H = 4, W = 3, blocks = 2;
    const w = perturbedWeights(C, blocks, 7);
    const rng = new Rng(2);
    const rows = [0, 3, 1, 2], cols = [2, 0, 1, 1];
    const x = Float64Array.from({ length: rows.length * C }, () => rng.normal());
    const g = new Graph('float64');
    const inp = flowInputsOf(g, C);
    const out = buildFlow(g, inp, w, paramInputs(g));
    const R = g.input('R', ['N'], 'float64');
    const loss = g.reduceSum(g.mul(out.l, R), [0]);
    const params = [...g.params];
    const grads = g.gradients(loss, params);
    g.output('loss', loss);
    grads.forEach((gr, i) => g.output(`g${i}`, gr));
    const sess = await ort.InferenceSession.create(emitOnnx(g));
    const base = { ...feedsFor(C, x, rows, cols, H, W, 'float64'), R: new ort.Tensor('float64', Float64Array.from([0.3, -1.1, 0.7, 0.45]), [4]) };
    const vals = params.map((p) => Float64Array.from(w.params.get(p.name)!.data));
    const feeds = (vs: Float64Array[]) => ({ ...base, ...Object.fromEntries(params.map((p, i) => [p.name, new ort.Tensor('float64', vs[i]!, p.shape as number[])])) });
    const res = await sess.run(feeds(vals));
    const pick = new Rng(9);
    let maxErr = 0, checked = 0;
    for (let i = 0; i < params.length; i++) {
      const an = res[`g${i}`]!.data as Float64Array;
      for (let t = 0; t < 6; t++) {
        const j = pick.int(vals[i]!.length);
        const eps = 1e-6;
        const plus = vals.map((v) => Float64Array.from(v)), minus = vals.map((v) => Float64Array.from(v));
        plus[i]![j]! += eps;
        minus[i]![j]! -= eps;
        const lp = (await sess.run(feeds(plus))).loss!.data[0] as number;
        const lm = (await sess.run(feeds(minus))).loss!.data[0] as number;
        const num = (lp - lm) / (2 * eps);
        maxErr = Math.max(maxErr, Math.abs(num - an[j]!) / Math.max(1, Math.abs(num)));
        checked++;
      }
    }
    expect(checked).toBe(params.length * 6);
    expect(maxErr).toBeLessThan(1e-6);
    expect(flowDims(C)).toMatchObject({ Cp: 3, Ca: 2 });
  });
});
