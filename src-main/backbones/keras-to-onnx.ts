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
import type { OnnxAttribute, OnnxModel, OnnxTensor } from '../autodiff/onnx-proto';
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

/**
 * The ONNX graph under construction, and what the conversion knows about the Keras layers
 * so far: which tensor holds each layer's output, its channel count, the folded paddings,
 * and the layers already emitted as part of another (a BatchNormalization folded into a conv).
 */
class ConversionContext {
  readonly g = new GraphBuilder();
  /** Keras layer name -> ONNX tensor name holding its output. */
  readonly tensorOf = new Map<string, string>();
  /** ZeroPadding2D layers folded into their consumers: name -> { source tensor, pads t,l,b,r }. */
  readonly foldedPads = new Map<string, { src: string; pads: number[] }>();
  readonly done = new Set<string>();
  readonly channels = new Map<string, number>();

  constructor(
    readonly weights: Weights,
    /** Keras layer name -> the needed layers that take its output. */
    readonly consumers: Map<string, KerasLayer[]>,
    readonly isTap: Set<string>,
    readonly inputName: string,
  ) {}

  /** The tensor holding a converted layer's output. */
  src(layerName: string): string {
    const t = this.tensorOf.get(layerName);
    if (!t) throw new Error(`internal: layer ${layerName} used before it was converted`);
    return t;
  }

  channelsOf(layerName: string): number {
    return this.channels.get(layerName)!;
  }

  consumersOf(layerName: string): KerasLayer[] {
    return this.consumers.get(layerName) ?? [];
  }

  /** Records that `layerName`'s output is `tensor`, with `ch` channels. */
  setOutput(layerName: string, tensor: string, ch: number): void {
    this.tensorOf.set(layerName, tensor);
    this.channels.set(layerName, ch);
  }
}

/** Converts one Keras layer: `ins` are its input layers' names; its output tensor is named after it. */
type LayerConverter = (ctx: ConversionContext, l: KerasLayer, ins: string[]) => void;

export function convertKerasToOnnx(files: KerasModelFiles, opts: KerasConvertOptions): OnnxModel {
  const layers = files.artifact.modelTopology.model_config.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  for (const t of opts.taps) if (!byName.has(t)) throw new AppError('BAD_BACKBONE', `Keras model has no layer named ${t}.`);
  const order = layersNeededFor(layers, byName, opts.taps);
  const inputName = opts.inputName ?? 'image';
  const ctx = new ConversionContext(files.weights, consumersOf(order), new Set(opts.taps), inputName);
  for (const l of order) {
    if (ctx.done.has(l.name)) continue;
    const convert = LAYER_CONVERTERS.get(l.class_name);
    if (!convert) throw new AppError('BAD_BACKBONE', `Keras layer ${l.name} has type ${l.class_name}, which the converter does not support.`);
    convert(ctx, l, inputsOf(l));
  }
  const graph = {
    name: 'backbone',
    node: ctx.g.nodes,
    initializer: ctx.g.initializers,
    input: [],
    output: opts.taps.map((t) => floatOutput(ctx.src(t), ctx.channels.get(t))),
  };
  // Tap tensors keep their Keras layer names (a folded BN's name for conv+BN taps).
  for (const t of opts.taps) if (ctx.src(t) !== t) throw new Error(`internal: tap ${t} became tensor ${ctx.src(t)}`);
  prepareImageInput(graph, inputName, opts.normalization);
  return modelFromGraph(graph, { opset: 13, producer: opts.producer ?? 'bgad-inspector keras-to-onnx' });
}

/** The layers the taps depend on, in the model's (topological) order. */
function layersNeededFor(layers: KerasLayer[], byName: Map<string, KerasLayer>, taps: string[]): KerasLayer[] {
  const needed = new Set<string>();
  const stack = [...taps];
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    stack.push(...inputsOf(byName.get(n)!));
  }
  return layers.filter((l) => needed.has(l.name));
}

