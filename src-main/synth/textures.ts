/**
 * Clean (defect-free) images of each synthetic category: procedural textures and a part on
 * a plain background. Every call draws from its own seeded stream, so the same stream gives
 * the same pixels. Pure: no node imports.
 */
import { uniform, type Rng } from './prng';
import { clampByte, newImage, type RasterImage } from './raster';

/** Where a round part lies, for defects that must stay on it. */
export interface DiscGeometry {
  cx: number;
  cy: number;
  radius: number;
  holeRadius: number;
  /** Mean background colour (one entry per channel). */
  background: number[];
}

/** Where a long part (a shaft lying along the image's width) lies: rows top..bottom. */
export interface ShaftGeometry {
  top: number;
  bottom: number;
}

export interface CleanRender {
  image: RasterImage;
  /** The part, when the category is an object on a background. */
  disc?: DiscGeometry;
  /** The part, when the category is a long shaft on a background. */
  shaft?: ShaftGeometry;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** A woven grid: alternating over/under threads with shaded crowns and dark gaps (grey). */
export function renderWovenGrid(rng: Rng, size: number): CleanRender {
  const scale = size / 96;
  const img = newImage(size, size, 1);
  const period = uniform(rng, 10.5, 12) * scale;
  const phaseX = uniform(rng, 0, period);
  const phaseY = uniform(rng, 0, period);
  const base = uniform(rng, 140, 160);
  const gap = 0.14;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const gx = (x + 0.5 + phaseX) / period;
      const gy = (y + 0.5 + phaseY) / period;
      const cx = Math.floor(gx);
      const cy = Math.floor(gy);
      const u = gx - cx;
      const v = gy - cy;
      let val: number;
      if (u < gap && v < gap) val = base - 75;
      else if ((cx + cy) % 2 === 0) val = v < gap ? base - 60 : base - 25 + 45 * Math.sin((Math.PI * (v - gap)) / (1 - gap));
      else val = u < gap ? base - 60 : base - 30 + 45 * Math.sin((Math.PI * (u - gap)) / (1 - gap));
      img.data[y * size + x] = clampByte(val + uniform(rng, -6, 6));
    }
  }
  return { image: img };
}

/** Smooth value noise on a lattice of `cell` pixels, in [-1, 1]. */
function valueNoise(rng: Rng, size: number, cell: number): Float32Array {
  const n = Math.ceil(size / cell) + 2;
  const lattice = new Float32Array(n * n);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng() * 2 - 1;
  const ox = rng() * cell;
  const oy = rng() * cell;
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = (y + oy) / cell;
    const iy = Math.floor(fy);
    const ty = smooth(fy - iy);
    for (let x = 0; x < size; x++) {
      const fx = (x + ox) / cell;
      const ix = Math.floor(fx);
      const tx = smooth(fx - ix);
      const a = lattice[iy * n + ix];
      const b = lattice[iy * n + ix + 1];
      const c = lattice[(iy + 1) * n + ix];
      const d = lattice[(iy + 1) * n + ix + 1];
      out[y * size + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return out;
}

/** A fine grain, like leather or sand-blasted metal: two octaves of value noise plus pixel noise (grey). */
export function renderGrain(rng: Rng, size: number): CleanRender {
  const scale = size / 96;
  const img = newImage(size, size, 1);
  const coarse = valueNoise(rng, size, 14 * scale);
  const fine = valueNoise(rng, size, 4 * scale);
  const base = uniform(rng, 120, 136);
  for (let i = 0; i < size * size; i++) {
    img.data[i] = clampByte(base + 22 * coarse[i] + 16 * fine[i] + uniform(rng, -8, 8));
  }
  return { image: img };
}

/** Soft diagonal stripes of two fabric colours with a slight angle jitter (RGB). */
export function renderStripes(rng: Rng, size: number): CleanRender {
  const scale = size / 96;
  const img = newImage(size, size, 3);
  const angle = 0.6 + uniform(rng, -0.08, 0.08);
  const period = uniform(rng, 13, 15) * scale;
  const phase = uniform(rng, 0, period);
  const ca = [70, 100, 150].map((c) => c + uniform(rng, -8, 8));
  const cb = [200, 185, 150].map((c) => c + uniform(rng, -8, 8));
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = ((x + 0.5) * dx + (y + 0.5) * dy + phase) / period;
      const w = smooth(Math.min(1, Math.max(0, 0.5 + 1.6 * Math.sin(2 * Math.PI * s))));
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) img.data[o + c] = clampByte(ca[c] + (cb[c] - ca[c]) * w + uniform(rng, -5, 5));
    }
  }
  return { image: img };
}

