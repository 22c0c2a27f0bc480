/**
 * BGAD's loss on one chunk of positions of one level (bgad/README.md §3), as graph nodes.
 * Pure.
 *
 * Inputs fed per step (besides the flow's):
 *   mask   [N] float: 1 anomalous position, 0 normal
 *   kIndex []  int64: floor(beta * |N|), the index of the beta-quantile in ascending order
 *   k      [1] int64: kIndex + 1
 *   lambda []  float: weight of the boundary terms; 0 in the normal-only phase or when the
 *               chunk has no anomalous position (then L = L_ml)
 */
import type { Graph, Value } from '../autodiff/graph';

export const NORMALIZER = 10;
export const DEFAULT_TAU = 0.1;
/** Upper clamp of the focal anomaly weight (it diverges as s -> 0). */
export const FOCAL_ANOMALY_MAX = 10;

export interface LossOptions {
  tau: number;
  focal: boolean;
}

export interface LossInputs { mask: Value; k: Value; kIndex: Value; lambda: Value }

export interface LossOutputs {
  loss: Value;
  ml: Value;
  pull: Value;
  push: Value;
  /** Explicit normal boundary b_n (on s = l / normalizer), detached. */
  boundary: Value;
}

export function buildLoss(g: Graph, l: Value, inp: LossInputs, opts: LossOptions): LossOutputs {
  const s = g.mul(l, 1 / NORMALIZER);
  const sd = g.stopGradient(s);
  const isAnom = g.greater(inp.mask, 0.5);
  const normalW = g.sub(1, inp.mask);
  const count = (w: Value) => g.clip(g.reduceSum(w, [0]), 1, null);

  // focal weights from the detached score
  let wn: Value | null = null;
  let wa: Value | null = null;
  if (opts.focal) {
    const absS = g.abs(sd);
    const oneMinusExp = g.clip(g.sub(1, g.exp(sd)), 0, null);
    wn = g.where(g.greater(sd, -0.2), 1, g.mul(g.mul(g.sqrt(oneMinusExp), absS), 11.7));
    const onePlusExp = g.add(1, g.exp(sd));
    const raw = g.div(g.mul(g.mul(onePlusExp, onePlusExp), 0.53), g.clip(absS, 1e-6, null));
    wa = g.where(g.lessOrEqual(sd, -1), 1, g.clip(raw, 0, FOCAL_ANOMALY_MAX));
  }

  // maximum likelihood on normal positions: mean_N w_n softplus(-l)
  const mlTerm = g.softplus(g.neg(l));
  const mlW = wn ? g.mul(normalW, wn) : normalW;
  const ml = g.div(g.reduceSum(g.mul(mlTerm, mlW), [0]), count(normalW));

  // explicit boundary: beta-quantile of s over normal positions (anomalous ones pushed to +big)
  const masked = g.where(isAnom, 1e30, sd);
  const [topk] = g.op('TopK', [masked, inp.k], { axis: 0, largest: 0, sorted: 1 });
  const bn = g.stopGradient(g.gather(topk!, inp.kIndex));
  const ba = g.sub(bn, opts.tau);

  // pull: normals below the boundary, mean over that set of w_n (b_n - s)
  const nSel = g.mul(normalW, g.cast(g.lessOrEqual(sd, bn), l.dtype));
  const pullTerm = g.sub(bn, s);
  const pull = g.div(g.reduceSum(g.mul(pullTerm, wn ? g.mul(nSel, wn) : nSel), [0]), count(nSel));
  // push: anomalies above b_a, mean over that set of w_a (s - b_a)
  const aSel = g.mul(inp.mask, g.cast(g.greaterOrEqual(sd, ba), l.dtype));
  const pushTerm = g.sub(s, ba);
  const push = g.div(g.reduceSum(g.mul(pushTerm, wa ? g.mul(aSel, wa) : aSel), [0]), count(aSel));

  const loss = g.add(ml, g.mul(inp.lambda, g.add(pull, push)));
  return { loss, ml, pull, push, boundary: bn };
}
