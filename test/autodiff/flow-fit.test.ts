import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src-main/autodiff/graph';
import { emitOnnx } from '../../src-main/autodiff/emit';
import { Adam, cosineWithWarmup } from '../../src-main/autodiff/optim';
import { buildFlow, initFlowWeights, paramInputs } from '../../src-main/bgad/flow';
import { flowInputsOf } from '../../src-main/bgad/train-graph';
import { positionTable } from '../../src-main/bgad/posenc';
import { Rng } from '../../src-main/bgad/rng';

// A two-component Gaussian mixture in 2-D with correlated components.
const COMPONENTS = [
  { w: 0.6, mu: [-1.5, 0.5], L: [[0.6, 0], [0.3, 0.4]] },
  { w: 0.4, mu: [1.5, -0.5], L: [[0.5, 0], [-0.25, 0.35]] },
];

function sample(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = rng.next() < COMPONENTS[0]!.w ? COMPONENTS[0]! : COMPONENTS[1]!;
    const e0 = rng.normal(), e1 = rng.normal();
    out[2 * i] = c.mu[0]! + c.L[0]![0]! * e0;
    out[2 * i + 1] = c.mu[1]! + c.L[1]![0]! * e0 + c.L[1]![1]! * e1;
  }
  return out;
}

function logDensity(x: number, y: number): number {
  let p = 0;
  for (const c of COMPONENTS) {
    const [[a], [b, d]] = c.L as [[number], [number, number]];
    const u = (x - c.mu[0]!) / a;
    const v = (y - c.mu[1]! - b * u) / d;
    p += c.w * Math.exp(-0.5 * (u * u + v * v)) / (2 * Math.PI * a * d);
  }
  return Math.log(p);
}

describe('training a normalizing flow with the ONNX autodiff engine', () => {
  it('fits a Gaussian mixture to within 0.1 nats of its true entropy', async () => {
    const C = 2, N = 512;
    const rng = new Rng(1);
    const weights = initFlowWeights({ channels: C, blocks: 8 }, rng);
    const g = new Graph('float32');
    const inp = flowInputsOf(g, C, { h: 1, w: 1 });
    const flow = buildFlow(g, inp, weights, paramInputs(g));
    const nll = g.neg(g.reduceMean(flow.logp, [0]));
    const params = [...g.params];
    const grads = g.gradients(nll, params);
    g.output('nll', nll);
    grads.forEach((gr, i) => g.output(`g${i}`, gr));
    const sess = await ort.InferenceSession.create(emitOnnx(g), { intraOpNumThreads: 1 });
    const values = params.map((p) => weights.params.get(p.name)!.data);
    const adam = new Adam(values, { lr: 5e-3, maxGradNorm: 10 });
    const zeros = new BigInt64Array(N);
    const fixed = {
      row: new ort.Tensor('int64', zeros, [N]), col: new ort.Tensor('int64', zeros, [N]),
      pe_row: new ort.Tensor('float32', positionTable(1), [1, 64]), pe_col: new ort.Tensor('float32', positionTable(1), [1, 64]),
    };
    const steps = 1000;
    for (let step = 0; step < steps; step++) {
      const feeds: Record<string, ort.Tensor> = { ...fixed, x: new ort.Tensor('float32', sample(rng, N), [N, C]) };
      params.forEach((p, i) => (feeds[p.name] = new ort.Tensor('float32', values[i]!, p.shape as number[])));
      const r = await sess.run(feeds);
      adam.step(params.map((_, i) => r[`g${i}`]!.data as Float32Array), cosineWithWarmup(step, { lr: 5e-3, totalSteps: steps, warmupSteps: 50 }));
    }
    // held-out NLL vs the true entropy, both on the same fresh samples
    const test = sample(new Rng(77), 16384);
    let entropy = 0;
    for (let i = 0; i < 16384; i++) entropy -= logDensity(test[2 * i]!, test[2 * i + 1]!);
    entropy /= 16384;
    let nllSum = 0;
    for (let b = 0; b < 16384 / N; b++) {
      const feeds: Record<string, ort.Tensor> = { ...fixed, x: new ort.Tensor('float32', test.slice(b * N * C, (b + 1) * N * C), [N, C]) };
      params.forEach((p, i) => (feeds[p.name] = new ort.Tensor('float32', values[i]!, p.shape as number[])));
      nllSum += ((await sess.run(feeds)).nll!.data[0] as number) * N;
    }
    const heldOut = nllSum / 16384;
    console.log(`held-out NLL ${heldOut.toFixed(4)} vs entropy ${entropy.toFixed(4)} (gap ${(heldOut - entropy).toFixed(4)} nats)`);
    expect(heldOut - entropy).toBeGreaterThan(-0.03); // cross-entropy cannot beat the entropy (up to sampling noise)
    expect(heldOut - entropy).toBeLessThan(0.1);
  }, 120_000);
});
