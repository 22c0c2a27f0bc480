/**
 * Copy-paste synthetic anomalies (bgad/README.md §4): a known defect and its mask, augmented
 * together (flips, 90-degree rotations, brightness), pasted onto a normal image at a random
 * place. Images are planar CHW float at size S x S; masks S x S of 0/1. Pure.
 */
import type { Rng } from './rng';

export interface PlanarImage { chw: Float32Array; size: number }

function transformIndex(r: number, c: number, S: number, rot: number, flipH: boolean, flipV: boolean): number {
  let rr = flipV ? S - 1 - r : r;
  let cc = flipH ? S - 1 - c : c;
  for (let k = 0; k < rot; k++) [rr, cc] = [cc, S - 1 - rr];
  return rr * S + cc;
}

/** Applies one random augmentation to an image and its mask together. */
export function augmentPair(img: PlanarImage, mask: Uint8Array, rng: Rng): { img: PlanarImage; mask: Uint8Array } {
  const S = img.size;
  const rot = rng.int(4), flipH = rng.next() < 0.5, flipV = rng.next() < 0.5;
  const gain = rng.uniform(0.85, 1.15);
  const out = new Float32Array(img.chw.length);
  const m = new Uint8Array(S * S);
  for (let r = 0; r < S; r++) {
    for (let c = 0; c < S; c++) {
      const dst = transformIndex(r, c, S, rot, flipH, flipV);
      m[dst] = mask[r * S + c]!;
      for (let ch = 0; ch < 3; ch++) out[ch * S * S + dst] = Math.min(1, Math.max(0, img.chw[ch * S * S + r * S + c]! * gain));
    }
  }
  return { img: { chw: out, size: S }, mask: m };
}

/** Pastes the masked pixels of `defect` onto `target` at a random offset; returns the new image and mask. */
export function pasteDefect(defect: PlanarImage, defectMask: Uint8Array, target: PlanarImage, rng: Rng): { img: PlanarImage; mask: Uint8Array } | null {
  const S = target.size;
  if (defect.size !== S) throw new Error('pasteDefect: sizes differ');
  let r0 = S, r1 = -1, c0 = S, c1 = -1;
  for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) if (defectMask[r * S + c]) {
    if (r < r0) r0 = r;
    if (r > r1) r1 = r;
    if (c < c0) c0 = c;
    if (c > c1) c1 = c;
  }
  if (r1 < 0) return null;
  const h = r1 - r0 + 1, w = c1 - c0 + 1;
  const dr = rng.int(S - h + 1) - r0, dc = rng.int(S - w + 1) - c0;
  const out = Float32Array.from(target.chw);
  const m = new Uint8Array(S * S);
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) {
    if (!defectMask[r * S + c]) continue;
    const dst = (r + dr) * S + (c + dc);
    m[dst] = 1;
    for (let ch = 0; ch < 3; ch++) out[ch * S * S + dst] = defect.chw[ch * S * S + r * S + c]!;
  }
  return { img: { chw: out, size: S }, mask: m };
}

/** One synthetic anomaly: augment the defect (3 random augmentations composed) and paste it. */
export function syntheticAnomaly(defect: PlanarImage, defectMask: Uint8Array, target: PlanarImage, rng: Rng): { img: PlanarImage; mask: Uint8Array } | null {
  let cur = { img: defect, mask: defectMask };
  for (let i = 0; i < 3; i++) cur = augmentPair(cur.img, cur.mask, rng);
  return pasteDefect(cur.img, cur.mask, target, rng);
}
