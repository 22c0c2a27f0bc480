/**
 * The op table: for every primitive, its output dtype/shape inference and its
 * vector-Jacobian product (VJP) as new graph nodes. `vjp: null` means the op's outputs are
 * discrete (bool/int), so no gradient can flow; a float op without a usable rule throws at
 * graph-build time, never a silent zero.
 */
import { broadcastShapes, shapesEqual, type AttrValue, type DType, type Dim, type GraphBase as Graph, type OpDef, type OutInfo, type Shape, type Value, type VjpRule } from './graph-core';

// ---------------------------------------------------------------------------------------------
// helpers

function constInts(g: Graph, v: Value | null | undefined, what: string): number[] {
  const c = v ? g.constants.get(v) : undefined;
  if (!c || !(c.data instanceof BigInt64Array)) throw new Error(`${what} must be an int64 constant`);
  return Array.from(c.data, (x) => Number(x));
}

const normAxis = (a: number, rank: number): number => {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) throw new Error(`axis ${a} out of range for rank ${rank}`);
  return r;
};

const req = (v: Value | null | undefined, what: string): Value => {
  if (!v) throw new Error(`${what}: missing input`);
  return v;
};

const same = (inputs: (Value | null)[]): OutInfo[] => {
  const x = req(inputs[0], 'unary');
  return [{ dtype: x.dtype, shape: x.shape }];
};

function ew(op: string, outType?: DType) {
  return (inputs: (Value | null)[]): OutInfo[] => {
    const xs = inputs.filter((x): x is Value => !!x);
    const dt = xs[0]!.dtype;
    for (const x of xs) if (x.dtype !== dt) throw new Error(`${op}: dtype mismatch ${xs.map(String).join(' vs ')}`);
    let s: Shape = xs[0]!.shape;
    for (const x of xs.slice(1)) s = broadcastShapes(s, x.shape, op);
    return [{ dtype: outType ?? dt, shape: s }];
  };
}

/** Sums `grad` over broadcast axes so that it has `target`'s shape. */
export function unbroadcast(g: Graph, grad: Value, target: Shape): Value {
  if (shapesEqual(grad.shape, target)) return grad;
  const r = grad.shape.length;
  const lead = r - target.length;
  if (lead < 0) throw new Error(`unbroadcast: gradient rank ${r} < target rank ${target.length}`);
  const axes: number[] = [];
  for (let i = 0; i < r; i++) {
    if (i < lead) axes.push(i);
    else if (target[i - lead] === 1 && grad.shape[i] !== 1) axes.push(i);
  }
  let out = grad;
  if (axes.length) out = g.reduceSum(out, axes, true);
  if (lead > 0) out = g.squeeze(out, Array.from({ length: lead }, (_, i) => i));
  if (!shapesEqual(out.shape, target)) throw new Error(`unbroadcast: got [${out.shape.join(',')}], want [${target.join(',')}]`);
  return out;
}

function expandTo(g: Graph, v: Value, like: Value): Value {
  if (shapesEqual(v.shape, like.shape)) return v;
  return g.op1('Expand', [v, g.shapeOf(like)], { _shape: JSON.stringify(like.shape) });
}

function product(dims: Dim[]): number | null {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return null;
    p *= d;
  }
  return p;
}

const notDifferentiable = (op: string): VjpRule => () => {
  throw new Error(`${op} is not differentiable with respect to a float input here; wrap its use in stopGradient`);
};

// ---------------------------------------------------------------------------------------------
// the table

