/**
 * Copy-paste synthetic anomalies (bgad/README.md §4): a known defect and its mask, augmented
 * together (flips, 90-degree rotations, brightness), pasted onto a normal image at a random
 * place. Images are planar CHW float at the model's input size (S x S, or H x W for an aspect
 * model); masks of the same size, 0/1. A non-square image turns by 0 or 180 degrees only (a
 * quarter turn would not fit its frame). Pure.
 */
import type { Rng } from './rng';
import { asGeometry, type InputSize } from './geometry';

export interface PlanarImage { chw: Float32Array; size: InputSize }

/** Destination index of (r, c) in an H x W image (quarter turns only when H == W). */
function transformIndex(r: number, c: number, H: number, W: number, rot: number, flipH: boolean, flipV: boolean): number {
  let rr = flipV ? H - 1 - r : r;
  let cc = flipH ? W - 1 - c : c;
  if (rot === 2) [rr, cc] = [H - 1 - rr, W - 1 - cc];
  else for (let k = 0; k < rot; k++) [rr, cc] = [cc, H - 1 - rr]; // quarter turns: H == W
  return rr * W + cc;
}

/** Applies one random augmentation to an image and its mask together. */
export function augmentPair(img: PlanarImage, mask: Uint8Array, rng: Rng): { img: PlanarImage; mask: Uint8Array } {
  const { height: H, width: W } = asGeometry(img.size);
  const turns = rng.int(4), flipH = rng.next() < 0.5, flipV = rng.next() < 0.5;
  const rot = H === W ? turns : turns & 2;
  const gain = rng.uniform(0.85, 1.15);
  const out = new Float32Array(img.chw.length);
  const plane = H * W;
  const m = new Uint8Array(plane);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const dst = transformIndex(r, c, H, W, rot, flipH, flipV);
      m[dst] = mask[r * W + c]!;
      for (let ch = 0; ch < 3; ch++) out[ch * plane + dst] = Math.min(1, Math.max(0, img.chw[ch * plane + r * W + c]! * gain));
    }
  }
  return { img: { chw: out, size: img.size }, mask: m };
}

/** Pastes the masked pixels of `defect` onto `target` at a random offset; returns the new image and mask. */
export function pasteDefect(defect: PlanarImage, defectMask: Uint8Array, target: PlanarImage, rng: Rng): { img: PlanarImage; mask: Uint8Array } | null {
  const { height: H, width: W } = asGeometry(target.size);
  const d = asGeometry(defect.size);
  if (d.height !== H || d.width !== W) throw new Error('pasteDefect: sizes differ');
  const plane = H * W;
  let r0 = H, r1 = -1, c0 = W, c1 = -1;
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) if (defectMask[r * W + c]) {
    if (r < r0) r0 = r;
    if (r > r1) r1 = r;
    if (c < c0) c0 = c;
    if (c > c1) c1 = c;
  }
  if (r1 < 0) return null;
  const h = r1 - r0 + 1, w = c1 - c0 + 1;
  const dr = rng.int(H - h + 1) - r0, dc = rng.int(W - w + 1) - c0;
  const out = Float32Array.from(target.chw);
  const m = new Uint8Array(plane);
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) {
    if (!defectMask[r * W + c]) continue;
    const dst = (r + dr) * W + (c + dc);
    m[dst] = 1;
    for (let ch = 0; ch < 3; ch++) out[ch * plane + dst] = defect.chw[ch * plane + r * W + c]!;
  }
  return { img: { chw: out, size: target.size }, mask: m };
}

/** One synthetic anomaly: augment the defect (3 random augmentations composed) and paste it. */
export function syntheticAnomaly(defect: PlanarImage, defectMask: Uint8Array, target: PlanarImage, rng: Rng): { img: PlanarImage; mask: Uint8Array } | null {
  let cur = { img: defect, mask: defectMask };
  for (let i = 0; i < 3; i++) cur = augmentPair(cur.img, cur.mask, rng);
  return pasteDefect(cur.img, cur.mask, target, rng);
}
