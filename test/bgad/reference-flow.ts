/**
 * A plain TypeScript reference of bgad/README.md §2 (no graph, no re-association): the
 * subnet sees the concatenation [x1, c] with the full 128-dim condition, as in FrEIA.
 */
import { conditionAt, COND_DIM } from '../../src-main/bgad/posenc';
import { flowDims, paramName, type FlowWeights } from '../../src-main/bgad/flow';

export function referenceLogLikelihood(w: FlowWeights, x: Float64Array, rows: number[], cols: number[]): { l: number[]; logdet: number[] } {
  const C = w.config.channels;
  const { Cp, Ca, d, hidden } = flowDims(C);
  const N = rows.length;
  const ls: number[] = [], lds: number[] = [];
  for (let n = 0; n < N; n++) {
    let v = Array.from(x.subarray(n * C, (n + 1) * C));
    const c = conditionAt(rows[n]!, cols[n]!);
    let logdet = 0;
    for (let b = 0; b < w.config.blocks; b++) {
      const P = (k: string) => w.params.get(paramName(b, k))!.data;
      const w1x = P('w1x'), w1col = P('w1col'), w1row = P('w1row'), b1 = P('b1'), w2 = P('w2'), b2 = P('b2'), gs = P('gscale'), go = P('goffset');
      const inp = [...v.slice(0, Cp), ...Array.from(c)];
      if (inp.length !== d) throw new Error('dims');
      const h = new Array<number>(hidden).fill(0);
      for (let j = 0; j < hidden; j++) {
        let acc = b1[j]!;
        for (let i = 0; i < Cp; i++) acc += inp[i]! * w1x[i * hidden + j]!;
        for (let i = 0; i < COND_DIM / 2; i++) acc += inp[Cp + i]! * w1col[i * hidden + j]!;
        for (let i = 0; i < COND_DIM / 2; i++) acc += inp[Cp + COND_DIM / 2 + i]! * w1row[i * hidden + j]!;
        h[j] = Math.max(acc, 0);
      }
      const a = new Array<number>(2 * Ca).fill(0);
      for (let j = 0; j < 2 * Ca; j++) {
        let acc = b2[j]!;
        for (let i = 0; i < hidden; i++) acc += h[i]! * w2[i * 2 * Ca + j]!;
        a[j] = 0.1 * acc;
      }
      const out = v.slice();
      for (let j = 0; j < Ca; j++) {
        const s = 1.9 * Math.tanh(a[j]!);
        logdet += s;
        out[Cp + j] = v[Cp + j]! * Math.exp(s) + a[Ca + j]!;
      }
      const u = out.map((val, i) => {
        const sigma = 0.2 * Math.log1p(Math.exp(0.5 * gs[i]!));
        logdet += Math.log(sigma);
        return val * sigma + go[i]!;
      });
      const R = w.rotations[b]!;
      v = Array.from({ length: C }, (_, i) => {
        let acc = 0;
        for (let k = 0; k < C; k++) acc += R[i * C + k]! * u[k]!;
        return acc;
      });
    }
    const sq = v.reduce((acc, z) => acc + z * z, 0);
    const logp = -C * 0.5 * Math.log(2 * Math.PI) - 0.5 * sq + logdet;
    ls.push(logp / C);
    lds.push(logdet);
  }
  return { l: ls, logdet: lds };
}
