/**
 * The Training view's "Input shape" through browser mode and the engine's worker: a dataset of
 * 4:1 shafts trained with geometry 'aspect' gives a version whose bundle has a 64 x 256 input,
 * whose config says so, and whose retrain (review loop) keeps it. Needs the built engine
 * worker (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../src-main/common/api';
import { getModelVersion } from '../../src-main/db/model-versions';
import { fromDataRef } from '../../src-main/db/files';
import { loadBundle } from '../../src-main/model/bundle-file';
import type { ApiClient } from '../../src-renderer/lib/api-client';
import { hasEngineWorker, jobEnd, servedSyntheticCategory, type ServedCategory } from './served-engine';

let fx: ServedCategory;
let api: ApiClient;
let store: ServedCategory['store'];
let category: string;
const hasWorker = hasEngineWorker;

const waitFor = (jobId: string): Promise<ApiEvent> => jobEnd(api, jobId);

beforeAll(async () => {
  fx = await servedSyntheticCategory('bgad-aspect-train-', { seed: 4, category: 'shaft' });
  ({ api, store, category } = fx);
}, 120_000);

afterAll(() => fx?.cleanup());

describe.skipIf(!hasWorker)('training with the aspect input shape', () => {
  it('records the 64 x 256 input in the new version, and the retrained version keeps it', async () => {
    const ds = await api.datasets.create({ name: 'Shafts' });
    expect((await waitFor((await api.datasets.importFolder({ datasetId: ds.id, folder: category })).jobId)).type).toBe('result');
    const started = await api.training.start({ datasetId: ds.id, preset: 'fast', backboneId: 'mobilenetv2', params: { steps: 6 }, geometry: 'aspect' });
    const end = await waitFor(started.jobId);
    expect(end, JSON.stringify(end)).toMatchObject({ type: 'result' });
    const [version] = await api.models.list({ datasetId: ds.id });
    expect((version!.config as { geometry: unknown }).geometry).toBe('aspect');
    const bundle = await loadBundle(fromDataRef(store.layout.root, getModelVersion(store, version!.id).bundleFile!));
    expect(bundle.meta.backbone).toMatchObject({ inputSize: 256, inputHeight: 64, inputWidth: 256 });
    expect(bundle.meta.levels[0]).toMatchObject({ height: 16, width: 64 });

    const again = await api.review.retrain({ modelId: version!.id });
    expect((await waitFor(again.jobId)).type).toBe('result');
    const next = (await api.models.list({ datasetId: ds.id })).find((v) => v.id !== version!.id)!;
    const nextBundle = await loadBundle(fromDataRef(store.layout.root, getModelVersion(store, next.id).bundleFile!));
    expect(nextBundle.meta.backbone).toMatchObject({ inputHeight: 64, inputWidth: 256 });
  }, 300_000);

  it('refuses an unknown input shape, naming the field', async () => {
    const ds = (await api.datasets.list())[0]!;
    await expect(api.training.start({ datasetId: ds.id, preset: 'fast', backboneId: 'mobilenetv2', geometry: 'round' as 'square' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('geometry') });
  });
});
