/**
 * `bgad bench backbones`: ms/image of each available backbone at 256x256 on images from a
 * dataset folder, plus (through the `evaluate` hook, supplied by the BGAD trainer) the
 * fast-preset image and pixel AUROC. Picks the default: accuracy first, then speed, among
 * backbones within the 40 ms/image budget.
 *
 * Timing covers the backbone only (images are decoded and resized beforehand), after a
 * warm-up, at batch 1 and batch 8; the better per-image figure is reported with its batch.
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { AppError } from '../common/errors';
import { loadImageTensor } from '../images/load';
import { writeFileAtomic } from '../fs/atomic-file';
import { FeatureExtractor } from './extractor';
import { FALLBACK_BACKBONE_ID, getBackbone, listBackbones, type BackboneOptions } from './registry';

export const MS_PER_IMAGE_BUDGET = 40;
/** A fast-preset training (with its evaluation) must fit 10 minutes and 4 GB on 2 cores. */
export const TRAIN_MINUTES_BUDGET = 10;
export const TRAIN_PEAK_GB_BUDGET = 4;
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp']);

export interface BackboneBenchEntry {
  id: string;
  msPerImage: number;
  /** Batch size that gave `msPerImage`. */
  batchSize: 1 | 8;
  msPerImageBatch1: number;
  msPerImageBatch8: number;
  imageAuroc: number | null;
  pixelAuroc: number | null;
  /** AUPRO to FPR 0.3 (each defect region counts alike, so small defects weigh as much as large ones); null: not measured. */
  aupro?: number | null;
  /** Wall time of the fast-preset training plus evaluation (null: not measured). */
  trainMinutes?: number | null;
  /** Peak resident memory while training and evaluating, GB (null: not measured). */
  peakGb?: number | null;
}

export interface BackboneBenchResult {
  default: string;
  sizePx: number;
  threads: number;
  images: number;
  backbones: BackboneBenchEntry[];
  /** Backbones that could not be measured, with the reason. */
  skipped: { id: string; reason: string }[];
}

export interface BenchBackbonesOptions extends BackboneOptions {
  dataDir: string;
  /** Images to time (default 16). */
  images?: number;
  /** Write the result here as JSON. */
  json?: string;
  /** ORT intra-op threads (default 2, the reference machine). */
  threads?: number;
  sizePx?: number;
  /** Only these backbone ids (default: every one listed); an unknown id is a BAD_ARGUMENT error. */
  only?: string[];
  /**
   * HOOK for the BGAD trainer: fast-preset image and pixel AUROC of a backbone on `dataDir`,
   * or null when it cannot be evaluated. Without it the AUROC columns are null.
   */
  evaluate?: (backboneId: string) => Promise<{ imageAuroc: number; pixelAuroc: number; aupro?: number | null; trainMinutes?: number | null; peakGb?: number | null } | null>;
  /** Progress lines for the terminal. */
  log?: (line: string) => void;
}

