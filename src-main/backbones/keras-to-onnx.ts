/**
 * Converts a Keras (tfjs layers) functional model, up to chosen tap layers, into an ONNX
 * graph that takes NCHW RGB in [0,1] and returns the taps as NCHW float maps.
 *
 * Layouts: Conv2D kernels HWIO -> OIHW; DepthwiseConv2D kernels [kh,kw,C,M] -> [C*M,1,kh,kw]
 * with `group = C` (TF orders output channels c*M + m). BatchNormalization that directly
 * follows a linear convolution is folded into its weights and bias; otherwise it becomes an
 * ONNX BatchNormalization. ZeroPadding2D feeding only 'valid' convolutions is folded into
 * their pads. Keras 'same' padding: explicit pads for stride 1 (input-size independent),
 * `auto_pad = SAME_UPPER` for larger strides, which is TF's rule (the extra pixel goes to the
 * bottom/right).
 */
import { AppError } from '../common/errors';
import type { OnnxAttribute, OnnxModel } from '../autodiff/onnx-proto';
import { GraphBuilder, attr, floatOutput, floatTensor, int64Tensor, modelFromGraph, prepareImageInput } from './onnx-graph';
import type { KerasLayer, KerasModelFiles } from './nsfwjs-source';

export const KERAS_CONVERTER_VERSION = 1;

export interface KerasConvertOptions {
  /** Keras layer names whose outputs become graph outputs (same names in ONNX). */
  taps: string[];
  inputName?: string;
  normalization?: { mean: number[]; std: number[] };
  producer?: string;
}

type Weights = KerasModelFiles['weights'];

const SUPPORTED = new Set([
  'InputLayer', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'Activation', 'Add',
  'ZeroPadding2D', 'Concatenate', 'MaxPooling2D', 'AveragePooling2D', 'Rescaling',
]);

function inputsOf(l: KerasLayer): string[] {
  if (l.inbound_nodes.length > 1) throw new AppError('BAD_BACKBONE', `Keras layer ${l.name} is shared (called ${l.inbound_nodes.length} times); shared layers are not supported.`);
  return (l.inbound_nodes[0] ?? []).map((e) => e[0]);
}

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0] as number, v[1] as number];
  throw new Error(`${what}: expected a pair, got ${JSON.stringify(v)}`);
}

function weight(weights: Weights, name: string): { shape: number[]; data: Float32Array } {
  const w = weights.get(name);
  if (!w) throw new AppError('BAD_BACKBONE', `Keras weight ${name} is missing from the weight manifest.`);
  return w;
}

