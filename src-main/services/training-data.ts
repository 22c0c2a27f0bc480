/**
 * What training takes from a dataset: the contract's presets and parameters as the pipeline's
 * config, the image lists of the train and test splits, and the explicit boundary as a score.
 * Pure bookkeeping over the data layer; the training itself runs in the engine host.
 */
import { inRange, PRESET_PIPELINE, rangeText, TRAINING_PARAM_DEFS } from '../common/training-params';
import type { ImageRecord, TrainingParams, TrainingPreset } from '../common/api';
import { AppError } from '../common/errors';
import { NORMALIZER } from '../bgad/loss';
import { fromDataRef } from '../db/files';
import { getDataset } from '../db/datasets';
import { listDefectTypes } from '../db/defect-types';
import { listImages } from '../db/images';
import { listMasks } from '../db/masks';
import type { Store } from '../db/store';
import type { CategoryData, DefectImage } from '../training/dataset';

/** Minimum normal training images: the pipeline holds 8 out for calibration and trains on the rest. */
export const MIN_TRAIN_GOOD = 12;

/** Contract presets -> the pipeline's presets and overrides (the training-parameter table's PRESET_PIPELINE). */
export function presetConfig(preset: TrainingPreset): { preset: 'fast' | 'paper'; overrides: Record<string, number> } {
  const p = PRESET_PIPELINE[preset];
  return { preset: p.preset, overrides: { ...p.overrides } };
}

/** Advanced parameters (contract names) -> the pipeline's TrainConfig overrides, checked against the table. */
export function trainOverrides(p: TrainingParams = {}): Record<string, number> {
  const o: Record<string, number> = {};
  const given = TRAINING_PARAM_DEFS.filter((d) => p[d.key] !== undefined);
  const fixed = given.filter((d) => d.configKey === null).map((d) => d.key);
  if (fixed.length) {
    throw new AppError('BAD_ARGUMENT', `${fixed.join(' and ')} cannot be changed in this version.`, { hint: 'Leave them out; the backbone fixes the input size and the flow depth.' });
  }
  for (const d of given) {
    const value = p[d.key]!;
    if (!inRange(d, value)) throw new AppError('BAD_ARGUMENT', `${d.label} must be ${rangeText(d)}, got ${value}.`, { subject: `params.${d.key}` });
    o[d.configKey!] = value;
  }
  return o;
}

/** Every image of a dataset (keyset pages of 1000). */
export function allImages(store: Store, datasetId: number): ImageRecord[] {
  const out: ImageRecord[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = listImages(store, { datasetId, limit: 1000, cursor, withTotal: false });
    out.push(...(page.items as ImageRecord[]));
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

export interface DatasetCategory {
  category: CategoryData;
  /** Image ids of the frozen test split, by class. */
  testIds: { good: { imageId: number; sha256: string }[]; defect: { imageId: number; sha256: string; type: string }[] };
}

/**
 * The training lists of a dataset: train good = good images in the train split; known
 * defects = defective train-split images with a mask (only the chosen defect types when
 * given); test = the test split. Masks are the lossless PNGs in the data folder.
 */
export function categoryFromDataset(store: Store, datasetId: number, defectTypeIds?: number[]): DatasetCategory {
  const ds = getDataset(store, datasetId);
  const types = listDefectTypes(store, datasetId);
  const typeName = new Map(types.map((t) => [t.id, t.name]));
  const chosen = defectTypeIds?.length ? new Set(defectTypeIds) : null;
  for (const id of defectTypeIds ?? []) if (!typeName.has(id)) throw new AppError('BAD_ARGUMENT', `Defect type #${id} does not belong to dataset "${ds.name}".`);
  const maskOf = (img: ImageRecord): { path: string; type: string } | null => {
    if (img.maskCount === 0) return null;
    const masks = listMasks(store, img.id);
    const m = masks.find((x) => x.defectTypeId === img.defectTypeId) ?? masks[0];
    return m ? { path: fromDataRef(store.layout.root, m.file), type: m.defectType } : null;
  };
  const trainGood: string[] = [];
  const trainDefects: DefectImage[] = [];
  const testGood: string[] = [];
  const testDefects: DefectImage[] = [];
  const testIds: DatasetCategory['testIds'] = { good: [], defect: [] };
  for (const img of allImages(store, datasetId)) {
    if (img.label === 'good' && img.split === 'train') trainGood.push(img.path);
    else if (img.label === 'defect' && img.split === 'train') {
      const m = maskOf(img);
      const typeId = img.defectTypeId ?? (m ? types.find((t) => t.name === m.type)?.id ?? null : null);
      if (m && (!chosen || (typeId !== null && chosen.has(typeId)))) trainDefects.push({ path: img.path, type: m.type, maskPath: m.path, split: 'train' });
    } else if (img.split === 'test' && img.label === 'good') {
      testGood.push(img.path);
      testIds.good.push({ imageId: img.id, sha256: img.sha256 });
    } else if (img.split === 'test' && img.label === 'defect') {
      const m = maskOf(img);
      const type = img.defectType ?? m?.type ?? 'defect';
      testDefects.push({ path: img.path, type, maskPath: m?.path ?? null, split: 'test' });
      testIds.defect.push({ imageId: img.id, sha256: img.sha256, type });
    }
  }
  // evaluation computes pixel metrics only when every defective test image has a mask
  const defectTypes = [...new Set([...trainDefects, ...testDefects].map((d) => d.type))].sort();
  const category: CategoryData = {
    dir: `dataset "${ds.name}"`,
    name: ds.name,
    trainGood,
    trainDefects,
    testGood,
    testDefects,
    hasGroundTruth: testDefects.length > 0 && testDefects.every((d) => d.maskPath),
    defectTypes,
  };
  return { category, testIds };
}

/**
 * The explicit boundary as an anomaly score: the score of a position lying exactly on every
 * level's boundary. Training reports b_n on s = l / NORMALIZER (src-main/bgad/loss.ts); the
 * scoring head maps a per-dimension log-likelihood l to K - sum_k exp(l_k - M_k).
 */
export function boundaryScore(calibration: { levelMax: number[]; mapMax: number }, boundaries: (number | null)[]): number | null {
  if (!boundaries.length || boundaries.some((b) => b === null || !Number.isFinite(b))) return null;
  let sum = 0;
  boundaries.forEach((b, k) => (sum += Math.exp(b! * NORMALIZER - calibration.levelMax[k]!)));
  return calibration.mapMax - sum;
}
