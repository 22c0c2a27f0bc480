/**
 * The model bundle as a file (the format itself is pure: bgad/bundle.ts): saving and loading
 * a `.bgad` file, the hashes that name a model (of the file, and of what decides its scores),
 * and rewriting the threshold in place, the threshold's one home (README "Where the threshold
 * lives"). Training writes bundles here; inspection, export, the engine jobs and the app's
 * model versions read and rewrite them here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppError } from '../common/errors';
import { BundleError, decodeBundle, encodeBundle, scoringPart, withReviewBand, withThreshold, type ModelBundle } from '../bgad/bundle';
import type { ReviewBand } from '../common/records';
import { dataFileErrors } from '../db/files';
import { writeFileAtomic, writeFileAtomicSync } from '../fs/atomic-file';

const sha256Raw = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function saveBundle(path: string, b: ModelBundle): Promise<void> {
  await writeFileAtomic(path, encodeBundle(b, sha256Raw));
}

export async function loadBundle(path: string): Promise<ModelBundle> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new AppError('BAD_MODEL', `Model file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, { subject: path, hint: 'Check the path, or export the model again from the app.' });
  }
  try {
    return decodeBundle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), sha256Raw);
  } catch (e) {
    if (e instanceof BundleError) throw new AppError('BAD_MODEL', `Model file ${path}: ${e.message}.`, { subject: path, hint: 'Use the original .bgad file, or train the model again.' });
    throw e;
  }
}

export interface ModelSource {
  bundle: ModelBundle;
  /** sha256 of the bundle file (of its encoding for an in-memory bundle). */
  sha256: string;
  /** The file it came from; null for an in-memory bundle. */
  file: string | null;
  /** sha256 of what decides the scores (the bundle without its threshold): equal across threshold changes. */
  scoringSha256: string;
}

/** Reads a bundle file (BAD_MODEL when unreadable or damaged) or takes an in-memory one. */
export async function readModelSource(model: string | ModelBundle): Promise<ModelSource> {
  const scoringSha256 = (b: ModelBundle) => sha256Hex(encodeBundle(scoringPart(b), sha256Raw));
  if (typeof model !== 'string') return { bundle: model, sha256: sha256Hex(encodeBundle(model, sha256Raw)), file: null, scoringSha256: scoringSha256(model) };
  const file = resolve(model);
  const bundle = await loadBundle(file);
  return { bundle, sha256: sha256Hex(await readFile(file)), file, scoringSha256: scoringSha256(bundle) };
}

/**
 * Rewrites a model version's bundle file with a new threshold (atomically, synchronously: the
 * app's model versions call it inside the transaction that updates the row), recording the
 * change in its threshold rule (`withThreshold`). A missing or damaged file is refused
 * (BAD_MODEL) and left as it is; an unchanged threshold writes nothing.
 */
export function rewriteBundleThreshold(file: string, threshold: number, versionNumber: number): void {
  const bundle = readForRewrite(file, versionNumber, 'the threshold');
  if (bundle.meta.threshold === threshold) return;
  writeFileAtomicSync(file, encodeBundle(withThreshold(bundle, threshold), sha256Raw), dataFileErrors('the model bundle'));
}

/** A version's bundle read for a rewrite; a missing or damaged file is refused (BAD_MODEL) naming what was not changed. */
function readForRewrite(file: string, versionNumber: number, what: string): ModelBundle {
  try {
    return decodeBundle(readFileSync(file), sha256Raw);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be read (${(e as Error).message})`;
    throw new AppError('BAD_MODEL', `The model file of version ${versionNumber} (${file}) ${why}; ${what} was not changed.`, {
      subject: file,
      hint: 'Restore the file from a backup (bgad db check lists missing files), or train the version again.',
      cause: e,
    });
  }
}

/**
 * Rewrites a model version's bundle file with a review band, or without one (null), as
 * `rewriteBundleThreshold` does for the threshold: atomically, inside the transaction that
 * updates the row; a missing or damaged file is refused; an unchanged band writes nothing.
 */
export function rewriteBundleReviewBand(file: string, band: ReviewBand | null, versionNumber: number): void {
  const bundle = readForRewrite(file, versionNumber, 'the review band');
  const old = bundle.meta.reviewBand ?? null;
  if (old === band || (old && band && old.low === band.low && old.high === band.high)) return;
  writeFileAtomicSync(file, encodeBundle(withReviewBand(bundle, band), sha256Raw), dataFileErrors('the model bundle'));
}
