import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../../src-main/autodiff/graph';
import { DIFFERENTIABLE_OPS, OPS } from '../../src-main/autodiff/ops';
import { analyticGrad, gradCheck, prand, type ParamSpec } from './grad-check';

const P = (name: string, shape: number[], data?: number[], seed = 1): ParamSpec => ({
  name, shape, data: data ?? prand(shape.reduce((a, b) => a * b, 1), seed),
});
const TOL = 1e-6;

type Case = { params: ParamSpec[]; build: (g: Graph, p: Value[]) => Value };
/** One or more finite-difference cases per differentiable op. Points include negatives, zeros and ties. */
const CASES: Record<string, Case[]> = {
  Add: [{ params: [P('a', [2, 3]), P('b', [3], undefined, 2)], build: (g, [a, b]) => g.add(a!, b!) },
        { params: [P('a', [2, 3], [0, 0, 1, -1, 2, 2])], build: (g, [a]) => g.add(a!, a!) }],
  Sub: [{ params: [P('a', [2, 3]), P('b', [2, 1], undefined, 3)], build: (g, [a, b]) => g.sub(a!, b!) }],
  Mul: [{ params: [P('a', [2, 3], [0, -1, 1, 2, 2, -0.5]), P('b', [1, 3], undefined, 4)], build: (g, [a, b]) => g.mul(a!, b!) },
        { params: [P('a', [3], [0.5, -0.5, 0])], build: (g, [a]) => g.mul(a!, a!) }],
  Div: [{ params: [P('a', [2, 3], [0, -1, 1, 2, 2, -0.5]), P('b', [3], [0.7, -1.5, 2])], build: (g, [a, b]) => g.div(a!, b!) }],
  Pow: [{ params: [P('a', [4], [-1.5, 0, 0.7, 2])], build: (g, [a]) => g.pow(a!, 3) },
        { params: [P('a', [3], [-1.5, 0, 0.7])], build: (g, [a]) => g.pow(a!, 2) },
        { params: [P('a', [3], [0.3, 1, 2.5])], build: (g, [a]) => g.pow(a!, 0.5) }],
  Neg: [{ params: [P('a', [2, 2])], build: (g, [a]) => g.neg(a!) }],
  Identity: [{ params: [P('a', [3])], build: (g, [a]) => g.op1('Identity', [a!]) }],
  Exp: [{ params: [P('a', [4], [-2, 0, 0.5, 1.5])], build: (g, [a]) => g.exp(a!) }],
  Log: [{ params: [P('a', [3], [0.2, 1, 3])], build: (g, [a]) => g.log(a!) }],
  Tanh: [{ params: [P('a', [4], [-3, -0.5, 0, 2])], build: (g, [a]) => g.tanh(a!) }],
  Sigmoid: [{ params: [P('a', [4], [-3, -0.5, 0, 2])], build: (g, [a]) => g.sigmoid(a!) }],
  Relu: [{ params: [P('a', [4], [-3, -0.5, 0.1, 2])], build: (g, [a]) => g.relu(a!) }],
  Softplus: [{ params: [P('a', [5], [-30, -1, 0, 1, 25])], build: (g, [a]) => g.softplus(a!) }],
  Sqrt: [{ params: [P('a', [3], [0.1, 1, 4])], build: (g, [a]) => g.sqrt(a!) }],
  Abs: [{ params: [P('a', [4], [-2, -0.1, 0.3, 1])], build: (g, [a]) => g.abs(a!) }],
  Clip: [{ params: [P('a', [5], [-2, -0.5, 0, 0.5, 2])], build: (g, [a]) => g.clip(a!, -1, 1) },
         { params: [P('a', [3], [-2, 0.5, 3])], build: (g, [a]) => g.clip(a!, 0, null) }],
  MatMul: [{ params: [P('a', [2, 3]), P('b', [3, 4], undefined, 5)], build: (g, [a, b]) => g.matmul(a!, b!) },
           { params: [P('a', [2, 2, 3]), P('b', [3, 2], undefined, 6)], build: (g, [a, b]) => g.matmul(a!, b!) }],
  Gemm: [
    { params: [P('a', [2, 3]), P('b', [3, 4], undefined, 2), P('c', [4], undefined, 3)], build: (g, [a, b, c]) => g.gemm(a!, b!, c!) },
    { params: [P('a', [3, 2]), P('b', [4, 3], undefined, 2), P('c', [2, 1], undefined, 3)], build: (g, [a, b, c]) => g.gemm(a!, b!, c!, { transA: true, transB: true, alpha: 0.7, beta: -1.3 }) },
    { params: [P('a', [3, 2]), P('b', [3, 4], undefined, 2)], build: (g, [a, b]) => g.gemm(a!, b!, null, { transA: true }) },
    { params: [P('a', [2, 3]), P('b', [4, 3], undefined, 2)], build: (g, [a, b]) => g.gemm(a!, b!, null, { transB: true, alpha: 2 }) },
  ],
  ReduceSum: [{ params: [P('a', [2, 3, 2])], build: (g, [a]) => g.reduceSum(a!, [1]) },
              { params: [P('a', [2, 3, 2])], build: (g, [a]) => g.reduceSum(a!, [0, 2], true) }],
  ReduceMean: [{ params: [P('a', [2, 3])], build: (g, [a]) => g.reduceMean(a!, [-1]) },
               { params: [P('a', [2, 3])], build: (g, [a]) => g.reduceMean(g.op1('Identity', [a!]), [0]) },
               { params: [P('a', [2, 3])], build: (g, [a]) => g.reduceMean(a!, [0], true) }],
  Slice: [{ params: [P('a', [3, 5])], build: (g, [a]) => g.slice(a!, [1], [4], [1]) },
          { params: [P('a', [3, 5])], build: (g, [a]) => g.slice(a!, [0, 2], [2, 100], [0, 1]) }],
  Pad: [{ params: [P('a', [2, 3])], build: (g, [a]) => g.op1('Pad', [a!, g.ints([1, 0, 0, 2], 'pads')]) }],
  Split: [{ params: [P('a', [2, 5])], build: (g, [a]) => { const [x, y] = g.split(a!, [2, 3], 1); return g.concat([g.mul(x!, 2), g.exp(y!)], 1); } },
          { params: [P('a', [2, 5])], build: (g, [a]) => g.split(a!, [1, 4], 1)[1]! }],
  Concat: [{ params: [P('a', [2, 2]), P('b', [2, 3], undefined, 2)], build: (g, [a, b]) => g.concat([a!, b!, a!], 1) }],
  Transpose: [{ params: [P('a', [2, 3, 4])], build: (g, [a]) => g.transpose(a!, [2, 0, 1]) }],
  Reshape: [{ params: [P('a', [2, 6])], build: (g, [a]) => g.reshape(a!, [3, -1]) }],
  Unsqueeze: [{ params: [P('a', [2, 3])], build: (g, [a]) => g.unsqueeze(a!, [0, 3]) }],
  Squeeze: [{ params: [P('a', [2, 1, 3])], build: (g, [a]) => g.squeeze(a!, [1]) }],
  Expand: [{ params: [P('a', [1, 3])], build: (g, [a]) => g.op1('Expand', [a!, g.ints([4, 3])], { _shape: JSON.stringify([4, 3]) }) }],
  Where: [{ params: [P('a', [2, 3], [1, 1, 0, -1, 2, 0]), P('b', [3], [1, 0, 0], 2)],
            build: (g, [a, b]) => g.where(g.constant(Uint8Array.from([1, 0, 1, 0, 0, 1]), [2, 3], 'bool'), a!, b!) }],
  Cast: [{ params: [P('a', [3])], build: (g, [a]) => g.cast(a!, 'float64') }],
  Gather: [{ params: [P('a', [4, 3])], build: (g, [a]) => g.gather(a!, g.constant(BigInt64Array.from([2n, 0n, 2n, 3n, 2n]), [5], 'int64')) }],
  ScatterND: [{ params: [P('d', [4, 3]), P('u', [3, 3], undefined, 2)],
                build: (g, [d, u]) => g.op1('ScatterND', [d!, g.constant(BigInt64Array.from([1n, 1n, 3n]), [3, 1], 'int64'), u!], { reduction: 'add' }) }],
  GatherND: [{ params: [P('a', [4, 3])], build: (g, [a]) => g.op1('GatherND', [a!, g.constant(BigInt64Array.from([2n, 0n, 2n]), [3, 1], 'int64')]) }],
  StopGradient: [],
  // TopK's rule throws on purpose (covered by 'refuses to differentiate through TopK values').
  TopK: [],
  ReduceProd: [],
  Resize: [],
  ReduceMax: [],
  Tile: [],
  Sign: [],
};

