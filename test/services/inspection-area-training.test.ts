/**
 * Training from a dataset with an inspection area, through browser mode and the engine's
 * worker: the new model version records the area it was trained with (its bundle carries it,
 * its config says so), and changing the dataset's area afterwards leaves that version as it is
 * (the change is the next training's). Needs the built engine worker (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../src-main/common/api';
import { areaAt } from '../../src-main/common/inspection-area';
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
  fx = await servedSyntheticCategory('bgad-area-train-', { seed: 4, category: 'grain' });
  ({ api, store, category } = fx);
}, 120_000);

afterAll(() => fx?.cleanup());

describe.skipIf(!hasWorker)('training with the dataset\'s inspection area', () => {
  it('records the area in the new version, which keeps it when the area changes later', async () => {
    const ds = await api.datasets.create({ name: 'Grain area' });
    expect((await waitFor((await api.datasets.importFolder({ datasetId: ds.id, folder: category })).jobId)).type).toBe('result');
    // the upper 60 % of every image, painted at 30 x 20
    const area = { width: 30, height: 20, pixels: Uint8Array.from({ length: 600 }, (_, i) => (Math.floor(i / 30) < 12 ? 1 : 0)) };
    const info = (await api.datasets.setInspectionArea({ datasetId: ds.id, area }))!;
    const started = await api.training.start({ datasetId: ds.id, preset: 'fast', backboneId: 'mobilenetv2', params: { steps: 20 } });
    const end = await waitFor(started.jobId);
    expect(end, JSON.stringify(end)).toMatchObject({ type: 'result' });
    const [version] = await api.models.list({ datasetId: ds.id });
    expect((version!.config as { inspectionArea: unknown }).inspectionArea).toEqual({ width: 30, height: 20, fraction: 0.6, sha256: info.sha256 });

    const file = fromDataRef(store.layout.root, getModelVersion(store, version!.id).bundleFile!);
    const bundle = await loadBundle(file);
    const S = bundle.meta.backbone.inputSize;
    expect(bundle.inspectionArea).toBeDefined();
    expect(Array.from(bundle.inspectionArea!.pixels)).toEqual(Array.from(areaAt(area, S, S)));

    // a later change is the next training's: the version and its file stay as they were
    await api.datasets.setInspectionArea({ datasetId: ds.id, area: null });
    const again = await loadBundle(file);
    expect(Array.from(again.inspectionArea!.pixels)).toEqual(Array.from(bundle.inspectionArea!.pixels));
    expect(((await api.models.list({ datasetId: ds.id }))[0]!.config as { inspectionArea: { sha256: string } }).inspectionArea.sha256).toBe(info.sha256);
  }, 240_000);
});
