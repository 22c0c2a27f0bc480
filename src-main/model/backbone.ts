/**
 * The one "opened with the backbone it was trained with" check: a model's flows learned the
 * features of one build of one backbone (id and sha256 in the bundle); any other build gives
 * other features, so it is refused rather than scored wrongly. Evaluation, the engine's
 * scoring jobs, inspection and export all open the backbone of a bundle here.
 */
import { join } from 'node:path';
import { AppError, isAppError } from '../common/errors';
import type { ModelBundle } from '../bgad/bundle';
import { getBackbone, type BackboneSpec } from '../backbones/registry';
import { defaultCacheRoot } from '../db/paths';

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