describe('VJP rules against float64 central finite differences', () => {
  it('has a finite-difference case for every differentiable op in the table', () => {
    const missing = DIFFERENTIABLE_OPS.filter((op) => !(op in CASES));
    expect(missing).toEqual([]);
  });

  for (const [op, cases] of Object.entries(CASES)) {
    cases.forEach((c, i) => {
      it(`${op} case ${i + 1} matches finite differences`, async () => {
        const { maxErr } = await gradCheck(c.params, c.build);
        expect(maxErr).toBeLessThan(TOL);
      });
    });
  }
});

describe('gradient conventions at kinks and non-differentiable points', () => {
  it('Relu has gradient 0 at exactly 0 and 1 above', async () => {
    const [ga] = await analyticGrad([P('a', [3], [0, 1, -1])], (g, [a]) => g.relu(a!));
    expect(Array.from(ga!)).toEqual([0, 1, 0]);
  });
  it('Abs has gradient 0 at exactly 0', async () => {
    const [ga] = await analyticGrad([P('a', [3], [0, 2, -2])], (g, [a]) => g.abs(a!));
    expect(Array.from(ga!)).toEqual([0, 1, -1]);
  });
  it('Clip passes the gradient at both bounds inclusively', async () => {
    const [ga] = await analyticGrad([P('a', [4], [-1, 1, 1.5, -2])], (g, [a]) => g.clip(a!, -1, 1));
    expect(Array.from(ga!)).toEqual([1, 1, 0, 0]);
  });
  it('StopGradient and Sign let no gradient through', async () => {
    const [ga] = await analyticGrad([P('a', [2], [0.5, -3])], (g, [a]) => g.add(g.mul(g.stopGradient(a!), a!), g.op1('Sign', [a!])));
    expect(Array.from(ga!)).toEqual([0.5, -3]);
  });
  it('Gather accumulates the gradient of repeated indices', async () => {
    const [ga] = await analyticGrad([P('a', [3, 1], [1, 2, 3])], (g, [a]) => g.gather(a!, g.constant(BigInt64Array.from([1n, 1n, 1n, 0n]), [4], 'int64')));
    expect(Array.from(ga!)).toEqual([1, 3, 0]);
  });
});

