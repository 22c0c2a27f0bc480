import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src-main/autodiff/graph';
import { emitOnnx } from '../../src-main/autodiff/emit';
import { buildLoss, FOCAL_ANOMALY_MAX } from '../../src-main/bgad/loss';

/** bgad/README.md §3 written out directly, with detached boundary and weights. */
function referenceLoss(l: number[], mask: number[], beta: number, tau: number, lambda: number, focal: boolean) {
  const s = l.map((v) => v / 10);
  const N = s.map((_, i) => i).filter((i) => mask[i] === 0);
  const A = s.map((_, i) => i).filter((i) => mask[i] === 1);
  const wn = (x: number) => (!focal || x > -0.2 ? 1 : 11.7 * Math.sqrt(1 - Math.exp(x)) * Math.abs(x));
  const wa = (x: number) => (!focal || x <= -1 ? 1 : Math.min(FOCAL_ANOMALY_MAX, (0.53 * (1 + Math.exp(x)) ** 2) / Math.abs(x)));
  const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const grad = new Array<number>(l.length).fill(0);
  let ml = 0;
  for (const i of N) {
    ml += wn(s[i]!) * softplus(-l[i]!);
    grad[i]! += (wn(s[i]!) * -sigmoid(-l[i]!)) / N.length;
  }
  ml /= N.length;
  const sortedN = N.map((i) => s[i]!).sort((a, b) => a - b);
  const bn = sortedN[Math.floor(N.length * beta)]!;
  const ba = bn - tau;
  const nSel = N.filter((i) => s[i]! <= bn), aSel = A.filter((j) => s[j]! >= ba);
  const pull = nSel.length ? nSel.reduce((acc, i) => acc + wn(s[i]!) * (bn - s[i]!), 0) / nSel.length : 0;
  const push = aSel.length ? aSel.reduce((acc, j) => acc + wa(s[j]!) * (s[j]! - ba), 0) / aSel.length : 0;
  for (const i of nSel) grad[i]! += (lambda * -wn(s[i]!) * 0.1) / nSel.length;
  for (const j of aSel) grad[j]! += (lambda * wa(s[j]!) * 0.1) / aSel.length;
  return { loss: ml + lambda * (pull + push), ml, pull, push, bn, grad };
}

async function graphLoss(l: number[], mask: number[], beta: number, tau: number, lambda: number, focal: boolean) {
  const g = new Graph('float64');
  const lv = g.param('l', [l.length]);
  const inp = { mask: g.input('mask', [l.length], 'float64'), k: g.input('k', [1], 'int64'), kIndex: g.input('k_index', [], 'int64'), lambda: g.input('lambda', [], 'float64') };
  const out = buildLoss(g, lv, inp, { tau, focal });
  const [gl] = g.gradients(out.loss, [lv]);
  for (const k of ['loss', 'ml', 'pull', 'push', 'boundary'] as const) g.output(k, k === 'boundary' ? out.boundary : out[k]);
  g.output('grad', gl!);
  const sess = await ort.InferenceSession.create(emitOnnx(g));
  const nNormal = mask.filter((m) => m === 0).length;
  const kIdx = Math.floor(nNormal * beta);
  const r = await sess.run({
    l: new ort.Tensor('float64', Float64Array.from(l), [l.length]),
    mask: new ort.Tensor('float64', Float64Array.from(mask), [l.length]),
    k: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIdx + 1)]), [1]),
    k_index: new ort.Tensor('int64', BigInt64Array.from([BigInt(kIdx)]), []),
    lambda: new ort.Tensor('float64', Float64Array.from([lambda]), []),
  });
  const num = (k: string) => r[k]!.data[0] as number;
  return { loss: num('loss'), ml: num('ml'), pull: num('pull'), push: num('push'), bn: num('boundary'), grad: Array.from(r.grad!.data as Float64Array) };
}

const L = [-1.2, -0.3, 0.4, -2.5, -0.05, -4.0, 0.9, -1.9, -0.6, -7.5, -3.1, 0.2];
const M = [0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0];

describe('BGAD loss (semi-push-pull with explicit boundary)', () => {
  for (const focal of [false, true]) {
    it(`matches the written-out method with focal weights ${focal ? 'on' : 'off'}, values and gradients`, async () => {
      const ref = referenceLoss(L, M, 0.25, 0.1, 1, focal);
      const got = await graphLoss(L, M, 0.25, 0.1, 1, focal);
      for (const k of ['loss', 'ml', 'pull', 'push', 'bn'] as const) expect(got[k]).toBeCloseTo(ref[k], 10);
      got.grad.forEach((v, i) => expect(v).toBeCloseTo(ref.grad[i]!, 10));
      expect(got.pull).toBeGreaterThan(0);
      expect(got.push).toBeGreaterThan(0);
    });
  }

  it('takes the boundary as the floor(beta*|N|)-th smallest normal score, ignoring anomalies', async () => {
    const got = await graphLoss(L, M, 0.25, 0.1, 1, false);
    // normal s sorted: -0.4 -0.31 -0.25 -0.12 -0.06 -0.03 0.02 0.04 0.09; floor(9*0.25)=2 -> -0.25
    expect(got.bn).toBeCloseTo(-0.25, 12);
  });

  it('counts an empty pull or push set as 0, never NaN', async () => {
    // all anomalies far below b_a: push set empty
    const l = [-1, -2, -3, -90, -95];
    const m = [0, 0, 0, 1, 1];
    const got = await graphLoss(l, m, 0.05, 0.1, 1, true);
    expect(got.push).toBe(0);
    expect(Number.isFinite(got.loss)).toBe(true);
    expect(got.grad.every(Number.isFinite)).toBe(true);
  });

  it('reduces to the maximum-likelihood term when lambda is 0 (normal-only phase)', async () => {
    const got = await graphLoss(L, M, 0.05, 0.1, 0, true);
    expect(got.loss).toBeCloseTo(got.ml, 12);
  });

  it('keeps the anomaly focal weight finite when an anomaly score is exactly 0', async () => {
    const l = [-1, -2, 0, -3];
    const got = await graphLoss(l, [0, 0, 1, 0], 0.05, 0.1, 1, true);
    expect(Number.isFinite(got.loss)).toBe(true);
    expect(got.grad[2]).toBeCloseTo((FOCAL_ANOMALY_MAX * 0.1) / 1, 10);
  });
});
