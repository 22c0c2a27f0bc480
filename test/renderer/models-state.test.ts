/** The Models view's state: the threshold dragged on the histogram and what it does to the error rates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreHistogram } from '../../src-main/common/api';
import type * as ModelsModule from '../../src-renderer/lib/views/models-state.svelte';
import { fakeApi, loadRunes, model, type Runes } from './state-fixtures';

let runes: Runes;
let Models: typeof ModelsModule;

beforeAll(async () => {
  runes = await loadRunes();
  Models = await runes.loader.import<typeof ModelsModule>('src-renderer/lib/views/models-state.svelte.ts');
});
afterAll(() => runes.loader.close());

/** The frozen test split of a version: 4 good images, 4 defective ones. */
const histogram = (modelId: number, threshold: number): ScoreHistogram => ({
  modelId,
  binEdges: [0, 0.5, 1],
  normal: [4, 0],
  defect: [1, 3],
  boundary: 0.42,
  threshold,
  scores: { normal: [0.1, 0.2, 0.3, 0.4], defect: [0.35, 0.5, 0.6, 0.9] },
  reviewBand: null,
  reviewBandProposal: null,
});

function setup() {
  let threshold = 0.45;
  const fake = fakeApi({
    models: {
      list: () => [model(2, { threshold }), model(1, { isActive: true })],
      histogram: (a: { modelId: number }) => histogram(a.modelId, threshold),
      setThreshold: (a: { threshold: number }) => {
        threshold = a.threshold;
        return model(2, { threshold });
      },
      activate: () => null,
      compare: () => ({ a: model(2), b: model(1), metrics: [], thresholdDelta: 0, sameEvalSplit: true, sameBackbone: true, configDiff: [] }),
    },
  });
  const app = new runes.app.AppState(fake.api);
  app.route = { view: 'models', datasetId: 1, imageId: null };
  const view = runes.root.mount(() => new Models.ModelsState(fake.api, app));
  return { fake, app, s: view.value, destroy: view.destroy };
}

describe('Models: the threshold', () => {
  it('selects the newest version and shows its false-reject and miss rates at its threshold', async () => {
    const { s, destroy } = setup();
    await runes.root.settle();
    expect(s.selected?.id).toBe(2);
    expect(s.histogram?.modelId).toBe(2);
    expect(s.threshold).toBe(0.45);
    // no good image above 0.45; one defect (0.35) at or below it
    expect(s.rates).toEqual({ falseRejectRate: 0, missRate: 0.25 });
    expect(s.thresholdChanged).toBe(false);
    expect(s.rocSeries.map((x) => x.label)).toEqual([expect.stringMatching(/^v2 \(AUC /), 'chance']);
    destroy();
  });

  it('updates the rates while the threshold is dragged, and resets it', async () => {
    const { s, destroy } = setup();
    await runes.root.settle();
    s.setThreshold(0.25);
    expect(s.rates).toEqual({ falseRejectRate: 0.5, missRate: 0 });
    s.setThreshold(0.55);
    expect(s.rates).toEqual({ falseRejectRate: 0, missRate: 0.5 });
    s.setThreshold(0.95);
    expect(s.rates).toEqual({ falseRejectRate: 0, missRate: 1 });
    expect(s.thresholdChanged).toBe(true);
    s.resetThreshold();
    expect(s.threshold).toBe(0.45);
    expect(s.thresholdChanged).toBe(false);
    destroy();
  });

  it('saves the dragged threshold: the versions load again, the datasets do not', async () => {
    const { s, fake, app, destroy } = setup();
    await runes.root.settle();
    const datasetsBefore = app.version('datasets');
    s.setThreshold(0.25);
    fake.forget();
    await s.saveThreshold();
    await runes.root.settle();
    expect(fake.argsOf('models.setThreshold')).toEqual([{ modelId: 2, threshold: 0.25 }]);
    expect(fake.count('models.list')).toBe(1);
    expect(fake.count('datasets.list')).toBe(0);
    expect(app.version('datasets')).toBe(datasetsBefore);
    expect(s.models[0]?.threshold).toBe(0.25);
    expect(app.notices.at(-1)?.message).toBe('Threshold of version 2 set to 0.2500.');
    destroy();
  });

  it('activating a version reloads the versions and the dataset list (its active version)', async () => {
    const { s, fake, destroy } = setup();
    await runes.root.settle();
    fake.forget();
    await s.activate(s.models[0]!);
    await runes.root.settle();
    expect(fake.argsOf('models.activate')).toEqual([{ modelId: 2 }]);
    expect(fake.count('models.list')).toBe(1);
    expect(fake.count('datasets.list')).toBe(1);
    destroy();
  });

  it('compares with a second version: its histogram and ROC curve join; the same radio clears it', async () => {
    const { s, fake, destroy } = setup();
    await runes.root.settle();
    s.toggleCompare(1);
    await runes.root.settle();
    expect(fake.argsOf('models.compare')).toEqual([{ modelIdA: 2, modelIdB: 1 }]);
    expect(s.comparison).not.toBeNull();
    expect(s.rocSeries.map((x) => x.label)).toEqual([expect.stringMatching(/^v2 /), expect.stringMatching(/^v1 /), 'chance']);
    s.toggleCompare(1);
    await runes.root.settle();
    expect(s.compareId).toBeNull();
    expect(s.comparison).toBeNull();
    destroy();
  });
});
