/**
 * Float twin of a QOperator-format int8 ONNX graph (e.g. the ONNX Model Zoo MobileNetV2
 * int8). int8 kernels give different results on different CPU instruction sets; the twin
 * runs the same dequantized weights in float everywhere:
 *   QuantizeLinear(x)               -> Clip(x, (0-zp)*s, (255-zp)*s)   (input saturation)
 *   QLinearConv(x, xs, xzp, w, ws, wzp, ys, yzp, B)
 *                                   -> Conv(x, (w-wzp)*ws, B*xs*ws) + Clip((0-yzp)*ys, (255-yzp)*ys)
 *                                      (the clip restores the uint8 range, which reproduces
 *                                      the fused ReLU/ReLU6)
 *   QLinearAdd                      -> Add + Clip
 *   DequantizeLinear                -> identity
 * A tensor `X_quantized` becomes the float tensor `X`.
 */
import { AppError } from '../common/errors';
import { tensorValues, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from '../autodiff/onnx-proto';
import { floatTensor, modelFromGraph, prepareImageInput, pruneToOutputs, renameUses } from './onnx-graph';

const Q = '_quantized';

function floatName(t: string): string {
  return t.endsWith(Q) ? t.slice(0, -Q.length) : t;
}

function numbers(t: OnnxTensor): number[] {
  const v = tensorValues(t);
  return Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
}

function perChannel(v: number[], n: number, what: string): number[] {
  if (v.length === 1) return new Array<number>(n).fill(v[0]!);
  if (v.length !== n) throw new AppError('BAD_BACKBONE', `${what}: ${v.length} values for ${n} channels.`);
  return v;
}

function renameInput(g: OnnxGraph, opts: TwinOptions): void {
  const to = opts.newInputName;
  if (!to || to === opts.inputName) return;
  renameUses(g, opts.inputName, to);
  for (const i of g.input ?? []) if (i.name === opts.inputName) i.name = to;
}

function clone<T>(x: T): T {
  return structuredClone(x);
}

export interface TwinOptions {
  /** Float tensor names of the taps (the quantized graph holds `<name>_quantized`). */
  taps: { name: string; channels: number }[];
  inputName: string;
  /** Name of the emitted graph's image input (default: `inputName`). */
  newInputName?: string;
  normalization: { mean: number[]; std: number[] };
}

/** The quantized graph itself, pruned, with DequantizeLinear outputs at the taps: the int8 reference. */
export function quantizedWithTaps(model: OnnxModel, opts: TwinOptions): OnnxModel {
  const m = clone(model);
  const g = m.graph!;
  for (const t of opts.taps) {
    g.node!.push({ opType: 'DequantizeLinear', name: `${t.name}__dequant`, input: [t.name + Q, `${t.name}_scale`, `${t.name}_zero_point`], output: [t.name], attribute: [] });
  }
  pruneToOutputs(g, opts.taps);
  renameInput(g, opts);
  prepareImageInput(g, opts.newInputName ?? opts.inputName, opts.normalization);
  return m;
}

export function buildFloatTwin(model: OnnxModel, opts: TwinOptions): OnnxModel {
  const src = clone(model.graph!);
  pruneToOutputs(src, opts.taps.map((t) => ({ name: t.name + Q })));
  const inits = new Map((src.initializer ?? []).map((t) => [t.name!, t]));
  const val = (name: string): number[] => {
    const t = inits.get(name);
    if (!t) throw new AppError('BAD_BACKBONE', `Quantized graph: ${name} is not a constant; only constant scales, zero points and weights are supported.`);
    return numbers(t);
  };
  const nodes: OnnxNode[] = [];
  const newInits: OnnxTensor[] = [];
  const usedInits = new Set<string>();
  const clip = (input: string, output: string, scale: number, zp: number, name: string): void => {
    const lo = `${name}__lo`;
    const hi = `${name}__hi`;
    newInits.push(floatTensor(lo, Float32Array.of((0 - zp) * scale), []), floatTensor(hi, Float32Array.of((255 - zp) * scale), []));
    nodes.push({ opType: 'Clip', name: `${name}__clip`, input: [input, lo, hi], output: [output], attribute: [] });
  };
  const alias = new Map<string, string>();
  const ref = (t: string): string => alias.get(t) ?? floatName(t);

  for (const n of src.node ?? []) {
    const ins = n.input ?? [];
    const outs = n.output ?? [];
    const name = n.name || `${n.opType}_${nodes.length}`;
    switch (n.opType) {
      case 'QuantizeLinear': {
        const s = val(ins[1]!)[0]!;
        const zp = ins[2] ? val(ins[2])[0]! : 0;
        const x = ref(ins[0]!);
        const y = floatName(outs[0]!) === x ? `${x}__saturated` : floatName(outs[0]!);
        clip(x, y, s, zp, name);
        alias.set(outs[0]!, y);
        break;
      }
      case 'DequantizeLinear':
        alias.set(outs[0]!, ref(ins[0]!));
        break;
      case 'QLinearConv': {
        const [x, xs, , w, ws, wzp, ys, yzp, b] = ins as [string, string, string, string, string, string, string, string, string | undefined];
        const wt = inits.get(w);
        if (!wt) throw new AppError('BAD_BACKBONE', `QLinearConv ${name}: weights ${w} are not a constant.`);
        const dims = wt.dims!;
        const cout = dims[0]!;
        const per = dims.slice(1).reduce((a, c) => a * c, 1);
        const wq = numbers(wt);
        const wScale = perChannel(val(ws), cout, `${name} weight scale`);
        const wZero = perChannel(val(wzp), cout, `${name} weight zero point`);
        const xScale = val(xs)[0]!;
        const wf = new Float32Array(wq.length);
        for (let o = 0; o < cout; o++) for (let k = 0; k < per; k++) wf[o * per + k] = (wq[o * per + k]! - wZero[o]!) * wScale[o]!;
        const bf = new Float32Array(cout);
        if (b) {
          const bq = val(b);
          for (let o = 0; o < cout; o++) bf[o] = bq[o]! * xScale * wScale[o]!;
        }
        const wName = `${floatName(outs[0]!)}__W`;
        const bName = `${floatName(outs[0]!)}__B`;
        newInits.push(floatTensor(wName, wf, dims), floatTensor(bName, bf, [cout]));
        const pre = `${floatName(outs[0]!)}__conv`;
        nodes.push({ opType: 'Conv', name, input: [ref(x), wName, bName], output: [pre], attribute: clone(n.attribute ?? []) });
        clip(pre, floatName(outs[0]!), val(ys)[0]!, val(yzp)[0]!, name);
        break;
      }
      case 'QLinearAdd': {
        const [a, , , bIn, , , ys, yzp] = ins as string[];
        const pre = `${floatName(outs[0]!)}__add`;
        nodes.push({ opType: 'Add', name, input: [ref(a!), ref(bIn!)], output: [pre], attribute: [] });
        clip(pre, floatName(outs[0]!), val(ys!)[0]!, val(yzp!)[0]!, name);
        break;
      }
      default: {
        if (n.opType.startsWith('QLinear') || n.domain) {
          throw new AppError('BAD_BACKBONE', `The quantized graph uses ${n.domain ? `${n.domain}.` : ''}${n.opType} before the taps, which the float twin does not convert.`);
        }
        for (const i of ins) if (inits.has(i)) usedInits.add(i);
        nodes.push({ ...clone(n), input: ins.map(ref), output: outs.map(floatName) });
      }
    }
  }
  const graph: OnnxGraph = {
    name: 'float_twin',
    node: nodes,
    initializer: [...newInits, ...(src.initializer ?? []).filter((t) => usedInits.has(t.name!))],
    input: (src.input ?? []).filter((i) => i.name === opts.inputName),
    output: [],
  };
  pruneToOutputs(graph, opts.taps);
  renameInput(graph, opts);
  prepareImageInput(graph, opts.newInputName ?? opts.inputName, opts.normalization);
  const opset = model.opsetImport?.find((o) => !o.domain)?.version ?? 13;
  return modelFromGraph(graph, { opset: Math.max(opset, 11), producer: 'bgad-inspector float-twin' });
}
