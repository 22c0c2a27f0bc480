/**
 * One conditional normalizing flow per feature level, with FrEIA "AllInOneBlock" semantics
 * (bgad/README.md §2), built on the autodiff graph. Pure.
 *
 * Block, for x in R^C, condition c (128-d positional encoding):
 *   x1 = x[:Cp] (Cp = C - floor(C/2)), x2 = x[Cp:]
 *   a  = 0.1 * (relu([x1, c] W1 + b1) W2 + b2)       (subnet d -> 2d -> 2*floor(C/2), d = Cp + 128)
 *   s  = 1.9 tanh(a[:Ca]);  x2' = x2 * exp(s) + a[Ca:];  logdet += sum(s)
 *   u  = [x1, x2'] * sigma + beta, sigma = 0.2 softplus-ish(g);  logdet += sum(ln sigma)
 *   y  = u R^T  (R fixed random rotation, det +1)
 *
 * Exact re-association for speed: [x1, c] W1 = x1 W1x + c_col W1col + c_row W1row, and the
 * condition depends only on (row, col), so the last two terms are looked up per position
 * from small per-row and per-column tables (pe W) instead of a 128-wide MatMul per position.
 */
import type { Graph, Value } from '../autodiff/graph';
import { COND_DIM } from './posenc';
import { Rng, randomRotation } from './rng';

export const CLAMP = 1.9;
export const SUBNET_OUT_SCALE = 0.1;
export const GLOBAL_SCALE_INIT = 2 * Math.log(Math.exp(5) - 1);
export const LOG_2PI_HALF = 0.5 * Math.log(2 * Math.PI);

export interface FlowConfig {
  channels: number;
  blocks: number;
}

export interface FlowDims { C: number; Cp: number; Ca: number; d: number; hidden: number }

export function flowDims(C: number): FlowDims {
  const Ca = Math.floor(C / 2);
  const Cp = C - Ca;
  const d = Cp + COND_DIM;
  return { C, Cp, Ca, d, hidden: 2 * d };
}

/** The trainable tensors of one block, in a fixed order. */
export function blockParamShapes(C: number): { key: string; shape: number[] }[] {
  const { Cp, Ca, hidden } = flowDims(C);
  return [
    { key: 'w1x', shape: [Cp, hidden] },
    { key: 'w1col', shape: [COND_DIM / 2, hidden] },
    { key: 'w1row', shape: [COND_DIM / 2, hidden] },
    { key: 'b1', shape: [hidden] },
    { key: 'w2', shape: [hidden, 2 * Ca] },
    { key: 'b2', shape: [2 * Ca] },
    { key: 'gscale', shape: [C] },
    { key: 'goffset', shape: [C] },
  ];
}

export interface FlowWeights {
  config: FlowConfig;
  /** name -> tensor, names `b{k}.{key}`. */
  params: Map<string, { shape: number[]; data: Float32Array }>;
  /** Fixed rotations, one C x C row-major matrix per block (part of the model, not trained). */
  rotations: Float32Array[];
}

export function paramName(block: number, key: string): string {
  return `b${block}.${key}`;
}

/** PyTorch-default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), sigma = 1, offset 0. */
export function initFlowWeights(config: FlowConfig, rng: Rng): FlowWeights {
  const { C, d, hidden } = flowDims(config.channels);
  const params = new Map<string, { shape: number[]; data: Float32Array }>();
  const rotations: Float32Array[] = [];
  for (let b = 0; b < config.blocks; b++) {
    for (const { key, shape } of blockParamShapes(C)) {
      const n = shape.reduce((a, x) => a * x, 1);
      const data = new Float32Array(n);
      if (key === 'gscale') data.fill(GLOBAL_SCALE_INIT);
      else if (key === 'goffset') data.fill(0);
      else {
        const fanIn = key === 'w2' || key === 'b2' ? hidden : d;
        const bound = 1 / Math.sqrt(fanIn);
        for (let i = 0; i < n; i++) data[i] = rng.uniform(-bound, bound);
      }
      params.set(paramName(b, key), { shape, data });
    }
    rotations.push(Float32Array.from(randomRotation(C, rng)));
  }
  return { config, params, rotations };
}

