/** The Training view's state: what a start sends, and the live curves and log of the run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf, TrainingRun } from '../../src-main/common/api';
import type * as TrainingModule from '../../src-renderer/lib/views/training-state.svelte';
import { readFileSync } from 'node:fs';
import { TRAINING_PARAM_DEFS } from '../../src-main/common/training-params';
import { fakeApi, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let Training: typeof TrainingModule;

beforeAll(async () => {
  runes = await loadRunes();
  Training = await runes.loader.import<typeof TrainingModule>('src-renderer/lib/views/training-state.svelte.ts');
});
afterAll(() => runes.loader.close());

const run = (id: number, status: TrainingRun['status']): TrainingRun => ({
  id, datasetId: 1, status, config: {}, progress: 0, step: 0, message: null, timings: {}, error: null, pid: null, heartbeatAtMs: null, resumeOf: null, modelVersionId: null, createdAtMs: 0, startedAtMs: 0, finishedAtMs: null,
});

function setup() {
  const runs: TrainingRun[] = [];
  const fake = fakeApi({
    training: {
      backbones: () => [
        { id: 'tiny', description: 'A small one', available: true, builtIn: true, isDefault: false },
        { id: 'wide', description: 'The default', available: true, builtIn: true, isDefault: true },
      ],
      listRuns: () => runs.slice(),
      start: () => {
        runs.unshift(run(4, 'running'));
        return { jobId: 'train-1', runId: 4 };
      },
    },
    defectTypes: { list: () => [{ id: 7, datasetId: 1, name: 'crack', colour: '#ff0000' }, { id: 8, datasetId: 1, name: 'dent', colour: '#00ff00' }] },
    images: { list: (a: ArgsOf<'images.list'>) => ({ items: [], total: a.label === 'good' ? 40 : a.defectTypeId === 7 ? 3 : 2, nextCursor: null }) },
  });
  const app = new runes.app.AppState(fake.api);
  app.route = { view: 'training', datasetId: 1, imageId: null };
  const view = runes.root.mount(() => new Training.TrainingState(fake.api, app));
  return { fake, app, s: view.value, destroy: view.destroy };
}

describe('Training', () => {
  it('offers the default backbone and counts the images it would learn from', async () => {
    const { s, destroy } = setup();
    await runes.root.settle();
    expect(s.backboneId).toBe('wide');
    expect(s.backbone?.description).toBe('The default');
    expect(s.goodTrain).toBe(40);
    expect(s.knownCounts).toEqual({ 7: 3, 8: 2 });
    expect(s.totalKnown).toBe(5);
    s.toggleType(8);
    expect(s.totalKnown).toBe(2);
    s.toggleType(8);
    expect(s.totalKnown).toBe(5);
    destroy();
  });

  it('starts with the parameters filled in, then follows the run\'s progress events', async () => {
    const { s, fake, destroy } = setup();
    await runes.root.settle();
    s.preset = 'balanced';
    s.params.steps = 40;
    s.params.seed = null;
    s.params.margin = Number.NaN;
    s.toggleType(7);
    await s.start();
    expect(fake.argsOf('training.start')).toEqual([{ datasetId: 1, preset: 'balanced', backboneId: 'wide', params: { steps: 40 }, defectTypeIds: [7], geometry: 'square' }]);
    expect(s.running).toBe(true);
    expect(s.viewedRun).toBe(4);
    expect(s.runs.map((r) => r.id)).toEqual([4]);

    const progress = (step: number, message: string) =>
      fake.emit({ type: 'progress', jobId: 'train-1', kind: 'training', progress: { fraction: step / 40, message, data: { epoch: 0, step, steps: 40, losses: { 'loss/level1': 1 / step } } } });
    progress(10, 'training step 10/40');
    progress(20, 'training step 20/40');
    fake.emit({ type: 'progress', jobId: 'other', kind: 'training', progress: { fraction: 0.1, message: 'another job' } });
    expect(s.curves['loss/level1']).toEqual([[10, 0.1], [20, 0.05]]);
    expect(s.lossSeries.map((x) => x.label)).toEqual(['loss, level 1']);
    // one line per phase: the step counter updates it
    expect(s.log.map((l) => l.text)).toEqual(['Starting balanced training with wide…', 'training step 20/40']);

    fake.emit({ type: 'result', jobId: 'train-1', kind: 'training', value: null });
    expect(s.log.at(-1)?.text).toBe('Training finished: a new model version is ready in Models.');
    destroy();
  });

  it('starts with the input shape chosen (square by default, aspect when picked)', async () => {
    const { s, fake, destroy } = setup();
    await runes.root.settle();
    expect(s.geometry).toBe('square');
    s.geometry = 'aspect';
    await s.start();
    expect(fake.argsOf('training.start')[0]).toMatchObject({ geometry: 'aspect' });
    expect(readFileSync('src-renderer/views/Training.svelte', 'utf8')).toContain('bind:group={s.geometry}');
    destroy();
  });

  it('offers the advanced parameters of the training-parameter table, with exactly its ranges', () => {
    const form = TRAINING_PARAM_DEFS.filter((d) => d.form);
    expect(Training.TRAINING_PARAMS.map((p) => p.key)).toEqual(form.map((d) => d.key));
    for (const [i, p] of Training.TRAINING_PARAMS.entries()) {
      const d = form[i]!;
      expect([p.min, p.max], p.key).toEqual([d.min, d.max]);
      expect(p.help, p.key).toContain(d.help);
      expect(p.step, p.key).toBe(d.step ?? (d.integer ? 1 : 'any'));
    }
    // the view's inputs take min, max and step from these rows
    const view = readFileSync('src-renderer/views/Training.svelte', 'utf8');
    expect(view).toMatch(/<input type="number" step=\{def\.step\} min=\{def\.min\} max=\{def\.max\}/);
    // an empty field shows the chosen preset's value
    expect(Training.placeholderOf('learningRate', 'fast')).toBe('0.001');
    expect(Training.placeholderOf('learningRate', 'thorough')).toBe('0.0002');
    expect(Training.placeholderOf('steps', 'balanced')).toBe('3000');
    expect(Training.placeholderOf('steps', 'thorough')).toBe('preset');
  });
});