export const OPS: Record<string, OpDef> = {
  Add: {
    infer: ew('Add'),
    vjp: (g, n, [gy], needs) => [needs[0] ? unbroadcast(g, gy!, n.inputs[0]!.shape) : null, needs[1] ? unbroadcast(g, gy!, n.inputs[1]!.shape) : null],
  },
  Sub: {
    infer: ew('Sub'),
    vjp: (g, n, [gy], needs) => [needs[0] ? unbroadcast(g, gy!, n.inputs[0]!.shape) : null, needs[1] ? unbroadcast(g, g.neg(gy!), n.inputs[1]!.shape) : null],
  },
  Mul: {
    infer: ew('Mul'),
    vjp: (g, n, [gy], needs) => {
      const [a, b] = n.inputs as Value[];
      return [needs[0] ? unbroadcast(g, g.mul(gy!, b!), a!.shape) : null, needs[1] ? unbroadcast(g, g.mul(gy!, a!), b!.shape) : null];
    },
  },
  Div: {
    infer: ew('Div'),
    vjp: (g, n, [gy], needs) => {
      const [a, b] = n.inputs as Value[];
      const y = n.outputs[0]!;
      return [
        needs[0] ? unbroadcast(g, g.div(gy!, b!), a!.shape) : null,
        needs[1] ? unbroadcast(g, g.neg(g.div(g.mul(gy!, y), b!)), b!.shape) : null,
      ];
    },
  },
  Pow: {
    infer: ew('Pow'),
    vjp: (g, n, [gy], needs) => {
      const [a, p] = n.inputs as Value[];
      if (needs[1]) throw new Error('Pow: gradient w.r.t. the exponent is not supported; use a constant exponent');
      const pc = g.constants.get(p!);
      if (!pc || pc.data.length !== 1) throw new Error('Pow: the exponent must be a scalar constant');
      const pv = Number(pc.data[0]);
      // d/da a^p = p a^(p-1)
      const d = pv === 2 ? g.mul(a!, 2) : g.mul(g.op1('Pow', [a!, g.scalar(pv - 1, a!.dtype)]), pv);
      return [needs[0] ? unbroadcast(g, g.mul(gy!, d), a!.shape) : null, null];
    },
  },
  Neg: { infer: same, vjp: (g, _n, [gy]) => [g.neg(gy!)] },
  Identity: { infer: same, vjp: (_g, _n, [gy]) => [gy!] },
  /** Emitted as Identity; blocks gradient flow on purpose (detach). */
  StopGradient: { infer: same, vjp: () => [null] },
  Exp: { infer: same, vjp: (g, n, [gy]) => [g.mul(gy!, n.outputs[0]!)] },
  Log: { infer: same, vjp: (g, n, [gy]) => [g.div(gy!, n.inputs[0]!)] },
  Tanh: {
    infer: same,
    vjp: (g, n, [gy]) => {
      const y = n.outputs[0]!;
      return [g.mul(gy!, g.sub(1, g.mul(y, y)))];
    },
  },
  Sigmoid: {
    infer: same,
    vjp: (g, n, [gy]) => {
      const y = n.outputs[0]!;
      return [g.mul(gy!, g.mul(y, g.sub(1, y)))];
    },
  },
  Relu: {
    // derivative taken as 0 at x = 0 (PyTorch convention)
    infer: same,
    // uses the output (y > 0 iff x > 0) so the pre-activation need not be kept alive
    // (a float 0/1 mask and a Mul: much faster in onnxruntime than Where or Sign)
    vjp: (g, n, [gy]) => [g.mul(gy!, g.cast(g.greater(n.outputs[0]!, 0), gy!.dtype))],
  },
  Softplus: { infer: same, vjp: (g, n, [gy]) => [g.mul(gy!, g.sigmoid(n.inputs[0]!))] },
  Sqrt: { infer: same, vjp: (g, n, [gy]) => [g.div(g.mul(gy!, 0.5), n.outputs[0]!)] },
  Abs: {
    // derivative sign(x), 0 at x = 0 (PyTorch convention)
    infer: same,
    vjp: (g, n, [gy]) => [g.mul(gy!, g.op1('Sign', [n.inputs[0]!]))],
  },
  /** sign(x) has derivative 0 almost everywhere: no gradient flows, by definition (not by omission). */
  Sign: { infer: same, vjp: () => [null] },
  Clip: {
    // gradient passes where min <= x <= max (inclusive, as PyTorch clamp)
    infer: (inputs) => same(inputs),
    vjp: (g, n, [gy], needs) => {
      if (needs[1] || needs[2]) throw new Error('Clip: bounds must be constants');
      const [x, lo, hi] = n.inputs;
      let mask: Value | null = null;
      if (lo) mask = g.greaterOrEqual(x!, lo);
      if (hi) mask = mask ? g.and(mask, g.lessOrEqual(x!, hi)) : g.lessOrEqual(x!, hi);
      return [mask ? g.where(mask, gy!, 0) : gy!, null, null];
    },
  },
  MatMul: {
    infer: (inputs) => {
      const a = req(inputs[0], 'MatMul'), b = req(inputs[1], 'MatMul');
      if (a.dtype !== b.dtype) throw new Error('MatMul: dtype mismatch');
      if (a.rank < 2 || b.rank < 2) throw new Error('MatMul: inputs must have rank >= 2 here');
      const [m, k1] = a.shape.slice(-2), [k2, nn] = b.shape.slice(-2);
      if (k1 !== k2) throw new Error(`MatMul: inner dims ${k1} and ${k2} differ`);
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'MatMul batch');
      return [{ dtype: a.dtype, shape: [...batch, m!, nn!] }];
    },
    vjp: (g, n, [gy], needs) => {
      const [a, b] = n.inputs as Value[];
      if (a!.rank === 2 && b!.rank === 2) {
        return [needs[0] ? g.gemm(gy!, b!, null, { transB: true }) : null, needs[1] ? g.gemm(a!, gy!, null, { transA: true }) : null];
      }
      const tr = (v: Value) => g.transpose(v, [...Array.from({ length: v.rank - 2 }, (_, i) => i), v.rank - 1, v.rank - 2]);
      return [
        needs[0] ? unbroadcast(g, g.matmul(gy!, tr(b!)), a!.shape) : null,
        needs[1] ? unbroadcast(g, g.matmul(tr(a!), gy!), b!.shape) : null,
      ];
    },
  },
  Gemm: {
    infer: (inputs, attrs) => {
      const a = req(inputs[0], 'Gemm'), b = req(inputs[1], 'Gemm');
      if (a.rank !== 2 || b.rank !== 2) throw new Error('Gemm: inputs must be 2-D');
      const [m, ka] = attrs.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
      const [kb, nn] = attrs.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
      if (ka !== kb) throw new Error(`Gemm: inner dims ${ka} and ${kb} differ`);
      const out: Shape = [m, nn];
      if (inputs[2]) broadcastShapes(out, inputs[2].shape, 'Gemm C');
      return [{ dtype: a.dtype, shape: out }];
    },
    vjp: (g, n, [gy], needs) => {
      const [a, b, c] = n.inputs;
      const tA = !!n.attrs.transA, tB = !!n.attrs.transB;
      const alpha = (n.attrs.alpha as number | undefined) ?? 1, beta = (n.attrs.beta as number | undefined) ?? 1;
      // Y = alpha * op(A) op(B) + beta * C
      let ga: Value | null = null, gb: Value | null = null, gc: Value | null = null;
      if (needs[0]) ga = tA ? g.gemm(b!, gy!, null, { transA: tB, transB: true, alpha }) : g.gemm(gy!, b!, null, { transB: !tB, alpha });
      if (needs[1]) gb = tB ? g.gemm(gy!, a!, null, { transA: true, transB: tA, alpha }) : g.gemm(a!, gy!, null, { transA: !tA, alpha });
      if (needs[2] && c) gc = unbroadcast(g, beta === 1 ? gy! : g.mul(gy!, beta), c.shape);
      return [ga, gb, gc];
    },
  },
  ReduceSum: {
    minOpset: 13,
    infer: (inputs, attrs, g) => {
      const x = req(inputs[0], 'ReduceSum');
      const axes = constInts(g, inputs[1], 'ReduceSum axes').map((a) => normAxis(a, x.rank));
      const keep = attrs.keepdims !== 0;
      const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
      return [{ dtype: x.dtype, shape }];
    },
    vjp: (g, n, [gy]) => {
      const x = n.inputs[0]!;
      const axes = constInts(g, n.inputs[1], 'axes').map((a) => normAxis(a, x.rank)).sort((a, b) => a - b);
      const gk = n.attrs.keepdims === 0 ? g.unsqueeze(gy!, axes) : gy!;
      return [expandTo(g, gk, x), null];
    },
  },
  ReduceMean: {
    minOpset: 18,
    infer: (inputs, attrs, g) => OPS.ReduceSum!.infer(inputs, attrs, g),
    vjp: (g, n, [gy]) => {
      const x = n.inputs[0]!;
      const axes = constInts(g, n.inputs[1], 'axes').map((a) => normAxis(a, x.rank)).sort((a, b) => a - b);
      const cnt = product(axes.map((a) => x.shape[a]!));
      const gk = n.attrs.keepdims === 0 ? g.unsqueeze(gy!, axes) : gy!;
      if (cnt !== null) return [expandTo(g, g.mul(gk, 1 / cnt), x), null];
      // symbolic reduced dims: count = prod(shape(x)[axes]) computed in the graph
      const dims = g.gather(g.shapeOf(x), g.ints(axes, 'mean_axes'));
      const count = g.cast(g.op1('ReduceProd', [dims, g.ints([0], 'axes')], { keepdims: 0 }), x.dtype);
      return [expandTo(g, g.div(gk, count), x), null];
    },
  },
  ReduceProd: {
    minOpset: 18,
    infer: (inputs, attrs, g) => OPS.ReduceSum!.infer(inputs, attrs, g),
    vjp: notDifferentiable('ReduceProd'),
  },
  Slice: {
    infer: (inputs, _a, g) => {
      const x = req(inputs[0], 'Slice');
      const starts = constInts(g, inputs[1], 'Slice starts'), ends = constInts(g, inputs[2], 'Slice ends');
      const axes = inputs[3] ? constInts(g, inputs[3], 'Slice axes').map((a) => normAxis(a, x.rank)) : starts.map((_, i) => i);
      const shape = [...x.shape];
      axes.forEach((ax, i) => {
        const d = x.shape[ax]!;
        if (typeof d !== 'number') {
          if (starts[i] === 0 && ends[i]! >= 2 ** 31) return;
          throw new Error(`Slice on symbolic axis ${ax}`);
        }
        const s = Math.min(Math.max(starts[i]! < 0 ? starts[i]! + d : starts[i]!, 0), d);
        const e = Math.min(Math.max(ends[i]! < 0 ? ends[i]! + d : ends[i]!, 0), d);
        shape[ax] = Math.max(e - s, 0);
      });
      return [{ dtype: x.dtype, shape }];
    },
    vjp: (g, n, [gy]) => {
      const x = n.inputs[0]!;
      const starts = constInts(g, n.inputs[1], 'starts'), ends = constInts(g, n.inputs[2], 'ends');
      const axes = n.inputs[3] ? constInts(g, n.inputs[3], 'axes').map((a) => normAxis(a, x.rank)) : starts.map((_, i) => i);
      const before = new Array<number>(x.rank).fill(0), after = new Array<number>(x.rank).fill(0);
      axes.forEach((ax, i) => {
        const d = x.shape[ax]!;
        if (typeof d !== 'number') return;
        const s = Math.min(Math.max(starts[i]! < 0 ? starts[i]! + d : starts[i]!, 0), d);
        const e = Math.min(Math.max(ends[i]! < 0 ? ends[i]! + d : ends[i]!, 0), d);
        before[ax] = s;
        after[ax] = d - Math.max(e, s);
      });
      return [g.op1('Pad', [gy!, g.ints([...before, ...after], 'pads')], { _shape: JSON.stringify(x.shape) }), null, null, null];
    },
  },
  Pad: {
    infer: (inputs, attrs, g) => {
      const x = req(inputs[0], 'Pad');
      const pads = constInts(g, inputs[1], 'Pad pads');
      const r = x.rank;
      const shape = x.shape.map((d, i) => (pads[i] === 0 && pads[i + r] === 0 ? d : typeof d === 'number' ? d + pads[i]! + pads[i + r]! : `${d}+${pads[i]! + pads[i + r]!}`));
      if (attrs._shape) return [{ dtype: x.dtype, shape: JSON.parse(attrs._shape as string) as Shape }];
      return [{ dtype: x.dtype, shape }];
    },
    vjp: (g, n, [gy]) => {
      const x = n.inputs[0]!;
      const pads = constInts(g, n.inputs[1], 'pads');
      const r = x.rank;
      const axes: number[] = [], starts: number[] = [], ends: number[] = [];
      for (let i = 0; i < r; i++) {
        if (pads[i] === 0 && pads[i + r] === 0) continue;
        if (pads[i]! < 0 || pads[i + r]! < 0) throw new Error('Pad VJP: negative pads are not supported');
        const d = x.shape[i];
        if (typeof d !== 'number') throw new Error('Pad VJP on a symbolic axis');
        axes.push(i); starts.push(pads[i]!); ends.push(pads[i]! + d);
      }
      return [g.slice(gy!, starts, ends, axes), null];
    },
  },
  Split: {
    minOpset: 13,
    infer: (inputs, attrs, g) => {
      const x = req(inputs[0], 'Split');
      const sizes = constInts(g, inputs[1], 'Split sizes');
      const axis = normAxis((attrs.axis as number) ?? 0, x.rank);
      const d = x.shape[axis];
      if (typeof d === 'number' && sizes.reduce((a, b) => a + b, 0) !== d) throw new Error(`Split: sizes ${sizes} do not add up to ${d}`);
      return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((dd, i) => (i === axis ? s : dd)) }));
    },
    vjp: (g, n, gys) => {
      const axis = normAxis((n.attrs.axis as number) ?? 0, n.inputs[0]!.rank);
      const parts = n.outputs.map((o, i) => gys[i] ?? zerosLike(g, o));
      return [g.concat(parts, axis), null];
    },
  },
  Concat: {
    infer: (inputs, attrs) => {
      const xs = inputs.map((x) => req(x, 'Concat'));
      const axis = normAxis(attrs.axis as number, xs[0]!.rank);
      let total: Dim = 0;
      for (const x of xs) {
        const d = x.shape[axis]!;
        total = typeof total === 'number' && typeof d === 'number' ? total + d : `${total}+${d}`;
      }
      const shape = [...xs[0]!.shape];
      shape[axis] = total;
      return [{ dtype: xs[0]!.dtype, shape }];
    },
    vjp: (g, n, [gy], needs) => {
      const axis = normAxis(n.attrs.axis as number, n.inputs[0]!.rank);
      const sizes = n.inputs.map((x) => x!.shape[axis]);
      if (!sizes.every((s): s is number => typeof s === 'number')) throw new Error('Concat VJP along a symbolic axis');
      const parts = g.split(gy!, sizes as number[], axis);
      return parts.map((p, i) => (needs[i] ? p : null));
    },
  },
  Transpose: {
    infer: (inputs, attrs) => {
      const x = req(inputs[0], 'Transpose');
      const perm = (attrs.perm as number[]) ?? x.shape.map((_, i) => x.rank - 1 - i);
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
    },
    vjp: (g, n, [gy]) => {
      const perm = n.attrs.perm as number[];
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return [g.transpose(gy!, inv)];
    },
  },
  Reshape: {
    infer: (inputs, attrs, g) => {
      const x = req(inputs[0], 'Reshape');
      if (attrs._shape) return [{ dtype: x.dtype, shape: JSON.parse(attrs._shape as string) as Shape }];
      const t = constInts(g, inputs[1], 'Reshape shape');
      const shape: Shape = t.map((d, i) => (d === 0 ? x.shape[i]! : d));
      const neg = shape.indexOf(-1);
      if (neg >= 0) {
        const inStatic = x.shape.filter((d): d is number => typeof d === 'number').reduce((a, b) => a * b, 1);
        const inSym = x.shape.filter((d): d is string => typeof d === 'string');
        const outStatic = shape.filter((d, i): d is number => typeof d === 'number' && i !== neg).reduce((a, b) => a * b, 1);
        const outSym = shape.filter((d): d is string => typeof d === 'string');
        const rest = inSym.filter((s) => !outSym.includes(s));
        if (inStatic % outStatic !== 0) throw new Error(`Reshape: cannot infer -1 for [${x.shape}] -> [${t}]`);
        const k = inStatic / outStatic;
        shape[neg] = rest.length === 0 ? k : k === 1 && rest.length === 1 ? rest[0]! : `${rest.join('*')}*${k}`;
      }
      return [{ dtype: x.dtype, shape }];
    },
    vjp: (g, n, [gy]) => {
      const x = n.inputs[0]!;
      const target = x.shape.every((d) => typeof d === 'number') ? g.ints(x.shape as number[], 'shape') : g.shapeOf(x);
      const r = g.op1('Reshape', [gy!, target], { _shape: JSON.stringify(x.shape) });
      return [r, null];
    },
  },
  Unsqueeze: {
    minOpset: 13,
    infer: (inputs, _a, g) => {
      const x = req(inputs[0], 'Unsqueeze');
      const r = x.rank + constInts(g, inputs[1], 'axes').length;
      const axes = constInts(g, inputs[1], 'axes').map((a) => normAxis(a, r));
      const shape: Shape = [];
      let j = 0;
      for (let i = 0; i < r; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]!);
      return [{ dtype: x.dtype, shape }];
    },
    vjp: (g, n, [gy]) => [g.op1('Squeeze', [gy!, n.inputs[1]!]), null],
  },
  Squeeze: {
    minOpset: 13,
    infer: (inputs, _a, g) => {
      const x = req(inputs[0], 'Squeeze');
      const axes = constInts(g, inputs[1], 'axes').map((a) => normAxis(a, x.rank));
      for (const a of axes) if (x.shape[a] !== 1) throw new Error(`Squeeze: dim ${a} of [${x.shape}] is not 1`);
      return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
    },
    vjp: (g, n, [gy]) => [g.op1('Unsqueeze', [gy!, n.inputs[1]!]), null],
  },
  Expand: {
    infer: (inputs, attrs) => {
      const x = req(inputs[0], 'Expand');
      if (!attrs._shape) throw new Error('Expand needs a static target shape hint');
      const target = JSON.parse(attrs._shape as string) as Shape;
      return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, target, 'Expand') }];
    },
    vjp: (g, n, [gy]) => [unbroadcast(g, gy!, n.inputs[0]!.shape), null],
  },
  Where: {
    infer: (inputs) => {
      const [c, a, b] = inputs.map((x) => req(x, 'Where'));
      if (c!.dtype !== 'bool') throw new Error('Where: condition must be bool');
      if (a!.dtype !== b!.dtype) throw new Error('Where: branch dtypes differ');
      return [{ dtype: a!.dtype, shape: broadcastShapes(broadcastShapes(c!.shape, a!.shape), b!.shape) }];
    },
    vjp: (g, n, [gy], needs) => {
      const [c, a, b] = n.inputs as Value[];
      return [
        null,
        needs[1] ? unbroadcast(g, g.where(c!, gy!, 0), a!.shape) : null,
        needs[2] ? unbroadcast(g, g.where(c!, 0, gy!), b!.shape) : null,
      ];
    },
  },
  Cast: {
    infer: (inputs, attrs) => [{ dtype: attrs.to as DType, shape: req(inputs[0], 'Cast').shape }],
    vjp: (g, n, [gy]) => {
      const x = n.inputs[0]!;
      const to = n.attrs.to as DType;
      if (to !== 'float32' && to !== 'float64') throw new Error(`Cast of a float to ${to} is not differentiable; wrap it in stopGradient`);
      return [to === x.dtype ? gy! : g.cast(gy!, x.dtype)];
    },
  },
  Gather: {
    infer: (inputs, attrs) => {
      const d = req(inputs[0], 'Gather'), idx = req(inputs[1], 'Gather');
      const axis = normAxis((attrs.axis as number) ?? 0, d.rank);
      return [{ dtype: d.dtype, shape: [...d.shape.slice(0, axis), ...idx.shape, ...d.shape.slice(axis + 1)] }];
    },
    vjp: (g, n, [gy]) => {
      const [d, idx] = n.inputs as Value[];
      if (((n.attrs.axis as number) ?? 0) !== 0 || idx!.rank !== 1) throw new Error('Gather VJP: only axis 0 with 1-D indices');
      // dData = scatter-add of the output gradient rows into zeros shaped like data
      const zeros = zerosLike(g, d!);
      const ind = g.unsqueeze(idx!, [1]);
      return [g.op1('ScatterND', [zeros, ind, gy!], { reduction: 'add' }), null];
    },
  },
  ScatterND: {
    minOpset: 16,
    infer: (inputs) => [{ dtype: req(inputs[0], 'ScatterND').dtype, shape: inputs[0]!.shape }],
    vjp: (g, n, [gy], needs) => {
      if (n.attrs.reduction !== 'add') throw new Error('ScatterND VJP: only reduction=add');
      const [, ind] = n.inputs as Value[];
      return [needs[0] ? gy! : null, null, needs[2] ? g.op1('GatherND', [gy!, ind!]) : null];
    },
  },
  GatherND: {
    infer: (inputs) => {
      const d = req(inputs[0], 'GatherND'), ind = req(inputs[1], 'GatherND');
      const k = ind.shape[ind.rank - 1];
      if (typeof k !== 'number') throw new Error('GatherND: last indices dim must be static');
      return [{ dtype: d.dtype, shape: [...ind.shape.slice(0, -1), ...d.shape.slice(k)] }];
    },
    vjp: (g, n, [gy]) => [g.op1('ScatterND', [zerosLike(g, n.inputs[0]!), n.inputs[1]!, gy!], { reduction: 'add' }), null],
  },
  TopK: {
    infer: (inputs, attrs) => {
      const x = req(inputs[0], 'TopK');
      const axis = normAxis((attrs.axis as number) ?? -1, x.rank);
      const shape = x.shape.map((d, i) => (i === axis ? 'K' : d));
      return [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }];
    },
    vjp: notDifferentiable('TopK'),
  },
  /** Inference-only ops (scoring heads, exports): differentiating through them is an error. */
  Resize: {
    infer: (inputs, attrs, g) => {
      const x = req(inputs[0], 'Resize');
      const sizes = inputs[3] ? g.constants.get(inputs[3]) : undefined;
      if (sizes) {
        // output sizes for `axes` (opset 18), the other dims unchanged
        const axes = (attrs.axes as number[] | undefined) ?? x.shape.map((_, i) => i);
        const shape = [...x.shape];
        axes.forEach((a, i) => (shape[normAxis(a, x.rank)] = Number(sizes.data[i])));
        return [{ dtype: x.dtype, shape }];
      }
      const sc = inputs[2] ? g.constants.get(inputs[2]) : undefined;
      if (!sc) throw new Error('Resize: scales or sizes must be a constant');
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? Math.floor(d * Number(sc.data[i])) : Number(sc.data[i]) === 1 ? d : `${d}*${Number(sc.data[i])}`)) }];
    },
    vjp: notDifferentiable('Resize'),
  },
  ReduceMax: {
    minOpset: 18,
    infer: (inputs, attrs, g) => OPS.ReduceSum!.infer(inputs, attrs, g),
    vjp: notDifferentiable('ReduceMax'),
  },
  Tile: {
    infer: (inputs, attrs) => {
      const x = req(inputs[0], 'Tile');
      if (!attrs._shape) throw new Error('Tile needs an output shape hint');
      return [{ dtype: x.dtype, shape: JSON.parse(attrs._shape as string) as Shape }];
    },
    vjp: notDifferentiable('Tile'),
  },
  OneHot: {
    infer: (inputs, _a, g) => {
      const idx = req(inputs[0], 'OneHot'), vals = req(inputs[2], 'OneHot');
      const depth = Number(g.constants.get(req(inputs[1], 'OneHot'))?.data[0] ?? NaN);
      if (!Number.isInteger(depth)) throw new Error('OneHot: depth must be a constant');
      return [{ dtype: vals.dtype, shape: [...idx.shape, depth] }];
    },
    vjp: null,
  },
  Shape: { infer: (inputs) => [{ dtype: 'int64', shape: [req(inputs[0], 'Shape').rank] }], vjp: null },
  Less: { infer: ew('Less', 'bool'), vjp: null },
  LessOrEqual: { infer: ew('LessOrEqual', 'bool'), vjp: null },
  Greater: { infer: ew('Greater', 'bool'), vjp: null },
  GreaterOrEqual: { infer: ew('GreaterOrEqual', 'bool'), vjp: null },
  Equal: { infer: ew('Equal', 'bool'), vjp: null },
  And: { infer: ew('And'), vjp: null },
  Or: { infer: ew('Or'), vjp: null },
  Not: { infer: same, vjp: null },
};

function zerosLike(g: Graph, v: Value): Value {
  if (v.shape.every((d) => typeof d === 'number')) {
    const n = (v.shape as number[]).reduce((a, b) => a * b, 1);
    return g.constant(v.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n), v.shape as number[], v.dtype, 'zeros');
  }
  return g.mul(g.stopGradient(v), 0);
}

/** The ops whose VJP is exercised by the finite-difference tests (every float op above). */
export const DIFFERENTIABLE_OPS = Object.keys(OPS).filter((k) => OPS[k]!.vjp !== null);
