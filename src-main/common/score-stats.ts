/**
 * Score statistics shared by the services (histograms) and the UI (draggable threshold, ROC
 * curve). Pure. Convention as everywhere in the product: a part fails when score > threshold.
 */
import type { ThresholdRates } from './api';

/** False-reject and miss rates at a threshold (0 when a class is empty). */
export function ratesAt(scores: { normal: readonly number[]; defect: readonly number[] }, threshold: number): ThresholdRates {
  const rejected = scores.normal.filter((s) => s > threshold).length;
  const missed = scores.defect.filter((s) => s <= threshold).length;
  return {
    falseRejectRate: scores.normal.length ? rejected / scores.normal.length : 0,
    missRate: scores.defect.length ? missed / scores.defect.length : 0,
  };
}

/** Equal-width bins over [lo, hi] covering every score and the marks (threshold, boundary). */
export function histogramBins(scores: { normal: readonly number[]; defect: readonly number[] }, bins: number, marks: readonly (number | null)[] = []): { binEdges: number[]; normal: number[]; defect: number[] } {
  const all = [...scores.normal, ...scores.defect, ...marks.filter((m): m is number => m !== null && Number.isFinite(m))];
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.02;
  lo -= pad;
  hi += pad;
  const width = (hi - lo) / bins;
  const binEdges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const count = (list: readonly number[]) => {
    const out = new Array<number>(bins).fill(0);
    for (const s of list) out[Math.min(bins - 1, Math.max(0, Math.floor((s - lo) / width)))]!++;
    return out;
  };
  return { binEdges, normal: count(scores.normal), defect: count(scores.defect) };
}

/** ROC points (false-positive rate, true-positive rate) from the strictest threshold down, and the AUC. */
export function rocCurve(scores: { normal: readonly number[]; defect: readonly number[] }): { points: { fpr: number; tpr: number }[]; auc: number } {
  const items = [...scores.normal.map((s) => ({ s, y: 0 })), ...scores.defect.map((s) => ({ s, y: 1 }))].sort((a, b) => b.s - a.s);
  const P = scores.defect.length;
  const N = scores.normal.length;
  const points = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < items.length; i++) {
    if (items[i]!.y) tp++;
    else fp++;
    if (i === items.length - 1 || items[i + 1]!.s !== items[i]!.s) points.push({ fpr: N ? fp / N : 0, tpr: P ? tp / P : 0 });
  }
  let auc = 0;
  for (let i = 1; i < points.length; i++) auc += (points[i]!.fpr - points[i - 1]!.fpr) * (points[i]!.tpr + points[i - 1]!.tpr) / 2;
  return { points, auc: P && N ? auc : NaN };
}
