/**
 * A fixed transform appended to a backbone graph at each tap: an optional k x k neighbourhood
 * average (stride 1, same size; the border averages only the cells inside) and an optional
 * channel reduction by a seeded random orthogonal projection (a 1x1 convolution whose rows
 * are orthonormal). Because it becomes part of the backbone ONNX graph, training, app
 * inspection, `bgad inspect` and the exported model apply it identically, and the backbone's
 * sha256 (recorded in every bundle) pins it.
 *
 * Why a data-free projection rather than PCA on the training normals: it needs nothing from
 * the data (a model's backbone stays one shared file), and it keeps on average the same
 * share of every direction, including the low-variance ones of the normals, where defects
 * often show; PCA keeps the high-variance ones. Measured routes are in the README.
 */
import type { OnnxGraph, OnnxModel } from '../autodiff/onnx-proto';
import { Rng } from '../bgad/rng';
import { attr, floatOutput, floatTensor } from './onnx-graph';

export interface TapTransform {
  /** Neighbourhood size of the average (odd, >= 3); absent: none. */
  average?: number;
  /** Output channels per tap (same order as the taps); absent: the tap's own width. */
  widths?: number[];
  /** Seed of the projections (each tap gets its own stream). */
  seed: number;
}

/**
 * `rows` orthonormal rows of length `cols` (rows <= cols), row-major, from Gaussian rows by
 * modified Gram-Schmidt run twice (numerically orthogonal to ~1e-7 in float64).
 */
export function orthonormalRows(rows: number, cols: number, rng: Rng): Float64Array {
  if (!(rows >= 1 && rows <= cols)) throw new RangeError(`cannot take ${rows} orthonormal rows of length ${cols}`);
  const q = new Float64Array(rows * cols);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < rows; i++) {
      const ri = i * cols;
      for (let j = 0; j < i; j++) {
        const rj = j * cols;
        let dot = 0;
        for (let k = 0; k < cols; k++) dot += q[ri + k]! * q[rj + k]!;
        for (let k = 0; k < cols; k++) q[ri + k]! -= dot * q[rj + k]!;
      }
      let norm = 0;
      for (let k = 0; k < cols; k++) norm += q[ri + k]! ** 2;
      norm = Math.sqrt(norm);
      for (let k = 0; k < cols; k++) q[ri + k]! /= norm;
    }
  }
  return q;
}

/** The projection matrix of tap `k` (out x in, row-major float32), reproducible from the seed. */
export function tapProjection(k: number, inChannels: number, outChannels: number, seed: number): Float32Array {
  // one stream per tap: the same tap always gets the same matrix, whatever the other taps are
  const rng = new Rng((seed * 1000003 + k * 7919) >>> 0);
  return Float32Array.from(orthonormalRows(outChannels, inChannels, rng));
}

/**
 * Appends the transform after each tap of `model` (in place): the tap's tensor is renamed
 * `<tap>__raw` and the graph output `<tap>` becomes the transformed one, so consumers keep
 * the tap names. `inChannels` are the taps' widths before the transform.
 */
export function appendTapTransform(model: OnnxModel, taps: { name: string; inChannels: number }[], t: TapTransform): void {
  const g = model.graph as OnnxGraph;
  if (t.average !== undefined && !(Number.isInteger(t.average) && t.average >= 3 && t.average % 2 === 1)) throw new RangeError(`average ${t.average} must be an odd integer >= 3`);
  if (t.widths && t.widths.length !== taps.length) throw new RangeError(`${t.widths.length} widths for ${taps.length} taps`);
  g.node ??= [];
  g.initializer ??= [];
  taps.forEach((tap, k) => {
    let cur = `${tap.name}__raw`;
    for (const n of g.node!) n.output = (n.output ?? []).map((o) => (o === tap.name ? cur : o));
    for (const n of g.node!) n.input = (n.input ?? []).map((i) => (i === tap.name ? cur : i));
    const steps: (() => void)[] = [];
    const width = t.widths?.[k] ?? tap.inChannels;
    if (t.average) {
      const a = t.average, pad = (a - 1) / 2;
      steps.push(() => {
        const out = `${tap.name}__avg`;
        g.node!.push({ opType: 'AveragePool', name: out, input: [cur], output: [out], attribute: [attr.ints('kernel_shape', [a, a]), attr.ints('strides', [1, 1]), attr.ints('pads', [pad, pad, pad, pad]), attr.int('count_include_pad', 0)] });
        cur = out;
      });
    }
    if (width !== tap.inChannels) {
      steps.push(() => {
        const w = `${tap.name}__projection`;
        g.initializer!.push(floatTensor(w, tapProjection(k, tap.inChannels, width, t.seed), [width, tap.inChannels, 1, 1]));
        const out = `${tap.name}__reduced`;
        g.node!.push({ opType: 'Conv', name: out, input: [cur, w], output: [out], attribute: [attr.ints('kernel_shape', [1, 1])] });
        cur = out;
      });
    }
    for (const s of steps) s();
    g.node!.push({ opType: 'Identity', name: `${tap.name}__out`, input: [cur], output: [tap.name], attribute: [] });
  });
  // the taps' outputs get their new widths; other outputs stay as they are
  const declared = (k: number) => floatOutput(taps[k]!.name, t.widths?.[k] ?? taps[k]!.inChannels);
  const index = new Map(taps.map((tap, k) => [tap.name, k]));
  const outputs = (g.output ?? []).map((o) => (index.has(o.name) ? declared(index.get(o.name)!) : o));
  taps.forEach((tap, k) => { if (!outputs.some((o) => o.name === tap.name)) outputs.push(declared(k)); });
  g.output = outputs;
}
