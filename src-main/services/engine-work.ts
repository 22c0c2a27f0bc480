/**
 * Helpers of the engine-backed methods (training.start, models.histogram/export,
 * inspection.inspectImage/startBatch/exportReport): the engine or UNAVAILABLE, the model
 * file of a version, the files an export writes, the runtime settings of a job.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, existsSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join } from 'node:path';
import type { ModelVersion } from '../common/api';
import { AppError } from '../common/errors';
import { fromDataRef } from '../db/files';
import { getDataset } from '../db/datasets';
import { getActiveModelVersion, getModelVersion, syncBundleThreshold } from '../db/model-versions';
import type { Store } from '../db/store';
import { rewriteBundleThreshold } from '../model/bundle-file';
import type { EngineRunner, RuntimeSettings, ServiceContext } from './context';

/** A data-folder-relative reference as an absolute path (what fileUrl needs). */
export function absolute(dataDir: string, ref: string): string {
  return isAbsolute(ref) ? ref : join(dataDir, ref);
}

/** The runtime settings of an engine job (threads 0 = the engine's default). */
export async function runtimeOf(ctx: Pick<ServiceContext, 'runtime'>): Promise<Partial<RuntimeSettings>> {
  const r = await ctx.runtime?.();
  return r ? { threads: r.threads > 0 ? r.threads : undefined, executionProvider: r.executionProvider } : {};
}

export function bundlePath(store: Store, mv: ModelVersion): string {
  if (!mv.bundleFile) throw new AppError('BAD_MODEL', `Model version ${mv.number} has no saved model file.`, { hint: 'Train the model again.' });
  const p = fromDataRef(store.layout.root, mv.bundleFile);
  if (!existsSync(p)) throw new AppError('BAD_MODEL', `The model file of version ${mv.number} is missing (${p}).`, { hint: 'Restore the data folder from a backup, or train again.', subject: p });
  syncBundleThreshold(store, mv.id, rewriteBundleThreshold);
  return p;
}

export function needEngine(engine: EngineRunner | undefined, what: string): EngineRunner {
  if (!engine) throw new AppError('UNAVAILABLE', `${what} needs the engine process, which this server was started without.`, { hint: 'Start the app with "bgad serve" or the desktop app.' });
  return engine;
}

export function fileExists(out: string): AppError {
  return new AppError('CONFLICT', `The file ${out} already exists.`, { subject: out, hint: 'Choose another name, or confirm that it may be overwritten.' });
}

/**
 * The file an export writes (the extension added when missing): its folder must exist, a
 * folder there is refused, and an existing file only with `overwrite`.
 */
export function checkOutFile(outPath: string, ext: string, overwrite: boolean): string {
  if (!isAbsolute(outPath)) throw new AppError('BAD_ARGUMENT', `Give the full path of the file to write, e.g. /home/me/model.${ext}.`, { subject: outPath });
  const out = extname(outPath).toLowerCase() === `.${ext}` ? outPath : `${outPath}.${ext}`;
  const dir = dirname(out);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new AppError('NOT_FOUND', `The folder ${dir} does not exist.`, { subject: dir, hint: 'Create the folder first or choose another one.' });
  const st = statSync(out, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new AppError('BAD_ARGUMENT', `${out} is a folder; give the path of a file.`, { subject: out });
  if (st && !overwrite) throw fileExists(out);
  return out;
}

/** Copies `from` to `to`, failing (CONFLICT) where `to` exists unless `overwrite`: no window between check and write. */
export async function copyOut(from: string, to: string, overwrite: boolean): Promise<void> {
  try {
    await copyFile(from, to, overwrite ? 0 : fsConstants.COPYFILE_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw fileExists(to);
    throw e;
  }
}

export function readScores(metrics: Record<string, unknown>): { normal: number[]; defect: number[] } | null {
  const s = metrics.testScores as { normal?: unknown; defect?: unknown } | undefined;
  if (!s || !Array.isArray(s.normal) || !Array.isArray(s.defect)) return null;
  return { normal: s.normal as number[], defect: s.defect as number[] };
}

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The model version a call names, or the dataset's active one. */
export function modelFor(store: Store, args: { modelId?: number; datasetId?: number }): ModelVersion {
  if (args.modelId !== undefined) return getModelVersion(store, args.modelId);
  if (args.datasetId === undefined) throw new AppError('BAD_ARGUMENT', 'Choose a model version or a dataset (its active model is used).', { subject: 'args.modelId' });
  const active = getActiveModelVersion(store, args.datasetId);
  if (!active) throw new AppError('NOT_FOUND', `Dataset "${getDataset(store, args.datasetId).name}" has no active model.`, { hint: 'Activate a model version in the Models view, or train one.' });
  return active;
}
