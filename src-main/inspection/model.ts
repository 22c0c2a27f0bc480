/**
 * Opens a model bundle for inspection: the backbone it was trained with (refused when the
 * local build differs: its features would not be the ones the flows learned), the feature
 * extractor and the calibrated scoring head.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppError, isAppError } from '../common/errors';
import { encodeBundle, type ModelBundle } from '../bgad/bundle';
import { getBackbone, type BackboneSpec } from '../backbones/registry';
import { FeatureExtractor } from '../backbones/extractor';
import { defaultCacheRoot, loadBundle, Scorer } from '../training/pipeline';
import type { ExecutionProviderName } from '../runtime/session';
import { join } from 'node:path';

export interface ModelSource {
  bundle: ModelBundle;
  /** sha256 of the bundle file (of its encoding for an in-memory bundle). */
  sha256: string;
  /** The file it came from; null for an in-memory bundle. */
  file: string | null;
}

export interface RuntimeOptions {
  /** Backbone conversion cache root (`<root>/backbones`); default ./.cache or BGAD_CACHE_DIR. */
  cacheDir?: string;
  threads?: number;
  executionProvider?: ExecutionProviderName;
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sha256Raw = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** Reads a bundle file (BAD_MODEL when unreadable or damaged) or takes an in-memory one. */
export async function readModelSource(model: string | ModelBundle): Promise<ModelSource> {
  if (typeof model !== 'string') return { bundle: model, sha256: sha256Hex(encodeBundle(model, sha256Raw)), file: null };
  const file = resolve(model);
  const bundle = await loadBundle(file);
  return { bundle, sha256: sha256Hex(await readFile(file)), file };
}

/** The backbone the bundle was trained with; BAD_MODEL when it is missing or a different build. */
export async function backboneForBundle(bundle: ModelBundle, cacheDir?: string): Promise<BackboneSpec> {
  const want = bundle.meta.backbone;
  let spec: BackboneSpec;
  try {
    spec = await getBackbone(want.id, { cacheDir: join(cacheDir ?? defaultCacheRoot(), 'backbones') });
  } catch (e) {
    if (isAppError(e)) throw new AppError('BAD_MODEL', `The model needs backbone ${want.id}, which cannot be used here: ${e.message}`, { hint: e.hint ?? 'Train the model again with an available backbone.', cause: e });
    throw e;
  }
  if (spec.sha256 !== want.sha256) {
    throw new AppError('BAD_MODEL', `The model was trained with a different build of backbone ${want.id} (hash ${want.sha256.slice(0, 12)}, here ${spec.sha256.slice(0, 12)}).`, {
      hint: 'Inspect with the installation the model was trained on, or train the model again here.',
    });
  }
  return spec;
}

export interface InspectionModel {
  source: ModelSource;
  spec: BackboneSpec;
  extractor: FeatureExtractor;
  scorer: Scorer;
  inputSize: number;
  dispose(): Promise<void>;
}

export async function openInspectionModel(model: string | ModelBundle | ModelSource, opts: RuntimeOptions = {}): Promise<InspectionModel> {
  const source = typeof model === 'object' && 'bundle' in model ? model : await readModelSource(model);
  const { bundle } = source;
  const spec = await backboneForBundle(bundle, opts.cacheDir);
  const S = bundle.meta.backbone.inputSize;
  const extractor = await FeatureExtractor.create(spec, { threads: opts.threads, executionProvider: opts.executionProvider });
  let scorer: Scorer;
  try {
    const shapes = await extractor.tapShapes(S);
    bundle.meta.levels.forEach((l, k) => {
      const s = shapes[k];
      if (!s || s.channels !== l.channels || s.height !== l.height || s.width !== l.width) {
        throw new AppError('BAD_MODEL', `The model's level ${k} expects ${l.channels}x${l.height}x${l.width} features; backbone ${spec.id} gives ${s ? `${s.channels}x${s.height}x${s.width}` : 'none'}.`, {
          hint: 'Train the model again on this installation.',
        });
      }
    });
    scorer = await Scorer.fromBundle(bundle, { threads: opts.threads, executionProvider: opts.executionProvider });
  } catch (e) {
    await extractor.dispose();
    throw e;
  }
  return {
    source,
    spec,
    extractor,
    scorer,
    inputSize: S,
    async dispose() {
      await scorer.dispose();
      await extractor.dispose();
    },
  };
}
