/**
 * Small helpers for building and editing ONNX graphs on the decoded protobuf objects of
 * `autodiff/onnx-proto.ts`: attribute constructors, initializers, pruning to chosen outputs,
 * symbolic input dims, and an in-graph input normalisation.
 */
import { AttributeType, DataType, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../autodiff/onnx-proto';

export const attr = {
  int: (name: string, i: number): OnnxAttribute => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: number[]): OnnxAttribute => ({ name, type: AttributeType.INTS, ints }),
  float: (name: string, f: number): OnnxAttribute => ({ name, type: AttributeType.FLOAT, f }),
  string: (name: string, s: string): OnnxAttribute => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) }),
};

export function floatTensor(name: string, data: Float32Array, dims: number[]): OnnxTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function int64Tensor(name: string, values: number[], dims = [values.length]): OnnxTensor {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

export function symbolicImageInput(name: string): OnnxValueInfo {
  return {
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }, { dimParam: 'height' }, { dimParam: 'width' }] } } },
  };
}

export function floatOutput(name: string, channels?: number): OnnxValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, channels ? { dimValue: channels } : { dimParam: `${name}_channels` }, { dimParam: `${name}_h` }, { dimParam: `${name}_w` }] },
      },
    },
  };
}

/** Appends nodes building a graph from scratch, with unique names. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;

  node(opType: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = [], name?: string): void {
    this.nodes.push({ opType, input: inputs, output: outputs, attribute: attributes, name: name ?? `${opType}_${this.count++}` });
  }

  init(t: OnnxTensor): string {
    this.initializers.push(t);
    return t.name!;
  }
}

/**
 * Keeps only the nodes needed to compute `outputs` (the classifier and anything else after
 * the taps goes), removes unused initializers, inputs and stale value_info, and declares
 * the outputs with symbolic shapes.
 */
export function pruneToOutputs(graph: OnnxGraph, outputs: { name: string; channels?: number }[]): void {
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const keep = new Set<number>();
  const needed = new Set<string>();
  const stack = outputs.map((o) => o.name);
  while (stack.length) {
    const t = stack.pop()!;
    if (needed.has(t)) continue;
    needed.add(t);
    const p = producer.get(t);
    if (p === undefined || keep.has(p)) continue;
    keep.add(p);
    for (const i of nodes[p]!.input ?? []) if (i) stack.push(i);
    for (const a of nodes[p]!.attribute ?? []) if (a.g) throw new Error(`node ${nodes[p]!.name}: subgraphs are not supported`);
  }
  graph.node = nodes.filter((_, i) => keep.has(i));
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
  graph.input = (graph.input ?? []).filter((v) => needed.has(v.name));
  graph.valueInfo = [];
  graph.output = outputs.map((o) => floatOutput(o.name, o.channels));
}

/** Renames every use of tensor `from` to `to` in node inputs and graph outputs. */
export function renameUses(graph: OnnxGraph, from: string, to: string): void {
  for (const n of graph.node ?? []) n.input = (n.input ?? []).map((i) => (i === from ? to : i));
  for (const o of graph.output ?? []) if (o.name === from) o.name = to;
}

/**
 * Makes the image input `[batch, 3, height, width]` and, when mean/std are given, folds the
 * normalisation into the graph: the new input takes RGB in [0,1].
 */
export function prepareImageInput(graph: OnnxGraph, inputName: string, normalization?: { mean: number[]; std: number[] }): void {
  graph.input = (graph.input ?? []).filter((v) => v.name !== inputName);
  if (normalization && !isIdentityNorm(normalization)) {
    const inner = `${inputName}__normalized`;
    renameUses(graph, inputName, inner);
    const scale = Float32Array.from(normalization.std.map((s) => 1 / s));
    const shift = Float32Array.from(normalization.mean.map((m, i) => -m / normalization.std[i]!));
    graph.initializer = [
      ...(graph.initializer ?? []),
      floatTensor(`${inputName}__norm_scale`, scale, [1, 3, 1, 1]),
      floatTensor(`${inputName}__norm_shift`, shift, [1, 3, 1, 1]),
    ];
    graph.node = [
      { opType: 'Mul', name: `${inputName}__norm_mul`, input: [inputName, `${inputName}__norm_scale`], output: [`${inner}__scaled`], attribute: [] },
      { opType: 'Add', name: `${inputName}__norm_add`, input: [`${inner}__scaled`, `${inputName}__norm_shift`], output: [inner], attribute: [] },
      ...(graph.node ?? []),
    ];
  }
  graph.input = [symbolicImageInput(inputName), ...graph.input];
}

function isIdentityNorm(n: { mean: number[]; std: number[] }): boolean {
  return n.mean.every((m) => m === 0) && n.std.every((s) => s === 1);
}

export function modelFromGraph(graph: OnnxGraph, opts: { opset: number; producer: string; doc?: string; metadata?: Record<string, string> }): OnnxModel {
  return {
    irVersion: 8,
    producerName: opts.producer,
    producerVersion: '1',
    docString: opts.doc,
    opsetImport: [{ domain: '', version: opts.opset }],
    graph,
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

export function tensorProducers(graph: OnnxGraph): Set<string> {
  const s = new Set<string>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) s.add(o);
  for (const i of graph.input ?? []) s.add(i.name);
  for (const t of graph.initializer ?? []) if (t.name) s.add(t.name);
  return s;
}