describe('building gradients', () => {
  it('refuses an op that is not in the table when the graph is built', () => {
    const g = new Graph('float64');
    const a = g.param('a', [2]);
    expect(() => g.op1('Erf', [a])).toThrow(/not in the op table/);
  });
  it('refuses to differentiate through TopK values instead of returning a silent zero', () => {
    const g = new Graph('float64');
    const a = g.param('a', [4]);
    const [v] = g.op(OPS.TopK ? 'TopK' : 'TopK', [a, g.ints([2])], { axis: 0, largest: 1 });
    const loss = g.reduceSum(v!, [0]);
    expect(() => g.gradients(loss, [a])).toThrow(/TopK is not differentiable/);
  });
  it('gives a zero gradient for a parameter the loss does not depend on', async () => {
    const [ga, gb] = await analyticGrad([P('a', [2], [1, 2]), P('b', [2], [3, 4])], (g, [a]) => g.mul(a!, 3));
    expect(Array.from(ga!)).toEqual([3, 3]);
    expect(Array.from(gb!)).toEqual([0, 0]);
  });
  it('refuses a non-scalar loss', () => {
    const g = new Graph('float64');
    const a = g.param('a', [2]);
    expect(() => g.gradients(g.mul(a, 2), [a])).toThrow(/scalar/);
  });
});
