/**
 * The per-level training-step graph: flow + BGAD loss + gradients of every parameter,
 * emitted as one ONNX model (inputs: parameters + chunk; outputs: loss, statistics,
 * gradients). Pure.
 */
import { Graph } from '../autodiff/graph';
import { emitOnnx } from '../autodiff/emit';
import { buildFlow, paramInputs, type FlowWeights } from './flow';
import { buildLoss, type LossOptions } from './loss';

export interface TrainGraph {
  onnx: Uint8Array;
  /** Parameter names in the order of the gradient outputs `grad.<name>`. */
  paramNames: string[];
  statNames: string[];
}

/** Flow inputs; the level's grid size (H, W) is static so lookup-table gradients use GEMMs. */
export function flowInputsOf(g: Graph, C: number, grid: { h: number | string; w: number | string } = { h: 'H', w: 'W' }) {
  return {
    x: g.input('x', ['N', C]),
    row: g.input('row', ['N'], 'int64'),
    col: g.input('col', ['N'], 'int64'),
    peRow: g.input('pe_row', [grid.h, 64]),
    peCol: g.input('pe_col', [grid.w, 64]),
  };
}

export function buildTrainGraph(weights: FlowWeights, opts: LossOptions, grid: { h: number; w: number }, floatType: 'float32' | 'float64' = 'float32'): TrainGraph {
  const g = new Graph(floatType, 'bgad_train');
  const inp = flowInputsOf(g, weights.config.channels, grid);
  const flow = buildFlow(g, inp, weights, paramInputs(g));
  const lossIn = {
    mask: g.input('mask', ['N']),
    k: g.input('k', [1], 'int64'),
    kIndex: g.input('k_index', [], 'int64'),
    lambda: g.input('lambda', []),
  };
  const out = buildLoss(g, flow.l, lossIn, opts);
  const params = [...g.params];
  const grads = g.gradients(out.loss, params);
  g.output('loss', out.loss);
  g.output('ml', out.ml);
  g.output('pull', out.pull);
  g.output('push', out.push);
  g.output('boundary', out.boundary);
  g.output('l', flow.l);
  params.forEach((p, i) => g.output(`grad.${p.name}`, grads[i]!));
  return { onnx: emitOnnx(g), paramNames: params.map((p) => p.name), statNames: ['loss', 'ml', 'pull', 'push', 'boundary'] };
}
