import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src-main/autodiff/graph';
import { emitOnnx } from '../../src-main/autodiff/emit';

export interface ParamSpec { name: string; shape: number[]; data: number[] }

/** Deterministic pseudo-random numbers in [-1, 1). */
export function prand(n: number, seed = 1): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}

/**
 * Builds `loss = sum(build(params) * R)` in float64 with a fixed random R, runs the analytic
 * gradients through onnxruntime and compares them with central finite differences.
 * Returns the largest relative error over all parameters.
 */
export async function gradCheck(specs: ParamSpec[], build: (g: Graph, p: Value[]) => Value, eps = 1e-6): Promise<{ maxErr: number; analytic: Float64Array[]; numeric: Float64Array[] }> {
  const g = new Graph('float64');
  const ps = specs.map((s) => g.param(s.name, s.shape));
  const y = build(g, ps);
  const n = y.shape.reduce<number>((a, d) => a * (d as number), 1);
  const R = g.constant(Float64Array.from(prand(n, 99)), y.shape as number[], 'float64', 'R');
  const loss = g.reduceSum(g.mul(y, R), y.shape.map((_, i) => i));
  const lossScalar = y.shape.length === 0 ? g.mul(y, R) : loss;
  const grads = g.gradients(lossScalar, ps);
  g.output('loss', lossScalar);
  grads.forEach((gr, i) => g.output(`grad_${i}`, gr));
  const sess = await ort.InferenceSession.create(emitOnnx(g));
  const feeds = (vals: Float64Array[]) => Object.fromEntries(specs.map((s, i) => [s.name, new ort.Tensor('float64', vals[i]!, s.shape)]));
  const base = specs.map((s) => Float64Array.from(s.data));
  const out = await sess.run(feeds(base));
  const analytic = specs.map((_, i) => out[`grad_${i}`]!.data as Float64Array);
  const numeric: Float64Array[] = [];
  let maxErr = 0;
  for (let i = 0; i < specs.length; i++) {
    const num = new Float64Array(base[i]!.length);
    for (let j = 0; j < num.length; j++) {
      const plus = base.map((b) => Float64Array.from(b));
      const minus = base.map((b) => Float64Array.from(b));
      plus[i]![j]! += eps;
      minus[i]![j]! -= eps;
      const lp = (await sess.run(feeds(plus))).loss!.data[0] as number;
      const lm = (await sess.run(feeds(minus))).loss!.data[0] as number;
      num[j] = (lp - lm) / (2 * eps);
      const a = analytic[i]![j]!;
      const err = Math.abs(a - num[j]!) / Math.max(1, Math.abs(a), Math.abs(num[j]!));
      maxErr = Math.max(maxErr, err);
    }
    numeric.push(num);
  }
  await sess.release();
  return { maxErr, analytic, numeric };
}

/** Runs a float64 graph's analytic gradient only (for convention checks at kinks). */
export async function analyticGrad(specs: ParamSpec[], build: (g: Graph, p: Value[]) => Value): Promise<Float64Array[]> {
  const g = new Graph('float64');
  const ps = specs.map((s) => g.param(s.name, s.shape));
  const y = build(g, ps);
  const loss = g.reduceSum(y, y.shape.map((_, i) => i));
  const grads = g.gradients(loss, ps);
  grads.forEach((gr, i) => g.output(`grad_${i}`, gr));
  const sess = await ort.InferenceSession.create(emitOnnx(g));
  const out = await sess.run(Object.fromEntries(specs.map((s) => [s.name, new ort.Tensor('float64', Float64Array.from(s.data), s.shape)])));
  return specs.map((_, i) => out[`grad_${i}`]!.data as Float64Array);
}
