/**
 * Raster helpers for the synthetic data set: the image type and binary mask shapes (thick
 * segments, jagged polylines, irregular blobs). Masks are Uint8Array of 0/1 here; the
 * writer scales them to 0/255. Pure: no node imports.
 */

export interface RasterImage {
  width: number;
  height: number;
  /** 1 (grey) or 3 (RGB), interleaved. */
  channels: 1 | 3;
  data: Uint8Array;
}

export function newImage(width: number, height: number, channels: 1 | 3): RasterImage {
  return { width, height, channels, data: new Uint8Array(width * height * channels) };
}

export function cloneImage(img: RasterImage): RasterImage {
  return { ...img, data: img.data.slice() };
}

export function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Sets mask to 1 where the distance to segment (x0,y0)-(x1,y1) is <= halfWidth. */
export function drawSegment(mask: Uint8Array, width: number, height: number, x0: number, y0: number, x1: number, y1: number, halfWidth: number): void {
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - halfWidth - 1));
  const maxX = Math.min(width - 1, Math.ceil(Math.max(x0, x1) + halfWidth + 1));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - halfWidth - 1));
  const maxY = Math.min(height - 1, Math.ceil(Math.max(y0, y1) + halfWidth + 1));
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const hw2 = halfWidth * halfWidth;
  for (let y = minY; y <= maxY; y++) {
    for (let x = minX; x <= maxX; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, (px * dx + py * dy) / len2));
      const ex = px - t * dx;
      const ey = py - t * dy;
      if (ex * ex + ey * ey <= hw2) mask[y * width + x] = 1;
    }
  }
}

/** Sets mask to 1 inside a blob whose radius wobbles with the angle. */
export function drawBlob(mask: Uint8Array, width: number, height: number, cx: number, cy: number, radius: number, wobble: readonly { k: number; amp: number; phase: number }[]): void {
  const rMax = radius * (1 + wobble.reduce((a, w) => a + Math.abs(w.amp), 0)) + 1;
  for (let y = Math.max(0, Math.floor(cy - rMax)); y <= Math.min(height - 1, Math.ceil(cy + rMax)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rMax)); x <= Math.min(width - 1, Math.ceil(cx + rMax)); x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const th = Math.atan2(dy, dx);
      let r = radius;
      for (const w of wobble) r += radius * w.amp * Math.sin(w.k * th + w.phase);
      if (dx * dx + dy * dy <= r * r) mask[y * width + x] = 1;
    }
  }
}

export function countOnes(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}
