/**
 * Invalidation by topic: a change (a finished job, a label, an activated model) bumps the
 * versions of the topics it touched, and only what shows those topics loads again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobKind } from '../../src-main/common/api';
import type { Topic } from '../../src-renderer/lib/app-state.svelte';
import type * as DatasetsModule from '../../src-renderer/lib/views/datasets-state.svelte';
import type * as InspectModule from '../../src-renderer/lib/views/inspect-state.svelte';
import type * as ModelsModule from '../../src-renderer/lib/views/models-state.svelte';
import type * as TrainingModule from '../../src-renderer/lib/views/training-state.svelte';
import { fakeApi, fakeWindow, imageRecord, inspectionRun, loadRunes, model, type Runes } from './state-fixtures';

let runes: Runes;
let Datasets: typeof DatasetsModule;
let Inspect: typeof InspectModule;
let Models: typeof ModelsModule;
let Training: typeof TrainingModule;

beforeAll(async () => {
  runes = await loadRunes();
  [Datasets, Inspect, Models, Training] = await Promise.all([
    runes.loader.import<typeof DatasetsModule>('src-renderer/lib/views/datasets-state.svelte.ts'),
    runes.loader.import<typeof InspectModule>('src-renderer/lib/views/inspect-state.svelte.ts'),
    runes.loader.import<typeof ModelsModule>('src-renderer/lib/views/models-state.svelte.ts'),
    runes.loader.import<typeof TrainingModule>('src-renderer/lib/views/training-state.svelte.ts'),
  ]);
});
afterAll(() => runes.loader.close());

/** The loads that belong to each topic (a call of the fake API counts for its topic). */
const TOPIC_OF: Record<string, Topic> = {
  'datasets.list': 'datasets',
  'images.list': 'images',
  'defectTypes.list': 'images',
  'models.list': 'models',
  'models.histogram': 'models',
  'inspection.listRuns': 'inspections',
  'inspection.results': 'inspections',
  'inspection.getRun': 'inspections',
  'training.listRuns': 'training',
};

function setup() {
  const fake = fakeApi({
    datasets: { list: () => [] },
    images: { list: () => ({ items: [imageRecord(1)], total: 1, nextCursor: null }) },
    defectTypes: { list: () => [{ id: 7, datasetId: 1, name: 'crack', colour: '#ff0000' }] },
    models: { list: () => [model(1, { isActive: true })], histogram: () => ({ modelId: 1, binEdges: [0, 1], normal: [1], defect: [1], boundary: null, threshold: 0.5, scores: { normal: [0.1], defect: [0.9] } }) },
    inspection: { listRuns: () => [inspectionRun(3)], getRun: () => ({ ...inspectionRun(3), summary: { total: 0, pass: 0, fail: 0, error: 0, minScore: null, maxScore: null, meanScore: null } }), results: () => ({ items: [], total: 0 }) },
    training: { backbones: () => [], listRuns: () => [] },
  });
  const app = new runes.app.AppState(fake.api);
  const stop = app.start(fakeWindow('#/datasets?ds=1'));
  // every view's state at once: each must load only what it shows
  const views = runes.root.mount(() => [
    new Datasets.DatasetsState(fake.api, app),
    new Inspect.InspectState(fake.api, app),
    new Models.ModelsState(fake.api, app),
    new Training.TrainingState(fake.api, app),
  ]);
  /** The topics of the loads made since the last `forget`. */
  const loaded = () => [...new Set(fake.calls.map((c) => TOPIC_OF[c.name] ?? c.name))].sort();
  return { fake, app, loaded, destroy: () => (views.destroy(), stop()) };
}

describe('topic invalidation', () => {
  it('bumps only the topics named', () => {
    const app = new runes.app.AppState(fakeApi({}).api);
    const before = Object.fromEntries(runes.app.TOPICS.map((t) => [t, app.version(t)]));
    void app.invalidate('models', 'inspections', 'models');
    expect(Object.fromEntries(runes.app.TOPICS.map((t) => [t, app.version(t) - before[t]!]))).toEqual({ datasets: 0, images: 0, models: 1, inspections: 1, training: 0 });
  });

  it('reloads what shows a topic, and nothing else', async () => {
    const { fake, app, loaded, destroy } = setup();
    await runes.root.settle();
    expect(loaded()).toEqual(expect.arrayContaining(['datasets', 'images', 'inspections', 'models', 'training']));

    for (const topic of runes.app.TOPICS) {
      fake.forget();
      await app.invalidate(topic);
      await runes.root.settle();
      expect(loaded(), topic).toEqual([topic]);
    }

    // a models change does not load the datasets, their images or the runs again
    fake.forget();
    await app.invalidate('models');
    await runes.root.settle();
    expect(fake.count('models.list')).toBe(2); // Models and Inspect
    expect(fake.count('datasets.list') + fake.count('images.list') + fake.count('defectTypes.list')).toBe(0);
    destroy();
  });

  it('bumps the topics of a job when its result (or its end) arrives as an event', async () => {
    const { fake, loaded, destroy } = setup();
    await runes.root.settle();
    const expected: Record<JobKind, Topic[]> = {
      import: ['datasets', 'images'],
      training: ['datasets', 'models', 'training'],
      inspection: ['inspections'],
      export: [],
      robustness: ['models'],
    };
    for (const kind of ['import', 'training', 'inspection', 'export', 'robustness'] as const) {
      fake.forget();
      fake.emit({ type: 'progress', jobId: `j-${kind}`, kind, progress: { fraction: 0.5 } });
      await runes.root.settle();
      expect(loaded(), `${kind} progress`).toEqual([]);
      fake.emit({ type: 'result', jobId: `j-${kind}`, kind, value: null });
      await runes.root.settle();
      expect(loaded(), `${kind} result`).toEqual(expected[kind]);
    }
    // a cancelled import keeps what it imported: its topics too
    fake.forget();
    fake.emit({ type: 'error', jobId: 'j-2', kind: 'import', error: { code: 'CANCELLED', message: 'Cancelled.' } });
    await runes.root.settle();
    expect(loaded()).toEqual(['datasets', 'images']);
    destroy();
  });

  it('labelling images reloads the images and the dataset counts, not the models', async () => {
    const fake = fakeApi({
      images: { list: () => ({ items: [imageRecord(1), imageRecord(2)], total: 2, nextCursor: null }), setLabel: (a: { imageIds: number[] }) => ({ changed: a.imageIds.length }) },
      defectTypes: { list: () => [] },
      models: { list: () => [] },
    });
    const app = new runes.app.AppState(fake.api);
    app.route = { view: 'datasets', datasetId: 1, imageId: null };
    const view = runes.root.mount(() => [new Datasets.DatasetsState(fake.api, app), new Models.ModelsState(fake.api, app)] as const);
    const [s] = view.value;
    await runes.root.settle();
    const list = s.list;
    s.select(0, imageRecord(1), { ctrl: false, shift: false });
    fake.forget();
    await s.label('defect');
    await runes.root.settle();
    expect(fake.argsOf('images.setLabel')).toEqual([{ imageIds: [1], label: 'defect', defectTypeId: undefined }]);
    expect(fake.count('datasets.list')).toBe(1);
    // the grid's list is made again (when the grid reads it) and loads its first page
    expect(s.list).not.toBe(list);
    await runes.root.settle();
    expect(fake.count('images.list')).toBe(1);
    expect(fake.count('models.list')).toBe(0);
    view.destroy();
  });
});
