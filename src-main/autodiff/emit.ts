/** Emits a Graph as an ONNX ModelProto (opset 18, IR 8). Pure. */
import { encodeModel, DataType, AttributeType, type OnnxAttribute, type OnnxModel, type OnnxTensor, type OnnxValueInfo } from './onnx-proto';
import type { AttrValue, Constant, DType, Graph, Shape } from './graph';

export const OPSET = 18;
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon']);

export function onnxDataType(t: DType): number {
  switch (t) {
    case 'float32': return DataType.FLOAT;
    case 'float64': return DataType.DOUBLE;
    case 'int64': return DataType.INT64;
    case 'bool': return DataType.BOOL;
  }
}

export function tensorProto(name: string, c: Constant): OnnxTensor {
  const d = c.data;
  return {
    name,
    dims: c.shape,
    dataType: onnxDataType(c.dtype),
    rawData: new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)),
  };
}

function valueInfo(name: string, dtype: DType, shape: Shape): OnnxValueInfo {
  return {
    name,
    type: { tensorType: { elemType: onnxDataType(dtype), shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: AttrValue): OnnxAttribute {
  if (typeof v === 'number') {
    if (name === 'to') throw new Error('internal: Cast target must be a dtype name');
    return FLOAT_ATTRS.has(name) ? { name, type: AttributeType.FLOAT, f: v } : { name, type: AttributeType.INT, i: v };
  }
  if (typeof v === 'string') {
    if (name === 'to') return { name, type: AttributeType.INT, i: onnxDataType(v as DType) };
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  }
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  if ('floats' in v) return { name, type: AttributeType.FLOATS, floats: v.floats };
  return { name, type: AttributeType.TENSOR, t: tensorProto('', v.tensor) };
}

export interface EmitOptions {
  /** Extra key/value metadata stored in the model (threshold, input size, ...). */
  metadata?: Record<string, string>;
  docString?: string;
}

export function toOnnxModel(g: Graph, opts: EmitOptions = {}): OnnxModel {
  const used = new Set<string>();
  for (const n of g.nodes) for (const x of n.inputs) if (x) used.add(x.name);
  for (const o of g.outputs) used.add(o.value.name);
  const initializer = [...g.constants.entries()].filter(([v]) => used.has(v.name)).map(([v, c]) => tensorProto(v.name, c));
  const inputs = [...g.params, ...g.inputs].map((v) => valueInfo(v.name, v.dtype, v.shape));
  const node = g.nodes.map((n) => ({
    name: `n${n.id}_${n.op}`,
    opType: n.op === 'StopGradient' ? 'Identity' : n.op,
    input: n.inputs.map((x) => (x ? x.name : '')),
    output: n.outputs.map((o) => o.name),
    attribute: Object.entries(n.attrs).filter(([k]) => !k.startsWith('_')).map(([k, v]) => attribute(k, v)),
  }));
  return {
    irVersion: 8,
    producerName: 'bgad-inspector',
    producerVersion: '0.1.0',
    docString: opts.docString,
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      node,
      initializer,
      input: inputs,
      output: g.outputs.map((o) => valueInfo(o.name, o.value.dtype, o.value.shape)),
    },
  };
}

export function emitOnnx(g: Graph, opts: EmitOptions = {}): Uint8Array {
  return encodeModel(toOnnxModel(g, opts));
}
