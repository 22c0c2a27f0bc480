/**
 * Defect masks and painting. A defect is first drawn as a binary mask; then exactly the
 * masked pixels are repainted, each channel moved by at least MIN_DEFECT_DIFF from the
 * clean value, so "pixels changed by the defect" == "mask" holds exactly.
 * Pure: no node imports.
 */
import { randInt, uniform, type Rng } from './prng';
import { clampByte, countOnes, drawBlob, drawSegment, type RasterImage } from './raster';
import { isOnDisc, type CleanRender } from './textures';

export const DEFECT_TYPES = ['scratch', 'spot', 'crack', 'missing'] as const;
export type DefectType = (typeof DEFECT_TYPES)[number];

/** Every channel of every masked pixel differs from the clean image by at least this much. */
export const MIN_DEFECT_DIFF = 45;

function wobble(rng: Rng, n: number, amp: number) {
  return Array.from({ length: n }, (_, i) => ({ k: i + 2, amp: uniform(rng, 0, amp), phase: uniform(rng, 0, 2 * Math.PI) }));
}

/** A point where a defect may start: anywhere away from the border, or on the part. */
function anchor(rng: Rng, size: number, clean: CleanRender, maxR = 0.75): [number, number] {
  const d = clean.disc;
  if (!d) return [uniform(rng, 0.2, 0.8) * size, uniform(rng, 0.2, 0.8) * size];
  const th = uniform(rng, 0, 2 * Math.PI);
  const r = uniform(rng, d.holeRadius / d.radius + 0.12, maxR) * d.radius;
  return [d.cx + r * Math.cos(th), d.cy + r * Math.sin(th)];
}

function drawScratch(rng: Rng, size: number, clean: CleanRender, mask: Uint8Array): void {
  const scale = size / 96;
  const [cx, cy] = anchor(rng, size, clean, 0.6);
  const length = (clean.disc ? uniform(rng, 0.6, 0.9) * clean.disc.radius : uniform(rng, 0.3, 0.55) * size);
  let th = uniform(rng, 0, Math.PI);
  const bend = uniform(rng, -0.25, 0.25);
  const hw = uniform(rng, 0.9, 1.3) * scale;
  // three gently bent pieces centred on the anchor
  let x = cx - (Math.cos(th) * length) / 2;
  let y = cy - (Math.sin(th) * length) / 2;
  th -= bend;
  for (let k = 0; k < 3; k++) {
    const nx = x + (Math.cos(th) * length) / 3;
    const ny = y + (Math.sin(th) * length) / 3;
    drawSegment(mask, size, size, x, y, nx, ny, hw);
    x = nx;
    y = ny;
    th += bend;
  }
}

function drawSpot(rng: Rng, size: number, clean: CleanRender, mask: Uint8Array): void {
  const scale = size / 96;
  const [cx, cy] = anchor(rng, size, clean, 0.7);
  drawBlob(mask, size, size, cx, cy, uniform(rng, 4.5, 8) * scale, wobble(rng, 3, 0.12));
}

function drawCrack(rng: Rng, size: number, clean: CleanRender, mask: Uint8Array): void {
  const scale = size / 96;
  let [x, y] = anchor(rng, size, clean, 0.55);
  const base = uniform(rng, 0, 2 * Math.PI);
  const steps = randInt(rng, 6, 9);
  const hw = uniform(rng, 0.8, 1.1) * scale;
  for (let k = 0; k < steps; k++) {
    const th = base + uniform(rng, -0.9, 0.9);
    const len = uniform(rng, 3.5, 6.5) * scale;
    const nx = x + Math.cos(th) * len;
    const ny = y + Math.sin(th) * len;
    drawSegment(mask, size, size, x, y, nx, ny, hw);
    if (k === Math.floor(steps / 2)) {
      // one short side branch
      const bt = th + (rng() < 0.5 ? 1 : -1) * uniform(rng, 0.6, 1.2);
      const bl = uniform(rng, 5, 9) * scale;
      drawSegment(mask, size, size, nx, ny, nx + Math.cos(bt) * bl, ny + Math.sin(bt) * bl, hw * 0.8);
    }
    x = nx;
    y = ny;
  }
}

function drawMissing(rng: Rng, size: number, clean: CleanRender, mask: Uint8Array): void {
  const d = clean.disc;
  if (!d) {
    // on a texture: a punched-out hole
    const [cx, cy] = anchor(rng, size, clean);
    drawBlob(mask, size, size, cx, cy, uniform(rng, 6, 9) * (size / 96), wobble(rng, 2, 0.08));
    return;
  }
  // on the part: a chipped bite out of the rim (jagged, unlike the smooth rim of a good part)
  const th = uniform(rng, 0, 2 * Math.PI);
  const r = d.radius * uniform(rng, 0.8, 0.92);
  drawBlob(mask, size, size, d.cx + r * Math.cos(th), d.cy + r * Math.sin(th), d.radius * uniform(rng, 0.34, 0.42), wobble(rng, 4, 0.06));
}

const DRAW: Record<DefectType, (rng: Rng, size: number, clean: CleanRender, mask: Uint8Array) => void> = {
  scratch: drawScratch,
  spot: drawSpot,
  crack: drawCrack,
  missing: drawMissing,
};

/** Colour the defect tends to, per channel (before the minimum-difference rule). */
function targetColour(type: DefectType, clean: CleanRender): number[] {
  const rgb = clean.image.channels === 3;
  switch (type) {
    case 'scratch':
      return rgb ? [245, 243, 236] : [240];
    case 'spot':
      return rgb ? [112, 58, 26] : [28];
    case 'crack':
      return rgb ? [14, 12, 10] : [8];
    case 'missing':
      return clean.disc ? clean.disc.background : rgb ? [16, 16, 16] : [12];
  }
}

/**
 * Draws the mask (0/1) of one defect. On a part, the mask is clipped to the part; a draw that
 * leaves fewer than a few pixels is redrawn from the same stream, so the result stays
 * deterministic and never empty.
 */
export function defectMask(type: DefectType, rng: Rng, clean: CleanRender): Uint8Array {
  const size = clean.image.width;
  const minPixels = Math.max(8, Math.round(12 * (size / 96) ** 2));
  const mask = new Uint8Array(size * size);
  for (let attempt = 0; attempt < 50; attempt++) {
    mask.fill(0);
    DRAW[type](rng, size, clean, mask);
    if (clean.disc) {
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (!isOnDisc(clean.disc, x, y)) mask[y * size + x] = 0;
    }
    if (countOnes(mask) >= minPixels) return mask;
  }
  throw new Error(`could not place a ${type} defect`);
}

/**
 * Repaints the masked pixels (mask 0/1) of a copy of `clean`: towards the defect colour with
 * a little noise, but always at least MIN_DEFECT_DIFF away from the clean value per channel.
 */
export function paintDefect(type: DefectType, rng: Rng, clean: CleanRender, mask: Uint8Array): RasterImage {
  const src = clean.image;
  const out: RasterImage = { ...src, data: src.data.slice() };
  const target = targetColour(type, clean);
  const ch = src.channels;
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] === 0) continue;
    const noise = uniform(rng, -10, 10);
    for (let c = 0; c < ch; c++) {
      const v = src.data[p * ch + c];
      let t = clampByte(target[c] + noise);
      if (Math.abs(t - v) < MIN_DEFECT_DIFF) t = v >= 128 ? v - MIN_DEFECT_DIFF : v + MIN_DEFECT_DIFF;
      out.data[p * ch + c] = t;
    }
  }
  return out;
}
