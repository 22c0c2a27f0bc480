/**
 * The graph builder's core: values, nodes, constants, and reverse-mode differentiation over
 * an op table that it is given (the table itself, with every op's shape inference and VJP
 * rule, is ops.ts, which builds its rules with this class; graph.ts puts the two together as
 * `Graph`, the class everything else uses). Split this way so that ops.ts and the builder do
 * not import each other. Pure: no node or DOM imports.
 */

export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type Dim = number | string;
export type Shape = Dim[];
export type AttrValue = number | string | number[] | { floats: number[] } | { tensor: Constant };

export type ValueKind = 'input' | 'param' | 'const' | 'node';

export interface Constant {
  dtype: DType;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Uint8Array;
}

export class Value {
  constructor(
    readonly graph: GraphBase,
    readonly id: number,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: ValueKind,
    readonly producer: NodeRec | null = null,
    readonly outputIndex = 0,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}:${this.dtype}[${this.shape.join(',')}]`;
  }
}

export interface NodeRec {
  id: number;
  op: string;
  inputs: (Value | null)[];
  outputs: Value[];
  attrs: Record<string, AttrValue>;
}

export interface OutInfo { dtype: DType; shape: Shape }
export type VjpRule = (g: GraphBase, node: NodeRec, gradOutputs: (Value | null)[], needs: boolean[]) => (Value | null)[];
export interface OpDef {
  infer(inputs: (Value | null)[], attrs: Record<string, AttrValue>, g: GraphBase): OutInfo[];
  vjp: VjpRule | null;
  /** ONNX opset domain version this op needs at least (all ops here are in the default domain). */
  minOpset?: number;
}

export const isFloat = (t: DType): boolean => t === 'float32' || t === 'float64';

export function dimsEqual(a: Dim, b: Dim): boolean {
  return a === b;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => dimsEqual(d, b[i]!));
}

/** Numpy-style broadcast of two shapes; symbolic dims broadcast only with 1 or themselves. */
export function broadcastShapes(a: Shape, b: Shape, what = 'broadcast'): Shape {
  const r = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < r; i++) {
    const da = i < r - a.length ? 1 : a[i - (r - a.length)]!;
    const db = i < r - b.length ? 1 : b[i - (r - b.length)]!;
    if (da === 1) out.push(db);
    else if (db === 1 || dimsEqual(da, db)) out.push(da);
    else throw new Error(`${what}: shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
  }
  return out;
}

export class GraphBase {
  readonly values: Value[] = [];
  readonly nodes: NodeRec[] = [];
  readonly inputs: Value[] = [];
  readonly params: Value[] = [];
  readonly outputs: { name: string; value: Value }[] = [];
  readonly constants = new Map<Value, Constant>();
  private nextId = 0;
  private readonly names = new Set<string>();
  private readonly scalarCache = new Map<string, Value>();

  constructor(private readonly opTable: Readonly<Record<string, OpDef>>, readonly floatType: 'float32' | 'float64' = 'float32', readonly name = 'bgad') {}

  private uniqueName(base: string): string {
    let n = base;
    let k = 1;
    while (this.names.has(n)) n = `${base}_${k++}`;
    this.names.add(n);
    return n;
  }

  private newValue(name: string, dtype: DType, shape: Shape, kind: ValueKind, producer: NodeRec | null = null, idx = 0): Value {
    const v = new Value(this, this.nextId++, this.uniqueName(name), dtype, [...shape], kind, producer, idx);
    this.values.push(v);
    return v;
  }

  /** A data input fed at run time (batch, masks, indices...). */
  input(name: string, shape: Shape, dtype: DType = this.floatType): Value {
    if (this.names.has(name)) throw new Error(`duplicate value name ${name}`);
    const v = this.newValue(name, dtype, shape, 'input');
    this.inputs.push(v);
    return v;
  }

  /** A trainable parameter: a graph input, fed at every run, that gradients can be taken for. */
  param(name: string, shape: number[]): Value {
    if (this.names.has(name)) throw new Error(`duplicate value name ${name}`);
    const v = this.newValue(name, this.floatType, shape, 'param');
    this.params.push(v);
    return v;
  }