/** Image files under `dir` (sorted, recursive), preferring `train/good` when it exists. */
export function findImages(dir: string, limit: number): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (out.length >= limit) return;
    let entries: string[];
    try {
      entries = readdirSync(d).sort();
    } catch (e) {
      throw new AppError('NOT_FOUND', `Folder ${d} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, { hint: 'Check the --data path.', subject: d, cause: e });
    }
    for (const name of entries) {
      if (out.length >= limit) return;
      if (name.startsWith('.') || name === 'ground_truth') continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) out.push(p);
    }
  };
  const good = join(dir, 'train', 'good');
  let hasGood = false;
  try {
    hasGood = statSync(good).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  walk(hasGood ? good : dir);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function benchBackbones(opts: BenchBackbonesOptions): Promise<BackboneBenchResult> {
  const n = Math.max(1, opts.images ?? 16);
  const sizePx = opts.sizePx ?? 256;
  const threads = opts.threads ?? 2;
  const log = opts.log ?? (() => undefined);
  const paths = findImages(opts.dataDir, n);
  if (paths.length === 0) throw new AppError('BAD_DATASET', `No images found under ${opts.dataDir}.`, { hint: 'Point --data at a dataset folder (e.g. an MVTec category).', subject: opts.dataDir });
  const plane = 3 * sizePx * sizePx;
  const tensors: Float32Array[] = [];
  for (const p of paths) tensors.push((await loadImageTensor(p, sizePx)).chw);
  // Cycle the loaded images so a batch of 8 is always full.
  const batch8 = new Float32Array(8 * plane);
  for (let i = 0; i < 8; i++) batch8.set(tensors[i % tensors.length]!, i * plane);

  const entries: BackboneBenchEntry[] = [];
  const skipped: { id: string; reason: string }[] = [];
  const listed = listBackbones(opts);
  const unknown = (opts.only ?? []).filter((id) => !listed.some((l) => l.id === id));
  if (unknown.length) throw new AppError('BAD_ARGUMENT', `Unknown backbone ${unknown.join(', ')}.`, { hint: `Choose from ${listed.map((l) => l.id).join(', ')} (bgad backbones lists them).` });
  for (const listing of listed.filter((l) => !opts.only || opts.only.includes(l.id))) {
    if (!listing.available) {
      skipped.push({ id: listing.id, reason: listing.reason ?? 'unavailable' });
      log(`${listing.id}: skipped (${listing.reason})`);
      continue;
    }
    const spec = await getBackbone(listing.id, opts);
    const ex = await FeatureExtractor.create(spec, { threads });
    try {
      for (let w = 0; w < 2; w++) await ex.extractBatch(tensors[w % tensors.length]!, 1);
      await ex.extractBatch(batch8, 8);
      const single: number[] = [];
      for (const t of tensors) {
        const t0 = performance.now();
        await ex.extractBatch(t, 1);
        single.push(performance.now() - t0);
      }
      const eights: number[] = [];
      const rounds = Math.max(2, Math.ceil(tensors.length / 8));
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        await ex.extractBatch(batch8, 8);
        eights.push((performance.now() - t0) / 8);
      }
      const b1 = median(single);
      const b8 = median(eights);
      const scores = opts.evaluate ? await opts.evaluate(listing.id) : null;
      const entry: BackboneBenchEntry = {
        id: listing.id,
        msPerImage: Math.min(b1, b8),
        batchSize: b1 <= b8 ? 1 : 8,
        msPerImageBatch1: b1,
        msPerImageBatch8: b8,
        imageAuroc: scores?.imageAuroc ?? null,
        pixelAuroc: scores?.pixelAuroc ?? null,
        aupro: scores?.aupro ?? null,
        trainMinutes: scores?.trainMinutes ?? null,
        peakGb: scores?.peakGb ?? null,
      };
      entries.push(entry);
      log(`${listing.id}: ${entry.msPerImage.toFixed(1)} ms/image (batch ${entry.batchSize}; batch 1 ${b1.toFixed(1)}, batch 8 ${b8.toFixed(1)})` +
        (scores ? `, image AUROC ${scores.imageAuroc.toFixed(3)}, pixel AUROC ${scores.pixelAuroc.toFixed(3)}${typeof scores.aupro === 'number' ? `, AUPRO ${scores.aupro.toFixed(3)}` : ''}` : '') +
        (entry.trainMinutes ? `, training ${entry.trainMinutes.toFixed(1)} min` : '') + (entry.peakGb ? `, peak ${entry.peakGb.toFixed(1)} GB` : ''));
    } finally {
      await ex.dispose();
    }
  }
  const result: BackboneBenchResult = { default: chooseDefault(entries), sizePx, threads, images: paths.length, backbones: entries, skipped };
  if (opts.json) await writeFileAtomic(opts.json, Buffer.from(`${JSON.stringify(result, null, 2)}\n`));
  return result;
}

/**
 * Accuracy first (mean of image AUROC, pixel AUROC and, where measured, AUPRO; differences
 * under 0.005 count as ties), then
 * speed, among backbones within the budgets: 40 ms/image, and where measured a fast-preset
 * training within 10 minutes and 4 GB. Without AUROC figures the built-in default stays
 * (when within budget).
 */
export function chooseDefault(entries: BackboneBenchEntry[]): string {
  const ok = entries.filter((e) => e.msPerImage <= MS_PER_IMAGE_BUDGET && (e.trainMinutes ?? 0) <= TRAIN_MINUTES_BUDGET && (e.peakGb ?? 0) <= TRAIN_PEAK_GB_BUDGET);
  const pool = ok.length ? ok : entries;
  if (pool.length === 0) return FALLBACK_BACKBONE_ID;
  // with AUPRO the mean of the three, so a backbone that wins pixel AUROC on the large defects
  // but finds fewer small ones does not win on localization alone
  const score = (e: BackboneBenchEntry) => (e.imageAuroc === null || e.pixelAuroc === null ? null
    : typeof e.aupro === 'number' ? (e.imageAuroc + e.pixelAuroc + e.aupro) / 3 : (e.imageAuroc + e.pixelAuroc) / 2);
  const scored = pool.filter((e) => score(e) !== null);
  if (scored.length === 0) return pool.find((e) => e.id === FALLBACK_BACKBONE_ID)?.id ?? [...pool].sort((a, b) => a.msPerImage - b.msPerImage)[0]!.id;
  const best = Math.max(...scored.map((e) => score(e)!));
  return scored.filter((e) => score(e)! >= best - 0.005).sort((a, b) => a.msPerImage - b.msPerImage)[0]!.id;
}