function consumersOf(order: KerasLayer[]): Map<string, KerasLayer[]> {
  const consumers = new Map<string, KerasLayer[]>();
  for (const l of order) for (const i of inputsOf(l)) consumers.set(i, [...(consumers.get(i) ?? []), l]);
  return consumers;
}

// ---------------------------------------------------------------------------------------
// One converter per Keras layer family.

function convertInputLayer(ctx: ConversionContext, l: KerasLayer): void {
  const shape = l.config.batch_input_shape as (number | null)[] | undefined;
  ctx.setOutput(l.name, ctx.inputName, (shape?.[3] as number | undefined) ?? 3);
}

/** Folded into the pads of its consumers when they are all 'valid' convolutions, else an ONNX Pad. */
function convertZeroPadding(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const p = l.config.padding as unknown;
  let t: number, b: number, left: number, r: number;
  if (typeof p === 'number') [t, b, left, r] = [p, p, p, p];
  else if (Array.isArray(p) && typeof p[0] === 'number') [t, b, left, r] = [p[0] as number, p[0] as number, p[1] as number, p[1] as number];
  else [[t, b], [left, r]] = p as [[number, number], [number, number]];
  const cons = ctx.consumersOf(l.name);
  const foldable = !ctx.isTap.has(l.name) && cons.length > 0 && cons.every((k) => (k.class_name === 'Conv2D' || k.class_name === 'DepthwiseConv2D') && k.config.padding === 'valid');
  ctx.channels.set(l.name, ctx.channelsOf(ins[0]!));
  if (foldable) {
    ctx.foldedPads.set(l.name, { src: ctx.src(ins[0]!), pads: [t, left, b, r] });
  } else {
    const pads = ctx.g.init(int64Tensor(`${l.name}__pads`, [0, 0, t, left, 0, 0, b, r]));
    ctx.g.node('Pad', [ctx.src(ins[0]!), pads], [l.name], [attr.string('mode', 'constant')], l.name);
    ctx.tensorOf.set(l.name, l.name);
  }
}

