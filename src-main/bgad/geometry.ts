/**
 * A model's input geometry: the height x width every image is resized to (without keeping its
 * aspect ratio) before the backbone. `square` models use S x S (S = the backbone's
 * `inputSize`); `aspect` models one fixed H x W chosen at training time from the training
 * normals' median aspect ratio, so long thin parts (shafts, magnetic_tile crops) are not
 * squashed and their thin defects keep their shape. Pure.
 */

export interface InputGeometry {
  height: number;
  width: number;
}

/** A size as the callers pass it: a square side in pixels, or height x width. */
export type InputSize = number | InputGeometry;

// the choice and its default live with the other training settings (common/training-params.ts)
export { DEFAULT_GEOMETRY, GEOMETRY_MODES, type GeometryMode } from '../common/training-params';

/** Sides are multiples of this (the backbones' coarsest stride), ... */
export const GEOMETRY_MULTIPLE = 32;
/** ... and the short side is at least this many pixels (at most S). */
export const MIN_GEOMETRY_SIDE = 64;

/** `size` as height x width. */
export function asGeometry(size: InputSize): InputGeometry {
  return typeof size === 'number' ? { height: size, width: size } : size;
}

export function isSquare(g: InputGeometry): boolean {
  return g.height === g.width;
}

/** "256" for a square geometry, "256x64" (height x width) otherwise: a folder name and a cache key. */
export function geometryKey(size: InputSize): string {
  const g = asGeometry(size);
  return isSquare(g) ? String(g.height) : `${g.height}x${g.width}`;
}

/** "224x256 px" (width x height, as image sizes are written). */
export function geometryLabel(size: InputSize): string {
  const g = asGeometry(size);
  return `${g.width}x${g.height} px`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The aspect geometry for images of these aspect ratios (height / width each): the long side
 * is S, the short side S / (long:short ratio of the median aspect) rounded to a multiple of 32
 * and clamped to [64, S]. A 1:4 part at S = 256 gives 256 x 64 (tall) or 64 x 256 (wide).
 */
export function chooseGeometry(aspects: number[], S: number): InputGeometry {
  if (!Number.isInteger(S) || S < MIN_GEOMETRY_SIDE) throw new RangeError(`chooseGeometry: the input size must be an integer of at least ${MIN_GEOMETRY_SIDE}, got ${S}`);
  const ok = aspects.filter((a) => Number.isFinite(a) && a > 0);
  if (!ok.length) throw new RangeError('chooseGeometry: no image aspect ratios to choose from');
  const a = median(ok);
  const ratio = a >= 1 ? a : 1 / a;
  const short = Math.min(S, Math.max(MIN_GEOMETRY_SIDE, Math.round(S / ratio / GEOMETRY_MULTIPLE) * GEOMETRY_MULTIPLE));
  return a >= 1 ? { height: S, width: short } : { height: short, width: S };
}

/** What a bundle records about its input (BundleMeta['backbone']). */
export interface InputRecord {
  inputSize: number;
  inputHeight?: number;
  inputWidth?: number;
}

/** A model's input geometry: its recorded height x width, else (bundles written before aspect models) inputSize x inputSize. */
export function inputGeometry(meta: { backbone: InputRecord }): InputGeometry {
  const b = meta.backbone;
  return b.inputHeight && b.inputWidth ? { height: b.inputHeight, width: b.inputWidth } : { height: b.inputSize, width: b.inputSize };
}