/** Where a block's tensors come from: graph inputs (training) or constants (inference/export). */
export type WeightSource = (name: string, shape: number[]) => Value;

export interface FlowInputs {
  /** [N, C] feature vectors. */
  x: Value;
  /** [N] int64 row / column index of each position at this level. */
  row: Value;
  col: Value;
  /** [H, 64] and [W, 64] positional-encoding tables of this level. */
  peRow: Value;
  peCol: Value;
}

export interface FlowOutputs {
  z: Value;
  /** [N] log-determinant of the Jacobian. */
  logdet: Value;
  /** [N] log-likelihood per position: -C/2 ln 2pi - |z|^2/2 + logdet. */
  logp: Value;
  /** [N] per-dimension log-likelihood logp / C (what the loss and the scores use). */
  l: Value;
}

export function buildFlow(g: Graph, inp: FlowInputs, weights: FlowWeights, source: WeightSource): FlowOutputs {
  const { C, Cp, Ca } = flowDims(weights.config.channels);
  let x = inp.x;
  let logdet: Value | null = null;
  let logSigmaTotal: Value | null = null;
  for (let b = 0; b < weights.config.blocks; b++) {
    const w = (key: string) => {
      const p = weights.params.get(paramName(b, key));
      if (!p) throw new Error(`flow weights: missing ${paramName(b, key)}`);
      return source(paramName(b, key), p.shape);
    };
    const [x1, x2] = g.split(x, [Cp, Ca], 1);
    // condition terms from the per-row / per-column tables; b1 folded into the row table
    const rowTab = g.add(g.matmul(inp.peRow, w('w1row')), w('b1'));
    const colTab = g.matmul(inp.peCol, w('w1col'));
    const cond = g.add(g.gather(rowTab, inp.row), g.gather(colTab, inp.col));
    const h = g.relu(g.gemm(x1!, w('w1x'), cond));
    const a = g.mul(g.gemm(h, w('w2'), w('b2')), SUBNET_OUT_SCALE);
    const [aScale, aShift] = g.split(a, [Ca, Ca], 1);
    const s = g.mul(g.tanh(aScale!), CLAMP);
    const x2n = g.add(g.mul(x2!, g.exp(s)), aShift!);
    const ld = g.reduceSum(s, [1]);
    logdet = logdet ? g.add(logdet, ld) : ld;
    // global affine: sigma = 0.1 * Softplus_beta=0.5(g) = 0.2 ln(1 + exp(g/2))
    const sigma = g.mul(g.softplus(g.mul(w('gscale'), 0.5)), 0.2);
    const lsum = g.reduceSum(g.log(sigma), [0]);
    logSigmaTotal = logSigmaTotal ? g.add(logSigmaTotal, lsum) : lsum;
    const u = g.add(g.mul(g.concat([x1!, x2n], 1), sigma), w('goffset'));
    const rotT = transposeSquare(weights.rotations[b]!, C);
    x = g.matmul(u, g.constant(rotT, [C, C], undefined, `rot${b}T`));
  }
  const ldAll = g.add(logdet!, logSigmaTotal!);
  const sq = g.reduceSum(g.mul(x, x), [1]);
  const logp = g.add(g.sub(g.mul(sq, -0.5), C * LOG_2PI_HALF), ldAll);
  const l = g.mul(logp, 1 / C);
  return { z: x, logdet: ldAll, logp, l };
}

function transposeSquare(m: Float32Array, n: number): Float32Array {
  const t = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j]!;
  return t;
}

/** Adds the flow's parameters as graph inputs (training) and returns the source. */
export function paramInputs(g: Graph): WeightSource {
  return (name, shape) => g.param(name, shape);
}

/** Bakes the current weights in as constants (inference, export). */
export function constantWeights(g: Graph, weights: FlowWeights): WeightSource {
  return (name, shape) => g.constant(weights.params.get(name)!.data, shape, undefined, name);
}
