/**
 * Reads one category in the MVTec AD layout (plus the supervised extension
 * `train/<type>/` of known defects with masks in `ground_truth/<type>/`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { AppError } from '../common/errors';
import type { InspectionArea } from '../bgad/area';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp']);

export interface DefectImage {
  path: string;
  type: string;
  /** `ground_truth/<type>/<name>_mask.png`, or null when the category has no masks. */
  maskPath: string | null;
  split: 'train' | 'test';
}

export interface CategoryData {
  dir: string;
  name: string;
  trainGood: string[];
  trainDefects: DefectImage[];
  testGood: string[];
  testDefects: DefectImage[];
  hasGroundTruth: boolean;
  defectTypes: string[];
  /** The dataset's inspection area (bgad/area.ts), when it has one: training leaves the rest out. */
  inspectionArea?: InspectionArea;
}

function listImages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()) && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => join(dir, f));
}

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()).sort();
}

function maskFor(root: string, type: string, imagePath: string): string | null {
  const stem = basename(imagePath, extname(imagePath));
  for (const ext of ['.png', '.bmp', '.tif', '.tiff']) {
    const p = join(root, 'ground_truth', type, `${stem}_mask${ext}`);
    if (existsSync(p)) return p;
  }
  return null;
}

export function scanCategory(dir: string): CategoryData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AppError('NOT_FOUND', `Data folder ${dir} does not exist.`, { subject: dir, hint: 'Pass the folder of one category, e.g. .../magnetic_tile.' });
  }
  const trainGood = listImages(join(dir, 'train', 'good'));
  if (trainGood.length === 0) {
    throw new AppError('BAD_DATASET', `${dir} has no normal training images in train/good/.`, {
      subject: dir,
      hint: 'Use the MVTec AD layout: <category>/train/good, <category>/test/<type>, <category>/ground_truth/<type>/<name>_mask.png.',
    });
  }
  const hasGroundTruth = existsSync(join(dir, 'ground_truth'));
  const defects = (split: 'train' | 'test'): DefectImage[] =>
    subdirs(join(dir, split)).filter((t) => t !== 'good').flatMap((type) =>
      listImages(join(dir, split, type)).map((path) => ({ path, type, split, maskPath: hasGroundTruth ? maskFor(dir, type, path) : null })));
  const trainDefects = defects('train');
  const testDefects = defects('test');
  const testGood = listImages(join(dir, 'test', 'good'));
  const defectTypes = [...new Set([...trainDefects, ...testDefects].map((d) => d.type))].sort();
  return { dir, name: basename(dir), trainGood, trainDefects, testGood, testDefects, hasGroundTruth, defectTypes };
}
