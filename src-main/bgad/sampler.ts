/**
 * Draws one chunk of positions of one level from the training pool: an image by weight
 * (normal images weight 1; known anomalies and their synthetic copies by their use counts),
 * then a uniform position in it: inside the level's inspection area when there is one
 * (bgad/area.ts), so positions outside never reach the loss. Pure.
 */
import type { Rng } from './rng';
import { asGeometry, type InputSize } from './geometry';

export interface LevelImage {
  /** [C, H*W] planar features of this level. */
  features: Float32Array;
  /** [H*W] 1 = anomalous position, or null for a normal image. */
  mask: Uint8Array | null;
  weight: number;
}

export interface Chunk {
  x: Float32Array;
  row: BigInt64Array;
  col: BigInt64Array;
  mask: Float32Array;
  anomalous: number;
}

export class ChunkSampler {
  private readonly cumAll: Float64Array;
  private readonly normalIdx: number[];
  /** Positions inside the inspection area (null: all positions; then draws are as without an area). */
  private readonly inside: Uint32Array | null;

  /** `area`: the inspection area at this level (height*width, 1 = trained), or null for all positions. */
  constructor(readonly images: LevelImage[], readonly channels: number, readonly height: number, readonly width: number, area: Uint8Array | null = null) {
    if (area) {
      if (area.length !== height * width) throw new Error(`inspection area: ${area.length} cells, expected ${height}x${width}`);
      const inside: number[] = [];
      for (let i = 0; i < area.length; i++) if (area[i]) inside.push(i);
      if (!inside.length) throw new Error(`the inspection area covers no position of the ${height}x${width} level`);
      this.inside = Uint32Array.from(inside);
    } else {
      this.inside = null;
    }
    this.cumAll = new Float64Array(images.length);
    let acc = 0;
    images.forEach((im, i) => {
      if (im.features.length !== channels * height * width) throw new Error(`image ${i}: ${im.features.length} features, expected ${channels}x${height}x${width}`);
      acc += im.weight;
      this.cumAll[i] = acc;
    });
    this.normalIdx = images.map((im, i) => (im.mask ? -1 : i)).filter((i) => i >= 0);
    if (this.normalIdx.length === 0) throw new Error('no normal image to train on');
  }

  private pickWeighted(rng: Rng): number {
    const total = this.cumAll[this.cumAll.length - 1]!;
    const r = rng.next() * total;
    let lo = 0, hi = this.cumAll.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumAll[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** `normalOnly` draws from normal images only (boundary generation phase). */
  sample(n: number, rng: Rng, normalOnly: boolean, out?: Chunk): Chunk {
    const C = this.channels, HW = this.height * this.width;
    const c: Chunk = out ?? { x: new Float32Array(n * C), row: new BigInt64Array(n), col: new BigInt64Array(n), mask: new Float32Array(n), anomalous: 0 };
    c.anomalous = 0;
    for (let i = 0; i < n; i++) {
      const idx = normalOnly ? this.normalIdx[rng.int(this.normalIdx.length)]! : this.pickWeighted(rng);
      const im = this.images[idx]!;
      const pos = this.inside ? this.inside[rng.int(this.inside.length)]! : rng.int(HW);
      const f = im.features;
      const base = i * C;
      for (let ch = 0; ch < C; ch++) c.x[base + ch] = f[ch * HW + pos]!;
      c.row[i] = BigInt(Math.floor(pos / this.width));
      c.col[i] = BigInt(pos % this.width);
      const m = im.mask ? im.mask[pos]! : 0;
      c.mask[i] = m;
      c.anomalous += m;
    }
    return c;
  }
}

/**
 * Brings a full-size 0/1 mask (size x size, or the input's height x width) to a level:
 * 'nearest' samples one pixel per cell (as published); 'any' marks a cell anomalous when any
 * pixel of its block is (tiny defects such as pinholes can fall between the nearest samples at
 * stride 16).
 */
export function maskToLevel(mask: Uint8Array, size: InputSize, height: number, width: number, mode: 'nearest' | 'any' = 'nearest'): Uint8Array {
  const { height: MH, width: MW } = asGeometry(size);
  if (mode === 'any') return maskToLevelAny(mask, MH, MW, height, width);
  const out = new Uint8Array(height * width);
  for (let r = 0; r < height; r++) {
    const sr = Math.min(MH - 1, Math.floor((r * MH) / height));
    for (let c = 0; c < width; c++) {
      const sc = Math.min(MW - 1, Math.floor((c * MW) / width));
      out[r * width + c] = mask[sr * MW + sc]! ? 1 : 0;
    }
  }
  return out;
}

function maskToLevelAny(mask: Uint8Array, MH: number, MW: number, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let r = 0; r < height; r++) {
    const r0 = Math.floor((r * MH) / height), r1 = Math.max(r0 + 1, Math.floor(((r + 1) * MH) / height));
    for (let c = 0; c < width; c++) {
      const c0 = Math.floor((c * MW) / width), c1 = Math.max(c0 + 1, Math.floor(((c + 1) * MW) / width));
      let any = 0;
      for (let y = r0; y < r1 && !any; y++) for (let x = c0; x < c1; x++) if (mask[y * MW + x]) { any = 1; break; }
      out[r * width + c] = any;
    }
  }
  return out;
}