/** Pads for 'same' at stride 1: [top, left, bottom, right] in ONNX order [t, l, b, r]. */
function samePadsStride1(kernel: [number, number], dilation: [number, number]): number[] {
  const th = (kernel[0] - 1) * dilation[0];
  const tw = (kernel[1] - 1) * dilation[1];
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

export function convertKerasToOnnx(files: KerasModelFiles, opts: KerasConvertOptions): OnnxModel {
  const layers = files.artifact.modelTopology.model_config.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  for (const t of opts.taps) if (!byName.has(t)) throw new AppError('BAD_BACKBONE', `Keras model has no layer named ${t}.`);

  // Layers needed for the taps.
  const needed = new Set<string>();
  const stack = [...opts.taps];
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    stack.push(...inputsOf(byName.get(n)!));
  }
  const order = layers.filter((l) => needed.has(l.name));
  const consumers = new Map<string, KerasLayer[]>();
  for (const l of order) for (const i of inputsOf(l)) consumers.set(i, [...(consumers.get(i) ?? []), l]);
  const isTap = new Set(opts.taps);

  const inputName = opts.inputName ?? 'image';
  const g = new GraphBuilder();
  /** Keras layer name -> ONNX tensor name holding its output. */
  const tensorOf = new Map<string, string>();
  /** ZeroPadding2D layers folded into their consumers: name -> { source tensor, pads t,l,b,r }. */
  const foldedPads = new Map<string, { src: string; pads: number[] }>();
  const done = new Set<string>();
  const channels = new Map<string, number>();

  const src = (layerName: string): string => {
    const t = tensorOf.get(layerName);
    if (!t) throw new Error(`internal: layer ${layerName} used before it was converted`);
    return t;
  };

  for (const l of order) {
    if (done.has(l.name)) continue;
    if (!SUPPORTED.has(l.class_name)) {
      throw new AppError('BAD_BACKBONE', `Keras layer ${l.name} has type ${l.class_name}, which the converter does not support.`);
    }
    const c = l.config;
    const ins = inputsOf(l);
    const out = l.name;
    switch (l.class_name) {
      case 'InputLayer': {
        tensorOf.set(l.name, inputName);
        const shape = c.batch_input_shape as (number | null)[] | undefined;
        channels.set(l.name, (shape?.[3] as number | undefined) ?? 3);
        break;
      }
      case 'ZeroPadding2D': {
        const p = c.padding as unknown;
        let t: number, b: number, left: number, r: number;
        if (typeof p === 'number') [t, b, left, r] = [p, p, p, p];
        else if (Array.isArray(p) && typeof p[0] === 'number') [t, b, left, r] = [p[0] as number, p[0] as number, p[1] as number, p[1] as number];
        else [[t, b], [left, r]] = p as [[number, number], [number, number]];
        const cons = consumers.get(l.name) ?? [];
        const foldable = !isTap.has(l.name) && cons.length > 0 && cons.every((k) => (k.class_name === 'Conv2D' || k.class_name === 'DepthwiseConv2D') && k.config.padding === 'valid');
        channels.set(l.name, channels.get(ins[0]!)!);
        if (foldable) {
          foldedPads.set(l.name, { src: src(ins[0]!), pads: [t, left, b, r] });
        } else {
          const pads = g.init(int64Tensor(`${out}__pads`, [0, 0, t, left, 0, 0, b, r]));
          g.node('Pad', [src(ins[0]!), pads], [out], [attr.string('mode', 'constant')], out);
          tensorOf.set(l.name, out);
        }
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const isDw = l.class_name === 'DepthwiseConv2D';
        const kernel = pair(c.kernel_size, `${l.name}.kernel_size`);
        const strides = pair(c.strides ?? 1, `${l.name}.strides`);
        const dil = pair(c.dilation_rate ?? 1, `${l.name}.dilation_rate`);
        const activation = (c.activation as string | undefined) ?? 'linear';
        if (c.data_format && c.data_format !== 'channels_last') throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: data_format ${String(c.data_format)} is not supported.`);
        const kw = weight(files.weights, `${l.name}/${isDw ? 'depthwise_kernel' : 'kernel'}`);
        const [kh, kwid, cin, cm] = kw.shape as [number, number, number, number];
        const cout = isDw ? cin * cm : cm;
        // OIHW (Conv) or [C*M, 1, kh, kw] (depthwise)
        const w = new Float64Array(cout * (isDw ? 1 : cin) * kh * kwid);
        for (let y = 0; y < kh; y++) for (let x = 0; x < kwid; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cm; o++) {
          const v = kw.data[((y * kwid + x) * cin + i) * cm + o]!;
          if (isDw) w[((i * cm + o) * kh + y) * kwid + x] = v;
          else w[((o * cin + i) * kh + y) * kwid + x] = v;
        }
        const bias = new Float64Array(cout);
        if (c.use_bias) {
          const b = weight(files.weights, `${l.name}/bias`);
          for (let o = 0; o < cout; o++) bias[o] = b.data[o]!;
        }
        // Fold a following BatchNormalization into the weights.
        const cons = consumers.get(l.name) ?? [];
        let outName = out;
        let outLayer = l.name;
        if (activation === 'linear' && !isTap.has(l.name) && cons.length === 1 && cons[0]!.class_name === 'BatchNormalization') {
          const bn = cons[0]!;
          const { scale, shift } = bnScaleShift(files.weights, bn, cout);
          const per = w.length / cout;
          for (let o = 0; o < cout; o++) {
            for (let k = 0; k < per; k++) w[o * per + k] = w[o * per + k]! * scale[o]!;
            bias[o] = bias[o]! * scale[o]! + shift[o]!;
          }
          outName = bn.name;
          outLayer = bn.name;
          done.add(bn.name);
        }
        const folded = foldedPads.get(ins[0]!);
        const input = folded ? folded.src : src(ins[0]!);
        const pads = folded ? folded.pads : [0, 0, 0, 0];
        const attrs: OnnxAttribute[] = [attr.ints('kernel_shape', [kh, kwid]), attr.ints('strides', strides), attr.ints('dilations', dil), attr.int('group', isDw ? cin : 1)];
        if (c.padding === 'same') {
          if (strides[0] === 1 && strides[1] === 1) attrs.push(attr.ints('pads', samePadsStride1([kh, kwid], dil)));
          else attrs.push(attr.string('auto_pad', 'SAME_UPPER'));
        } else if (c.padding === 'valid') {
          attrs.push(attr.ints('pads', pads));
        } else {
          throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: padding ${String(c.padding)} is not supported.`);
        }
        const wName = g.init(floatTensor(`${l.name}__W`, Float32Array.from(w), isDw ? [cout, 1, kh, kwid] : [cout, cin, kh, kwid]));
        const bName = g.init(floatTensor(`${l.name}__B`, Float32Array.from(bias), [cout]));
        const convOut = activation === 'linear' ? outName : `${outName}__preact`;
        g.node('Conv', [input, wName, bName], [convOut], attrs, l.name);
        if (activation !== 'linear') emitActivation(g, activation, convOut, outName, `${l.name}__${activation}`);
        tensorOf.set(outLayer, outName);
        channels.set(outLayer, cout);
        if (outLayer !== l.name) {
          tensorOf.set(l.name, outName);
          channels.set(l.name, cout);
        }
        break;
      }
      case 'BatchNormalization': {
        const ch = channels.get(ins[0]!)!;
        const axis = c.axis as number | number[];
        if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)))) {
          throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: BatchNormalization over axis ${JSON.stringify(axis)} is not supported.`);
        }
        const { scale, shift } = bnScaleShift(files.weights, l, ch);
        // Emitted as a per-channel affine map (equivalent to inference-mode BatchNormalization).
        const s = g.init(floatTensor(`${l.name}__scale`, Float32Array.from(scale), [1, ch, 1, 1]));
        const b = g.init(floatTensor(`${l.name}__shift`, Float32Array.from(shift), [1, ch, 1, 1]));
        g.node('Mul', [src(ins[0]!), s], [`${out}__scaled`], [], `${l.name}__mul`);
        g.node('Add', [`${out}__scaled`, b], [out], [], `${l.name}__add`);
        tensorOf.set(l.name, out);
        channels.set(l.name, ch);
        break;
      }
      case 'ReLU': {
        const maxValue = c.max_value as number | null | undefined;
        if ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: leaky/thresholded ReLU is not supported.`);
        if (maxValue === null || maxValue === undefined) g.node('Relu', [src(ins[0]!)], [out], [], l.name);
        else emitClip(g, src(ins[0]!), out, 0, maxValue, l.name);
        tensorOf.set(l.name, out);
        channels.set(l.name, channels.get(ins[0]!)!);
        break;
      }
      case 'Activation': {
        emitActivation(g, c.activation as string, src(ins[0]!), out, l.name);
        tensorOf.set(l.name, out);
        channels.set(l.name, channels.get(ins[0]!)!);
        break;
      }
      case 'Add': {
        let acc = src(ins[0]!);
        for (let k = 1; k < ins.length; k++) {
          const o = k === ins.length - 1 ? out : `${out}__partial${k}`;
          g.node('Add', [acc, src(ins[k]!)], [o], [], k === ins.length - 1 ? l.name : `${l.name}__${k}`);
          acc = o;
        }
        tensorOf.set(l.name, out);
        channels.set(l.name, channels.get(ins[0]!)!);
        break;
      }
      case 'Concatenate': {
        const axis = c.axis as number;
        if (axis !== -1 && axis !== 3) throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: concatenation on axis ${axis} is not supported.`);
        g.node('Concat', ins.map(src), [out], [attr.int('axis', 1)], l.name);
        tensorOf.set(l.name, out);
        channels.set(l.name, ins.reduce((a, i) => a + channels.get(i)!, 0));
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const pool = pair(c.pool_size, `${l.name}.pool_size`);
        const strides = pair(c.strides ?? c.pool_size, `${l.name}.strides`);
        const attrs: OnnxAttribute[] = [attr.ints('kernel_shape', pool), attr.ints('strides', strides)];
        if (c.padding === 'same') {
          if (strides[0] === 1 && strides[1] === 1) attrs.push(attr.ints('pads', samePadsStride1(pool, [1, 1])));
          else attrs.push(attr.string('auto_pad', 'SAME_UPPER'));
        } else {
          attrs.push(attr.ints('pads', [0, 0, 0, 0]));
        }
        // TF averages over the valid (unpadded) window: ONNX count_include_pad = 0 (default).
        if (l.class_name === 'AveragePooling2D') attrs.push(attr.int('count_include_pad', 0));
        g.node(l.class_name === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [src(ins[0]!)], [out], attrs, l.name);
        tensorOf.set(l.name, out);
        channels.set(l.name, channels.get(ins[0]!)!);
        break;
      }
      case 'Rescaling': {
        const ch = channels.get(ins[0]!)!;
        const s = g.init(floatTensor(`${l.name}__scale`, Float32Array.of(c.scale as number), [1]));
        const o = g.init(floatTensor(`${l.name}__offset`, Float32Array.of((c.offset as number | undefined) ?? 0), [1]));
        g.node('Mul', [src(ins[0]!), s], [`${out}__scaled`], [], `${l.name}__mul`);
        g.node('Add', [`${out}__scaled`, o], [out], [], `${l.name}__add`);
        tensorOf.set(l.name, out);
        channels.set(l.name, ch);
        break;
      }
    }
  }

  const graph = {
    name: 'backbone',
    node: g.nodes,
    initializer: g.initializers,
    input: [],
    output: opts.taps.map((t) => floatOutput(src(t), channels.get(t))),
  };
  // Tap tensors keep their Keras layer names (a folded BN's name for conv+BN taps).
  for (const t of opts.taps) if (src(t) !== t) throw new Error(`internal: tap ${t} became tensor ${src(t)}`);
  prepareImageInput(graph, inputName, opts.normalization);
  return modelFromGraph(graph, { opset: 13, producer: opts.producer ?? 'bgad-inspector keras-to-onnx' });
}

function bnScaleShift(weights: Weights, bn: KerasLayer, ch: number): { scale: Float64Array; shift: Float64Array } {
  const c = bn.config;
  const eps = (c.epsilon as number | undefined) ?? 1e-3;
  const mean = weight(weights, `${bn.name}/moving_mean`).data;
  const variance = weight(weights, `${bn.name}/moving_variance`).data;
  const gamma = c.scale === false ? null : weight(weights, `${bn.name}/gamma`).data;
  const beta = c.center === false ? null : weight(weights, `${bn.name}/beta`).data;
  if (mean.length !== ch) throw new AppError('BAD_BACKBONE', `Keras layer ${bn.name}: ${mean.length} statistics for ${ch} channels.`);
  const scale = new Float64Array(ch);
  const shift = new Float64Array(ch);
  for (let i = 0; i < ch; i++) {
    scale[i] = (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + eps);
    shift[i] = (beta ? beta[i]! : 0) - mean[i]! * scale[i]!;
  }
  return { scale, shift };
}

function emitClip(g: GraphBuilder, input: string, output: string, lo: number, hi: number, name: string): void {
  const min = g.init(floatTensor(`${name}__min`, Float32Array.of(lo), []));
  const max = g.init(floatTensor(`${name}__max`, Float32Array.of(hi), []));
  g.node('Clip', [input, min, max], [output], [], name);
}

function emitActivation(g: GraphBuilder, activation: string, input: string, output: string, name: string): void {
  switch (activation) {
    case 'relu': g.node('Relu', [input], [output], [], name); return;
    case 'relu6': emitClip(g, input, output, 0, 6, name); return;
    case 'linear': g.node('Identity', [input], [output], [], name); return;
    case 'sigmoid': g.node('Sigmoid', [input], [output], [], name); return;
    case 'tanh': g.node('Tanh', [input], [output], [], name); return;
    default: throw new AppError('BAD_BACKBONE', `Keras layer ${name}: activation ${activation} is not supported.`);
  }
}
