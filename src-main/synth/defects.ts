/**
 * Defect masks and painting. A defect is first drawn as a binary mask; then exactly the
 * masked pixels are repainted, each channel moved by at least MIN_DEFECT_DIFF from the
 * clean value, so "pixels changed by the defect" == "mask" holds exactly.
 * Pure: no node imports.
 */
import { randInt, uniform, type Rng } from './prng';
import { clampByte, countOnes, drawBlob, drawSegment, type RasterImage } from './raster';
import { isOnDisc, isOnShaft, type CleanRender, type ShaftGeometry } from './textures';

export const DEFECT_TYPES = ['scratch', 'spot', 'crack', 'missing'] as const;
export type DefectType = (typeof DEFECT_TYPES)[number];

/** Every channel of every masked pixel differs from the clean image by at least this much. */
export const MIN_DEFECT_DIFF = 45;

function wobble(rng: Rng, n: number, amp: number) {
  return Array.from({ length: n }, (_, i) => ({ k: i + 2, amp: uniform(rng, 0, amp), phase: uniform(rng, 0, 2 * Math.PI) }));
}

/** Pixels per pixel of the 96 px design size (a shaft is 2 * size wide). */
function unitOf(w: number, clean: CleanRender): number {
  return clean.shaft ? w / 192 : w / 96;
}

/** A point where a defect may start: anywhere away from the border, or on the part. */
function anchor(rng: Rng, w: number, h: number, clean: CleanRender, maxR = 0.75): [number, number] {
  const d = clean.disc;
  const sh = clean.shaft;
  if (sh) return [uniform(rng, 0.15, 0.85) * w, uniform(rng, sh.top + 2, sh.bottom - 2)];
  if (!d) return [uniform(rng, 0.2, 0.8) * w, uniform(rng, 0.2, 0.8) * h];
  const th = uniform(rng, 0, 2 * Math.PI);
  const r = uniform(rng, d.holeRadius / d.radius + 0.12, maxR) * d.radius;
  return [d.cx + r * Math.cos(th), d.cy + r * Math.sin(th)];
}

/** On a shaft: a long thin scratch along its axis (a third to two thirds of its length, 1-2 px wide at 96). */
function drawLongScratch(rng: Rng, w: number, h: number, sh: ShaftGeometry, mask: Uint8Array): void {
  const unit = w / 192;
  const length = uniform(rng, 0.3, 0.65) * w;
  const x0 = uniform(rng, 0.05 * w, 0.95 * w - length);
  const y0 = uniform(rng, sh.top + 0.2 * (sh.bottom - sh.top), sh.bottom - 0.2 * (sh.bottom - sh.top));
  const tilt = uniform(rng, -0.03, 0.03);
  const hw = uniform(rng, 0.6, 0.9) * unit;
  const bend = uniform(rng, -1, 1) * unit;
  // two pieces, slightly bent, as a tool dragged along the part leaves
  const xm = x0 + length / 2, ym = y0 + Math.tan(tilt) * (length / 2) + bend;
  drawSegment(mask, w, h, x0, y0, xm, ym, hw);
  drawSegment(mask, w, h, xm, ym, x0 + length, y0 + Math.tan(tilt) * length, hw);
}

function drawScratch(rng: Rng, w: number, h: number, clean: CleanRender, mask: Uint8Array): void {
  if (clean.shaft) return drawLongScratch(rng, w, h, clean.shaft, mask);
  const scale = unitOf(w, clean);
  const [cx, cy] = anchor(rng, w, h, clean, 0.6);
  const length = (clean.disc ? uniform(rng, 0.6, 0.9) * clean.disc.radius : uniform(rng, 0.3, 0.55) * w);
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
    drawSegment(mask, w, h, x, y, nx, ny, hw);
    x = nx;
    y = ny;
    th += bend;
  }
}

function drawSpot(rng: Rng, w: number, h: number, clean: CleanRender, mask: Uint8Array): void {
  const scale = unitOf(w, clean);
  const [cx, cy] = anchor(rng, w, h, clean, 0.7);
  drawBlob(mask, w, h, cx, cy, uniform(rng, 4.5, 8) * scale, wobble(rng, 3, 0.12));
}

function drawCrack(rng: Rng, w: number, h: number, clean: CleanRender, mask: Uint8Array): void {
  const scale = unitOf(w, clean);
  let [x, y] = anchor(rng, w, h, clean, 0.55);
  const base = uniform(rng, 0, 2 * Math.PI);
  const steps = randInt(rng, 6, 9);
  const hw = uniform(rng, 0.8, 1.1) * scale;
  for (let k = 0; k < steps; k++) {
    const th = base + uniform(rng, -0.9, 0.9);
    const len = uniform(rng, 3.5, 6.5) * scale;
    const nx = x + Math.cos(th) * len;
    const ny = y + Math.sin(th) * len;
    drawSegment(mask, w, h, x, y, nx, ny, hw);
    if (k === Math.floor(steps / 2)) {
      // one short side branch
      const bt = th + (rng() < 0.5 ? 1 : -1) * uniform(rng, 0.6, 1.2);
      const bl = uniform(rng, 5, 9) * scale;
      drawSegment(mask, w, h, nx, ny, nx + Math.cos(bt) * bl, ny + Math.sin(bt) * bl, hw * 0.8);
    }
    x = nx;
    y = ny;
  }
}

function drawMissing(rng: Rng, w: number, h: number, clean: CleanRender, mask: Uint8Array): void {
  const d = clean.disc;
  if (!d) {
    // on a texture: a punched-out hole
    const [cx, cy] = anchor(rng, w, h, clean);
    drawBlob(mask, w, h, cx, cy, uniform(rng, 6, 9) * unitOf(w, clean), wobble(rng, 2, 0.08));
    return;
  }
  // on the part: a chipped bite out of the rim (jagged, unlike the smooth rim of a good part)
  const th = uniform(rng, 0, 2 * Math.PI);
  const r = d.radius * uniform(rng, 0.8, 0.92);
  drawBlob(mask, w, h, d.cx + r * Math.cos(th), d.cy + r * Math.sin(th), d.radius * uniform(rng, 0.34, 0.42), wobble(rng, 4, 0.06));
}

const DRAW: Record<DefectType, (rng: Rng, w: number, h: number, clean: CleanRender, mask: Uint8Array) => void> = {
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
  const { width: w, height: h } = clean.image;
  const minPixels = Math.max(8, Math.round(12 * unitOf(w, clean) ** 2));
  const mask = new Uint8Array(w * h);
  for (let attempt = 0; attempt < 50; attempt++) {
    mask.fill(0);
    DRAW[type](rng, w, h, clean, mask);
    if (clean.disc) {
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (!isOnDisc(clean.disc, x, y)) mask[y * w + x] = 0;
    }
    if (clean.shaft) {
      for (let y = 0; y < h; y++) if (!isOnShaft(clean.shaft, y)) mask.fill(0, y * w, (y + 1) * w);
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
