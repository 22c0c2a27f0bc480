/**
 * One synthetic sample, from (seed, category, split, kind, index) alone: its clean image, the
 * defective image and the defect mask. The clean image and the defect draw from separate
 * streams, so a test can re-render the clean image and compare. Pure: no node imports.
 */
import { hashString, mulberry32 } from './prng';
import { categorySpec, type CategorySpec } from './categories';
import { defectMask, paintDefect, type DefectType } from './defects';
import type { RasterImage } from './raster';
import type { CleanRender } from './textures';

export type Split = 'train' | 'test';

export interface SampleKey {
  category: string;
  split: Split;
  /** 'good' or a defect type. */
  kind: string;
  index: number;
}

export interface Sample {
  image: RasterImage;
  /** 0/255 per pixel, or null for a good image. */
  mask: Uint8Array | null;
}

export function sampleSeed(seed: number, key: SampleKey): number {
  return hashString(`${seed >>> 0}|${key.category}|${key.split}|${key.kind}|${key.index}`);
}

function specOf(name: string): CategorySpec {
  const spec = categorySpec(name);
  if (!spec) throw new RangeError(`unknown synthetic category "${name}"`);
  return spec;
}

/** The defect-free image a sample starts from (for a good sample, the image itself). */
export function renderClean(seed: number, key: SampleKey, sizePx: number): CleanRender {
  return specOf(key.category).render(mulberry32(sampleSeed(seed, key)), sizePx);
}

export function renderSample(seed: number, key: SampleKey, sizePx: number): Sample {
  const spec = specOf(key.category);
  const clean = spec.render(mulberry32(sampleSeed(seed, key)), sizePx);
  if (key.kind === 'good') return { image: clean.image, mask: null };
  if (!spec.defectTypes.includes(key.kind as DefectType)) {
    throw new RangeError(`category "${key.category}" has no defect type "${key.kind}"`);
  }
  const type = key.kind as DefectType;
  const rng = mulberry32(sampleSeed(seed, key) ^ 0x9e3779b9);
  const mask01 = defectMask(type, rng, clean);
  const image = paintDefect(type, rng, clean, mask01);
  const mask = new Uint8Array(mask01.length);
  for (let i = 0; i < mask.length; i++) mask[i] = mask01[i] ? 255 : 0;
  return { image, mask };
}

/**
 * File name of a sample inside `<split>/<kind>/`. Test and good images are `000.png`...;
 * the known-defect pool in train/<type> is `train_000.png`..., so that masks of both splits
 * can share ground_truth/<type>/ with unique names.
 */
export function sampleFileName(key: Pick<SampleKey, 'split' | 'kind' | 'index'>): string {
  const n = String(key.index).padStart(3, '0');
  return key.split === 'train' && key.kind !== 'good' ? `train_${n}.png` : `${n}.png`;
}

export function maskFileName(imageFileName: string): string {
  return imageFileName.replace(/\.png$/, '_mask.png');
}