  /** A constant baked into the model as an initializer. */
  constant(data: Constant['data'] | number[], shape: number[], dtype?: DType, name = 'const'): Value {
    const dt: DType = dtype ?? (data instanceof BigInt64Array ? 'int64' : data instanceof Uint8Array ? 'bool' : this.floatType);
    const n = shape.reduce((a, b) => a * b, 1);
    let arr: Constant['data'];
    if (Array.isArray(data)) {
      arr = dt === 'int64' ? BigInt64Array.from(data.map((x) => BigInt(x))) : dt === 'float64' ? Float64Array.from(data) : dt === 'bool' ? Uint8Array.from(data) : Float32Array.from(data);
    } else if (dt === 'float32' && !(data instanceof Float32Array)) {
      arr = Float32Array.from(data as Float64Array);
    } else if (dt === 'float64' && !(data instanceof Float64Array)) {
      arr = Float64Array.from(data as Float32Array);
    } else arr = data;
    if (arr.length !== n) throw new Error(`constant ${name}: ${arr.length} values for shape [${shape.join(',')}]`);
    const v = this.newValue(name, dt, shape, 'const');
    this.constants.set(v, { dtype: dt, shape: [...shape], data: arr });
    return v;
  }

  /** A cached float scalar constant of the graph's float type (or dtype given). */
  scalar(x: number, dtype: DType = this.floatType): Value {
    const key = `${dtype}:${Object.is(x, -0) ? '-0' : x}`;
    let v = this.scalarCache.get(key);
    if (!v) {
      v = this.constant([x], [], dtype, 'scalar');
      this.scalarCache.set(key, v);
    }
    return v;
  }

  ints(xs: number[], name = 'ints'): Value {
    return this.constant(xs, [xs.length], 'int64', name);
  }

  /** Appends a node; shapes and dtypes come from the op table. */
  op(op: string, inputs: (Value | null)[], attrs: Record<string, AttrValue> = {}, nOutputs?: number): Value[] {
    const def: OpDef | undefined = this.opTable[op];
    if (!def) throw new Error(`op ${op} is not in the op table (autodiff/ops.ts); add it with its VJP rule`);
    for (const x of inputs) if (x && x.graph !== this) throw new Error(`op ${op}: input ${x.name} belongs to another graph`);
    const infos = def.infer(inputs, attrs, this);
    if (nOutputs !== undefined && infos.length !== nOutputs) throw new Error(`op ${op}: expected ${nOutputs} outputs, rule gives ${infos.length}`);
    const node: NodeRec = { id: this.nodes.length, op, inputs, outputs: [], attrs };
    node.outputs = infos.map((o, i) => this.newValue(`${op.toLowerCase()}${this.nodes.length}${infos.length > 1 ? `_${i}` : ''}`, o.dtype, o.shape, 'node', node, i));
    this.nodes.push(node);
    return node.outputs;
  }

  op1(op: string, inputs: (Value | null)[], attrs: Record<string, AttrValue> = {}): Value {
    return this.op(op, inputs, attrs, 1)[0]!;
  }