/** Whether a pixel centre lies on the part (inside the rim, outside the hole). */
export function isOnDisc(g: DiscGeometry, x: number, y: number): boolean {
  const r = Math.hypot(x + 0.5 - g.cx, y + 0.5 - g.cy);
  return r <= g.radius && r >= g.holeRadius;
}

/** A machined washer-like part (shaded metal, a groove, a centre hole) on a plain dark background (RGB). */
export function renderDisc(rng: Rng, size: number): CleanRender {
  const scale = size / 96;
  const img = newImage(size, size, 3);
  const background = [48, 54, 66].map((c) => c + uniform(rng, -4, 4));
  const metal = [190, 180, 160].map((c) => c + uniform(rng, -6, 6));
  const g: DiscGeometry = {
    cx: size / 2 + uniform(rng, -3, 3) * scale,
    cy: size / 2 + uniform(rng, -3, 3) * scale,
    radius: size * 0.36 + uniform(rng, -1.5, 1.5) * scale,
    holeRadius: 0,
    background,
  };
  g.holeRadius = g.radius * 0.2;
  const light = uniform(rng, 0, 2 * Math.PI);
  const lx = Math.cos(light);
  const ly = Math.sin(light);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      const dx = (x + 0.5 - g.cx) / g.radius;
      const dy = (y + 0.5 - g.cy) / g.radius;
      const r = Math.hypot(dx, dy);
      const isMetal = isOnDisc(g, x, y);
      let shade = 1;
      if (isMetal) {
        shade = 1 - 0.18 * r * r + 0.1 * (dx * lx + dy * ly);
        if (r > 0.6 && r < 0.67) shade *= 0.72;
      }
      for (let c = 0; c < 3; c++) {
        const v = isMetal ? metal[c] * shade + uniform(rng, -4, 4) : background[c] + uniform(rng, -3, 3);
        img.data[o + c] = clampByte(v);
      }
    }
  }
  return { image: img, disc: g };
}

/** Whether a pixel centre lies on the shaft. */
export function isOnShaft(g: ShaftGeometry, y: number): boolean {
  return y + 0.5 >= g.top && y + 0.5 <= g.bottom;
}

/**
 * A turned steel shaft lying along the image on a dark background (grey), about 4:1: the
 * image is 2 * size wide and size / 2 high (as many pixels as a square category). Cylindrical
 * shading across it, a highlight band, fine lathe marks along it and a shoulder groove.
 */
export function renderShaft(rng: Rng, size: number): CleanRender {
  const width = 2 * size;
  const height = Math.max(8, Math.round(size / 2));
  const img = newImage(width, height, 1);
  const background = uniform(rng, 36, 48);
  const metal = uniform(rng, 150, 170);
  const mid = height / 2 + uniform(rng, -0.04, 0.04) * height;
  const half = height * uniform(rng, 0.33, 0.36);
  const g: ShaftGeometry = { top: mid - half, bottom: mid + half };
  const highlight = uniform(rng, -0.35, -0.2);
  const lathe = uniform(rng, 2.6, 3.4) * (size / 96);
  const latheAmp = uniform(rng, 3, 5);
  const groove = uniform(rng, 0.15, 0.25) * width;
  const grooveW = 2.5 * (size / 96);
  for (let y = 0; y < height; y++) {
    const v = (y + 0.5 - mid) / half; // -1..1 across the shaft
    for (let x = 0; x < width; x++) {
      if (!isOnShaft(g, y)) {
        img.data[y * width + x] = clampByte(background + uniform(rng, -3, 3));
        continue;
      }
      let val = metal * (1 - 0.35 * v * v) + 40 * Math.exp(-(((v - highlight) / 0.18) ** 2));
      val += latheAmp * Math.sin((2 * Math.PI * (x + 0.5)) / lathe);
      if (Math.abs(x + 0.5 - groove) < grooveW) val *= 0.7;
      img.data[y * width + x] = clampByte(val + uniform(rng, -4, 4));
    }
  }
  return { image: img, shaft: g };
}