/** Conv2D and DepthwiseConv2D, with a directly following BatchNormalization folded in. */
function convertConvolution(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const c = l.config;
  const isDw = l.class_name === 'DepthwiseConv2D';
  pair(c.kernel_size, `${l.name}.kernel_size`); // validated only: the kernel's shape comes from its weights
  const strides = pair(c.strides ?? 1, `${l.name}.strides`);
  const dil = pair(c.dilation_rate ?? 1, `${l.name}.dilation_rate`);
  const activation = (c.activation as string | undefined) ?? 'linear';
  if (c.data_format && c.data_format !== 'channels_last') throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: data_format ${String(c.data_format)} is not supported.`);
  const k = convolutionKernel(ctx.weights, l, isDw);
  const bias = convolutionBias(ctx.weights, l, k.cout);
  const bn = activation === 'linear' ? foldableBatchNorm(ctx, l) : null;
  if (bn) {
    foldBatchNorm(ctx.weights, bn, k.w, bias, k.cout);
    ctx.done.add(bn.name);
  }
  const outName = bn ? bn.name : l.name;
  const folded = ctx.foldedPads.get(ins[0]!);
  const input = folded ? folded.src : ctx.src(ins[0]!);
  const attrs: OnnxAttribute[] = [attr.ints('kernel_shape', [k.kh, k.kw]), attr.ints('strides', strides), attr.ints('dilations', dil), attr.int('group', isDw ? k.cin : 1)];
  attrs.push(convolutionPadding(l, strides, dil, [k.kh, k.kw], folded ? folded.pads : [0, 0, 0, 0]));
  const wName = ctx.g.init(floatTensor(`${l.name}__W`, Float32Array.from(k.w), isDw ? [k.cout, 1, k.kh, k.kw] : [k.cout, k.cin, k.kh, k.kw]));
  const bName = ctx.g.init(floatTensor(`${l.name}__B`, Float32Array.from(bias), [k.cout]));
  const convOut = activation === 'linear' ? outName : `${outName}__preact`;
  ctx.g.node('Conv', [input, wName, bName], [convOut], attrs, l.name);
  if (activation !== 'linear') emitActivation(ctx.g, activation, convOut, outName, `${l.name}__${activation}`);
  ctx.setOutput(outName, outName, k.cout);
  if (outName !== l.name) ctx.setOutput(l.name, outName, k.cout);
}

/** The kernel in ONNX layout: OIHW (Conv) or [C*M, 1, kh, kw] (depthwise), as float64 for folding. */
function convolutionKernel(weights: Weights, l: KerasLayer, isDw: boolean): { w: Float64Array; kh: number; kw: number; cin: number; cout: number } {
  const kw = weight(weights, `${l.name}/${isDw ? 'depthwise_kernel' : 'kernel'}`);
  const [kh, kwid, cin, cm] = kw.shape as [number, number, number, number];
  const cout = isDw ? cin * cm : cm;
  const w = new Float64Array(cout * (isDw ? 1 : cin) * kh * kwid);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kwid; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cm; o++) {
    const v = kw.data[((y * kwid + x) * cin + i) * cm + o]!;
    if (isDw) w[((i * cm + o) * kh + y) * kwid + x] = v;
    else w[((o * cin + i) * kh + y) * kwid + x] = v;
  }
  return { w, kh, kw: kwid, cin, cout };
}

function convolutionBias(weights: Weights, l: KerasLayer, cout: number): Float64Array {
  const bias = new Float64Array(cout);
  if (l.config.use_bias) {
    const b = weight(weights, `${l.name}/bias`);
    for (let o = 0; o < cout; o++) bias[o] = b.data[o]!;
  }
  return bias;
}

/** The BatchNormalization that a linear, non-tap convolution feeds alone, if any. */
function foldableBatchNorm(ctx: ConversionContext, l: KerasLayer): KerasLayer | null {
  const cons = ctx.consumersOf(l.name);
  if (ctx.isTap.has(l.name) || cons.length !== 1 || cons[0]!.class_name !== 'BatchNormalization') return null;
  return cons[0]!;
}

/** Folds `bn` into the convolution's weights (`cout` rows) and bias, in place. */
function foldBatchNorm(weights: Weights, bn: KerasLayer, w: Float64Array, bias: Float64Array, cout: number): void {
  const { scale, shift } = bnScaleShift(weights, bn, cout);
  const per = w.length / cout;
  for (let o = 0; o < cout; o++) {
    for (let k = 0; k < per; k++) w[o * per + k] = w[o * per + k]! * scale[o]!;
    bias[o] = bias[o]! * scale[o]! + shift[o]!;
  }
}

/** Keras 'same' or 'valid' padding as an ONNX pads / auto_pad attribute (`pads`: a folded ZeroPadding2D). */
function convolutionPadding(l: KerasLayer, strides: [number, number], dil: [number, number], kernel: [number, number], pads: number[]): OnnxAttribute {
  const padding = l.config.padding;
  if (padding === 'same') {
    return strides[0] === 1 && strides[1] === 1 ? attr.ints('pads', samePadsStride1(kernel, dil)) : attr.string('auto_pad', 'SAME_UPPER');
  }
  if (padding === 'valid') return attr.ints('pads', pads);
  throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: padding ${String(padding)} is not supported.`);
}