  output(name: string, v: Value): void {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`duplicate output ${name}`);
    if (v.kind !== 'node' || v.name !== name) {
      // Give the output its own name through an Identity so value names stay stable.
      const id = this.op1('Identity', [v]);
      this.rename(id, name);
      this.outputs.push({ name, value: id });
      return;
    }
    this.outputs.push({ name, value: v });
  }

  private rename(v: Value, name: string): void {
    if (this.names.has(name)) throw new Error(`duplicate value name ${name}`);
    this.names.delete(v.name);
    this.names.add(name);
    (v as { name: string }).name = name;
  }

  lift(x: Value | number, like: Value): Value {
    return typeof x === 'number' ? this.scalar(x, like.dtype) : x;
  }

  // ---- convenience wrappers (all go through the op table) -------------------------------
  add(a: Value | number, b: Value | number): Value { return this.binary('Add', a, b); }
  sub(a: Value | number, b: Value | number): Value { return this.binary('Sub', a, b); }
  mul(a: Value | number, b: Value | number): Value { return this.binary('Mul', a, b); }
  div(a: Value | number, b: Value | number): Value { return this.binary('Div', a, b); }
  private binary(op: string, a: Value | number, b: Value | number): Value {
    if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op} of two numbers`);
    const av = typeof a === 'number' ? this.lift(a, b as Value) : a;
    const bv = typeof b === 'number' ? this.lift(b, a as Value) : b;
    return this.op1(op, [av, bv]);
  }
  neg(a: Value): Value { return this.op1('Neg', [a]); }
  exp(a: Value): Value { return this.op1('Exp', [a]); }
  log(a: Value): Value { return this.op1('Log', [a]); }
  tanh(a: Value): Value { return this.op1('Tanh', [a]); }
  relu(a: Value): Value { return this.op1('Relu', [a]); }
  sigmoid(a: Value): Value { return this.op1('Sigmoid', [a]); }
  softplus(a: Value): Value { return this.op1('Softplus', [a]); }
  sqrt(a: Value): Value { return this.op1('Sqrt', [a]); }
  abs(a: Value): Value { return this.op1('Abs', [a]); }
  pow(a: Value, p: number): Value { return this.op1('Pow', [a, this.scalar(p, a.dtype)]); }
  matmul(a: Value, b: Value): Value { return this.op1('MatMul', [a, b]); }
  /** y = op(a) op(b) * alpha + c * beta, 2-D only. */
  gemm(a: Value, b: Value, c: Value | null = null, o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Value {
    const attrs: Record<string, AttrValue> = {};
    if (o.transA) attrs.transA = 1;
    if (o.transB) attrs.transB = 1;
    if (o.alpha !== undefined && o.alpha !== 1) attrs.alpha = o.alpha;
    if (o.beta !== undefined && o.beta !== 1) attrs.beta = o.beta;
    return this.op1('Gemm', c ? [a, b, c] : [a, b], attrs);
  }
  reduceSum(a: Value, axes: number[], keepdims = false): Value {
    return this.op1('ReduceSum', [a, this.ints(axes, 'axes')], { keepdims: keepdims ? 1 : 0 });
  }
  reduceMean(a: Value, axes: number[], keepdims = false): Value {
    return this.op1('ReduceMean', [a, this.ints(axes, 'axes')], { keepdims: keepdims ? 1 : 0 });
  }
  /** Static slice along axes; ends may exceed the dim. */
  slice(a: Value, starts: number[], ends: number[], axes: number[]): Value {
    return this.op1('Slice', [a, this.ints(starts, 'starts'), this.ints(ends, 'ends'), this.ints(axes, 'slice_axes')]);
  }
  split(a: Value, sizes: number[], axis: number): Value[] {
    return this.op('Split', [a, this.ints(sizes, 'split')], { axis }, sizes.length);
  }
  concat(xs: Value[], axis: number): Value { return this.op1('Concat', xs, { axis }); }
  transpose(a: Value, perm: number[]): Value { return this.op1('Transpose', [a], { perm }); }
  /** Reshape to a static target (ONNX semantics: 0 copies the input dim, -1 is inferred). */
  reshape(a: Value, target: number[]): Value { return this.op1('Reshape', [a, this.ints(target, 'shape')]); }
  unsqueeze(a: Value, axes: number[]): Value { return this.op1('Unsqueeze', [a, this.ints(axes, 'axes')]); }
  squeeze(a: Value, axes: number[]): Value { return this.op1('Squeeze', [a, this.ints(axes, 'axes')]); }
  where(c: Value, a: Value | number, b: Value | number): Value {
    const ref = typeof a === 'number' ? (b as Value) : a;
    return this.op1('Where', [c, this.lift(a, ref), this.lift(b, ref)]);
  }
  cast(a: Value, to: DType): Value { return this.op1('Cast', [a], { to }); }
  clip(a: Value, min: number | null, max: number | null): Value {
    return this.op1('Clip', [a, min === null ? null : this.scalar(min, a.dtype), max === null ? null : this.scalar(max, a.dtype)]);
  }
  gather(data: Value, indices: Value, axis = 0): Value { return this.op1('Gather', [data, indices], { axis }); }
  less(a: Value, b: Value | number): Value { return this.op1('Less', [a, this.lift(b, a)]); }
  lessOrEqual(a: Value, b: Value | number): Value { return this.op1('LessOrEqual', [a, this.lift(b, a)]); }
  greater(a: Value, b: Value | number): Value { return this.op1('Greater', [a, this.lift(b, a)]); }
  greaterOrEqual(a: Value, b: Value | number): Value { return this.op1('GreaterOrEqual', [a, this.lift(b, a)]); }
  and(a: Value, b: Value): Value { return this.op1('And', [a, b]); }
  /** Identity that blocks gradients: the value is used as a constant by everything downstream. */
  stopGradient(a: Value): Value { return this.op1('StopGradient', [a]); }
  shapeOf(a: Value): Value { return this.op1('Shape', [a]); }

  // ---- reverse mode ---------------------------------------------------------------------
  /**
   * Appends the gradient graph of scalar `loss` w.r.t. each of `wrt` and returns the
   * gradient values (a zeros tensor where `loss` does not depend on a value).
   */
  gradients(loss: Value, wrt: Value[], seed?: Value): Value[] {
    if (!isFloat(loss.dtype)) throw new Error('gradients: loss must be a float value');
    if (!seed && loss.shape.length !== 0) throw new Error(`gradients: loss must be a scalar, got [${loss.shape.join(',')}]`);
    // Values that depend on any of wrt (forward reachability).
    const wanted = new Set<Value>(wrt);
    const dependsOnWrt = new Set<Value>(wrt);
    const nodesAtStart = this.nodes.length;
    for (let i = 0; i < nodesAtStart; i++) {
      const n = this.nodes[i]!;
      if (n.op === 'StopGradient') continue;
      if (n.inputs.some((x) => x && dependsOnWrt.has(x))) for (const o of n.outputs) dependsOnWrt.add(o);
    }
    // Nodes that lead to the loss (backward reachability).
    const leadsToLoss = new Set<Value>([loss]);
    const path: NodeRec[] = [];
    for (let i = nodesAtStart - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (!n.outputs.some((o) => leadsToLoss.has(o))) continue;
      if (!n.outputs.some((o) => dependsOnWrt.has(o))) continue;
      path.push(n);
      for (const x of n.inputs) if (x) leadsToLoss.add(x);
    }
    const grads = new Map<Value, Value>();
    grads.set(loss, seed ?? this.scalar(1, loss.dtype));
    for (const n of path) {
      const gOuts = n.outputs.map((o) => grads.get(o) ?? null);
      if (gOuts.every((g) => g === null)) continue;
      const def = this.opTable[n.op]!;
      const needs = n.inputs.map((x) => !!x && dependsOnWrt.has(x) && isFloat(x.dtype));
      if (!needs.some(Boolean)) continue;
      if (def.vjp === null) continue; // declared non-differentiable (comparisons, Shape...): no gradient flows
      const gIn = def.vjp(this, n, gOuts, needs);
      n.inputs.forEach((x, i) => {
        if (!x || !needs[i]) return;
        const gi = gIn[i];
        if (!gi) return;
        if (!shapesEqual(gi.shape, x.shape)) throw new Error(`VJP of ${n.op}: gradient for input ${i} has shape [${gi.shape.join(',')}], expected [${x.shape.join(',')}]`);
        const prev = grads.get(x);
        grads.set(x, prev ? this.op1('Add', [prev, gi]) : gi);
      });
    }
    return wrt.map((w) => {
      if (!wanted.has(w)) throw new Error('internal');
      const g = grads.get(w);
      if (g) return g;
      if (w.shape.every((d) => typeof d === 'number')) {
        const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
        return this.constant(w.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n), w.shape as number[], w.dtype, 'zeros');
      }
      return this.op1('Mul', [this.stopGradient(w), this.scalar(0, w.dtype)]);
    });
  }
}
