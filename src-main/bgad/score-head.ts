/**
 * The scoring head: backbone tap features -> per-level log-likelihood maps, calibrated
 * probabilities, bilinear upsampling to the input size, anomaly map and image score
 * (bgad/README.md §5). One ONNX graph whose output names are the product's result type
 * (`anomaly_map`, `pred_score`), so an exported model needs no glue. Pure.
 */
import { Graph, type Value } from '../autodiff/graph';
import { emitOnnx } from '../autodiff/emit';
import { buildFlow, constantWeights, type FlowWeights } from './flow';
import { positionTable } from './posenc';
import { asGeometry, type InputSize } from './geometry';

export interface HeadLevel {
  weights: FlowWeights;
  /** Feature-map size of this level at the model's input size. */
  height: number;
  width: number;
}

export interface Calibration {
  /** Per level: the maximum l over held-out normal positions (M_level). */
  levelMax: number[];
  /** K: the maximum of the summed probability map over held-out normal images. */
  mapMax: number;
}

export interface HeadOptions {
  /** The model's input: S (square) or height x width (bgad/geometry.ts); the map has this size. */
  inputSize: InputSize;
  /** Without calibration the head outputs only the per-level maps `l_<k>` [B, H*W]. */
  calibration?: Calibration;
  /** Also output the per-level maps when calibrated (for statistics). */
  withLevelMaps?: boolean;
  /**
   * The inspection area at the input's height x width (0/1, bgad/area.ts `areaAt`): the anomaly map
   * is multiplied by it (a constant `inspection_area`) before the image score, so positions
   * outside are zero and never raise the score. Absent: the graph is exactly as without areas.
   */
  area?: Uint8Array;
}

export const featureInputName = (k: number) => `feat_${k}`;

/** Adds the head to graph `g` reading `features[k]` ([B, C_k, H_k, W_k]); returns outputs. */
export function addScoreHead(g: Graph, features: Value[], levels: HeadLevel[], opts: HeadOptions): { levelMaps: Value[]; anomalyMap?: Value; predScore?: Value } {
  const { height: IH, width: IW } = asGeometry(opts.inputSize);
  const levelMaps: Value[] = [];
  let sum: Value | null = null;
  levels.forEach((lv, k) => {
    const C = lv.weights.config.channels;
    const { height: H, width: W } = lv;
    const f = features[k]!;
    const batch = f.shape[0]!;
    const N = typeof batch === 'number' ? batch * H * W : `${batch}*${H * W}`;
    const x = g.op1('Reshape', [g.transpose(f, [0, 2, 3, 1]), g.ints([-1, C], 'shape')], { _shape: JSON.stringify([N, C]) });
    const rowIdx = BigInt64Array.from({ length: H * W }, (_, i) => BigInt(Math.floor(i / W)));
    const colIdx = BigInt64Array.from({ length: H * W }, (_, i) => BigInt(i % W));
    const reps = g.slice(g.shapeOf(f), [0], [1], [0]);
    const tile = (idx: BigInt64Array, name: string) => g.op1('Tile', [g.constant(idx, [H * W], 'int64', name), reps], { _shape: JSON.stringify([N]) });
    const flow = buildFlow(g, {
      x,
      row: tile(rowIdx, `row_${k}`),
      col: tile(colIdx, `col_${k}`),
      peRow: g.constant(positionTable(H), [H, 64], undefined, `pe_row_${k}`),
      peCol: g.constant(positionTable(W), [W, 64], undefined, `pe_col_${k}`),
    }, lv.weights, constantWeights(g, lv.weights));
    const lmap = g.op1('Reshape', [flow.l, g.ints([-1, H * W], 'shape')], { _shape: JSON.stringify([batch, H * W]) });
    levelMaps.push(lmap);
    if (!opts.calibration) return;
    const p = g.exp(g.sub(flow.l, opts.calibration.levelMax[k]!));
    const p4 = g.op1('Reshape', [p, g.ints([-1, 1, H, W], 'shape')], { _shape: JSON.stringify([batch, 1, H, W]) });
    // explicit output sizes: scales S/H would floor to S-1 when H does not divide S (e.g. 29)
    const up = g.op1('Resize', [p4, null, null, g.ints([IH, IW], 'sizes')], {
      mode: 'linear',
      coordinate_transformation_mode: 'align_corners',
      axes: [2, 3],
    });
    sum = sum ? g.add(sum, up) : up;
  });
  if (!opts.calibration) return { levelMaps };
  let anomalyMap = g.sub(opts.calibration.mapMax, sum!);
  if (opts.area) {
    if (opts.area.length !== IH * IW) throw new Error(`score head: the inspection area has ${opts.area.length} pixels, expected ${IH}x${IW}`);
    anomalyMap = g.mul(anomalyMap, g.constant(Float32Array.from(opts.area, (v) => (v ? 1 : 0)), [1, 1, IH, IW], undefined, 'inspection_area'));
  }
  const predScore = g.op1('ReduceMax', [anomalyMap, g.ints([1, 2, 3], 'axes')], { keepdims: 0 });
  return { levelMaps, anomalyMap, predScore };
}

/** A standalone head model: inputs feat_0..feat_{L-1}; outputs anomaly_map, pred_score (and l_k). */
export function buildScoreHead(levels: HeadLevel[], channels: number[], opts: HeadOptions & { metadata?: Record<string, string> }): Uint8Array {
  const g = new Graph('float32', 'bgad_head');
  const feats = levels.map((lv, k) => g.input(featureInputName(k), ['B', channels[k]!, lv.height, lv.width]));
  const out = addScoreHead(g, feats, levels, opts);
  if (out.anomalyMap) {
    g.output('anomaly_map', out.anomalyMap);
    g.output('pred_score', out.predScore!);
  }
  if (!opts.calibration || opts.withLevelMaps) out.levelMaps.forEach((m, k) => g.output(`l_${k}`, m));
  return emitOnnx(g, { metadata: opts.metadata });
}