/** Emitted as a per-channel affine map (equivalent to inference-mode BatchNormalization). */
function convertBatchNorm(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const ch = ctx.channelsOf(ins[0]!);
  const axis = l.config.axis as number | number[];
  if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3)))) {
    throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: BatchNormalization over axis ${JSON.stringify(axis)} is not supported.`);
  }
  const { scale, shift } = bnScaleShift(ctx.weights, l, ch);
  emitAffine(ctx, l, ins, floatTensor(`${l.name}__scale`, Float32Array.from(scale), [1, ch, 1, 1]), floatTensor(`${l.name}__shift`, Float32Array.from(shift), [1, ch, 1, 1]), ch);
}

function convertRescaling(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const c = l.config;
  const ch = ctx.channelsOf(ins[0]!);
  emitAffine(ctx, l, ins, floatTensor(`${l.name}__scale`, Float32Array.of(c.scale as number), [1]), floatTensor(`${l.name}__offset`, Float32Array.of((c.offset as number | undefined) ?? 0), [1]), ch);
}

/** out = in * scale + shift, as ONNX Mul and Add (BatchNormalization, Rescaling). */
function emitAffine(ctx: ConversionContext, l: KerasLayer, ins: string[], scale: OnnxTensor, shift: OnnxTensor, ch: number): void {
  const s = ctx.g.init(scale);
  const b = ctx.g.init(shift);
  ctx.g.node('Mul', [ctx.src(ins[0]!), s], [`${l.name}__scaled`], [], `${l.name}__mul`);
  ctx.g.node('Add', [`${l.name}__scaled`, b], [l.name], [], `${l.name}__add`);
  ctx.setOutput(l.name, l.name, ch);
}

function convertReLU(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const c = l.config;
  const maxValue = c.max_value as number | null | undefined;
  if ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: leaky/thresholded ReLU is not supported.`);
  if (maxValue === null || maxValue === undefined) ctx.g.node('Relu', [ctx.src(ins[0]!)], [l.name], [], l.name);
  else emitClip(ctx.g, ctx.src(ins[0]!), l.name, 0, maxValue, l.name);
  ctx.setOutput(l.name, l.name, ctx.channelsOf(ins[0]!));
}

function convertActivation(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  emitActivation(ctx.g, l.config.activation as string, ctx.src(ins[0]!), l.name, l.name);
  ctx.setOutput(l.name, l.name, ctx.channelsOf(ins[0]!));
}

/** A chain of binary ONNX Adds; the last one carries the layer's name. */
function convertAdd(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const out = l.name;
  let acc = ctx.src(ins[0]!);
  for (let k = 1; k < ins.length; k++) {
    const o = k === ins.length - 1 ? out : `${out}__partial${k}`;
    ctx.g.node('Add', [acc, ctx.src(ins[k]!)], [o], [], k === ins.length - 1 ? l.name : `${l.name}__${k}`);
    acc = o;
  }
  ctx.setOutput(l.name, out, ctx.channelsOf(ins[0]!));
}

function convertConcatenate(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const axis = l.config.axis as number;
  if (axis !== -1 && axis !== 3) throw new AppError('BAD_BACKBONE', `Keras layer ${l.name}: concatenation on axis ${axis} is not supported.`);
  ctx.g.node('Concat', ins.map((i) => ctx.src(i)), [l.name], [attr.int('axis', 1)], l.name);
  ctx.setOutput(l.name, l.name, ins.reduce((a, i) => a + ctx.channelsOf(i), 0));
}

/** MaxPooling2D and AveragePooling2D. */
function convertPooling(ctx: ConversionContext, l: KerasLayer, ins: string[]): void {
  const c = l.config;
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
  ctx.g.node(l.class_name === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [ctx.src(ins[0]!)], [l.name], attrs, l.name);
  ctx.setOutput(l.name, l.name, ctx.channelsOf(ins[0]!));
}

/** The supported Keras layer types and their converters. */
const LAYER_CONVERTERS = new Map<string, LayerConverter>([
  ['InputLayer', convertInputLayer],
  ['Conv2D', convertConvolution],
  ['DepthwiseConv2D', convertConvolution],
  ['BatchNormalization', convertBatchNorm],
  ['ReLU', convertReLU],
  ['Activation', convertActivation],
  ['Add', convertAdd],
  ['ZeroPadding2D', convertZeroPadding],
  ['Concatenate', convertConcatenate],
  ['MaxPooling2D', convertPooling],
  ['AveragePooling2D', convertPooling],
  ['Rescaling', convertRescaling],
]);

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
