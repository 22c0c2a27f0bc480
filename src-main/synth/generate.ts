/**
 * Writes the synthetic MVTec-layout data set to disk (the test helper behind `bgad synth`):
 *
 *   <outDir>/<category>/train/good/000.png ...        defect-free training images
 *   <outDir>/<category>/train/<type>/train_000.png    known-defect pool (supervised training)
 *   <outDir>/<category>/test/good/000.png ...
 *   <outDir>/<category>/test/<type>/000.png ...
 *   <outDir>/<category>/ground_truth/<type>/<name>_mask.png   0/255 grey, for train and test
 *
 * Images are sizePx square, except the elongated `shaft` (2 * sizePx x sizePx / 2, 4:1).
 *
 * Same seed and size -> byte-identical files. Existing files of the same names are
 * overwritten; nothing else in outDir is touched. Pixels come from the pure modules beside
 * this one; this file only writes PNGs (sharp, fixed settings).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '../common/errors';
import { CATEGORY_SPECS, DEFAULT_SIZE_PX, SYNTH_COUNTS, categorySpec } from './categories';
import { maskFileName, renderSample, sampleFileName, type SampleKey } from './sample';

export { SYNTH_COUNTS, DEFAULT_SIZE_PX } from './categories';

export interface SynthOptions {
  outDir: string;
  seed: number;
  /** Square image side, default 96. */
  sizePx?: number;
  /** Subset of SYNTH_CATEGORIES; default all. */
  categories?: string[];
}

export interface SynthCategoryInfo {
  name: string;
  dir: string;
  isRgb: boolean;
  /** Image size in pixels (every image of a category has the same). */
  width: number;
  height: number;
  defectTypes: string[];
  counts: { trainGood: number; trainDefect: Record<string, number>; testGood: number; testDefect: Record<string, number> };
}

export const SYNTH_CATEGORIES: readonly string[] = CATEGORY_SPECS.map((c) => c.name);

/** Fixed PNG settings: the bytes depend only on the pixels. One channel -> 8-bit grey PNG. */
export function encodePng(data: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  const img = sharp(data, { raw: { width, height, channels } });
  return (channels === 1 ? img.toColourspace('b-w') : img)
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

export async function generateSyntheticDataset(opts: SynthOptions): Promise<{ categories: SynthCategoryInfo[] }> {
  const sizePx = opts.sizePx ?? DEFAULT_SIZE_PX;
  if (!Number.isInteger(sizePx) || sizePx < 32 || sizePx > 1024) {
    throw new AppError('BAD_ARGUMENT', `The image size must be an integer from 32 to 1024 pixels, got ${sizePx}.`);
  }
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) {
    throw new AppError('BAD_ARGUMENT', `The seed must be an integer from 0 to 4294967295, got ${opts.seed}.`);
  }
  const names = opts.categories ?? [...SYNTH_CATEGORIES];
  for (const n of names) {
    if (!categorySpec(n)) {
      throw new AppError('BAD_ARGUMENT', `Unknown synthetic category "${n}".`, { hint: `Choose from: ${SYNTH_CATEGORIES.join(', ')}.` });
    }
  }
  const infos: SynthCategoryInfo[] = [];
  for (const name of names) {
    const spec = categorySpec(name)!;
    const dir = join(opts.outDir, name);
    const jobs: SampleKey[] = [];
    const add = (split: SampleKey['split'], kind: string, count: number) => {
      for (let index = 0; index < count; index++) jobs.push({ category: name, split, kind, index });
    };
    add('train', 'good', SYNTH_COUNTS.trainGood);
    add('test', 'good', SYNTH_COUNTS.testGood);
    const trainDefect: Record<string, number> = {};
    const testDefect: Record<string, number> = {};
    for (const t of spec.defectTypes) {
      add('train', t, SYNTH_COUNTS.trainDefectPerType);
      add('test', t, SYNTH_COUNTS.testDefectPerType);
      trainDefect[t] = SYNTH_COUNTS.trainDefectPerType;
      testDefect[t] = SYNTH_COUNTS.testDefectPerType;
    }
    const folders = new Set(jobs.map((k) => join(dir, k.split, k.kind)));
    for (const t of spec.defectTypes) folders.add(join(dir, 'ground_truth', t));
    for (const f of folders) await mkdir(f, { recursive: true });

    // a few images at a time: sharp encodes on the libuv pool
    let dims = { width: sizePx, height: sizePx };
    const batch = 8;
    for (let b = 0; b < jobs.length; b += batch) {
      await Promise.all(
        jobs.slice(b, b + batch).map(async (key) => {
          const { image, mask } = renderSample(opts.seed, key, sizePx);
          dims = { width: image.width, height: image.height };
          const file = sampleFileName(key);
          await writeFile(join(dir, key.split, key.kind, file), await encodePng(image.data, image.width, image.height, image.channels));
          if (mask) {
            await writeFile(join(dir, 'ground_truth', key.kind, maskFileName(file)), await encodePng(mask, image.width, image.height, 1));
          }
        }),
      );
    }
    infos.push({
      name,
      dir,
      isRgb: spec.isRgb,
      ...dims,
      defectTypes: [...spec.defectTypes],
      counts: { trainGood: SYNTH_COUNTS.trainGood, trainDefect, testGood: SYNTH_COUNTS.testGood, testDefect },
    });
  }
  return { categories: infos };
}
