/**
 * The Annotator view's state: strokes with undo and redo per stroke, the saved state with
 * autosave, and the guard that saves (or asks) before the previous or next image.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf, ImageRecord } from '../../src-main/common/api';
import type { MaskDocument, Viewport } from '../../src-renderer/lib/annotator/document';
import type * as AnnotatorModule from '../../src-renderer/lib/views/annotator-state.svelte';
import { fakeApi, imageRecord, inspectionResult, inspectionRun, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let Annotator: typeof AnnotatorModule;

beforeAll(async () => {
  runes = await loadRunes();
  Annotator = await runes.loader.import<typeof AnnotatorModule>('src-renderer/lib/views/annotator-state.svelte.ts');
});
afterAll(() => runes.loader.close());

const CRACK = { id: 7, datasetId: 1, name: 'crack', colour: '#ff0000' };
const IMAGES = [1, 2, 3].map((id) => imageRecord(id, { width: 40, height: 30 }));

/** A surface that draws nothing and remembers what it was told (pictures are their URLs). */
function fakeSurface() {
  const log: string[] = [];
  const surface: AnnotatorModule.AnnotatorSurface<string> = {
    loadPicture: async (url) => url,
    greyPixels: () => null,
    showDocument: (doc: MaskDocument, picture) => void log.push(`document ${doc.width}x${doc.height} ${picture}`),
    showHeatmap: (picture) => void log.push(`heatmap ${picture ?? 'none'}`),
    setHeatmapVisible: (shown) => void log.push(`heatmap shown ${shown}`),
    setHeatmapOpacity: () => undefined,
    setColours: () => undefined,
    setOpacity: () => undefined,
    applyViewport: (v: Viewport) => void log.push(`viewport ${v.scale}`),
    size: () => ({ width: 800, height: 600 }),
  };
  return { surface, log };
}

function setup(opts: { failSave?: () => boolean; leave?: boolean; heatmapOf?: number } = {}) {
  const saved: ArgsOf<'masks.save'>[] = [];
  const fake = fakeApi({
    images: {
      get: (a: { imageId: number }) => IMAGES.find((i) => i.id === a.imageId)!,
      list: () => ({ items: IMAGES, total: IMAGES.length, nextCursor: null }),
    },
    defectTypes: { list: () => [CRACK] },
    masks: {
      list: () => [],
      get: () => null,
      save: (a: ArgsOf<'masks.save'>) => {
        if (opts.failSave?.()) throw new Error('disk full');
        saved.push(a);
        return null;
      },
    },
    inspection: {
      listRuns: () => (opts.heatmapOf ? [inspectionRun(5)] : []),
      results: () => ({ items: opts.heatmapOf ? [{ ...inspectionResult(1, 5, 'fail', 0.8, IMAGES[1]!.path), sha256: `sha-${opts.heatmapOf}` }] : [], total: opts.heatmapOf ? 1 : 0 }),
    },
  });
  const app = new runes.app.AppState(fake.api);
  app.route = { view: 'annotate', datasetId: 1, imageId: 2 };
  const questions: string[] = [];
  const { surface, log } = fakeSurface();
  const view = runes.root.mount(() => new Annotator.AnnotatorState(fake.api, app, surface, { autosaveMs: 5, confirm: (q) => (questions.push(q), opts.leave ?? false) }));
  /** One stroke of the brush from (x0, y) to (x1, y), in image pixels. */
  const stroke = (x0: number, x1: number, y: number) => {
    const s = view.value;
    expect(s.press(x0, y)).toBe(true);
    s.drag(x1, y);
    s.release();
  };
  return { fake, app, s: view.value, destroy: view.destroy, saved, questions, log, stroke };
}

const image = (s: { image: ImageRecord | null }) => s.image?.id;

describe('Annotator: strokes, undo and redo', () => {
  it('opens the image of the route with its defect type, saved, fitted to the canvas', async () => {
    const { s, log, destroy } = setup();
    await runes.root.settle();
    expect(image(s)).toBe(2);
    expect(s.activeType).toBe(7);
    expect(s.saveState).toBe('saved');
    expect(s.saveText).toBe('Saved');
    expect(s.canUndo).toBe(false);
    expect(s.area).toBe(0);
    expect(s.heat.status).toBe('missing');
    expect(log).toContain('document 40x30 /files?path=%2Fparts%2F2.png');
    expect(s.zoomPct).toBeGreaterThan(100); // 40 x 30 px fitted into 800 x 600
    destroy();
  });

  it('undoes and redoes one stroke at a time; the area and the fingerprint follow', async () => {
    const { s, destroy, stroke } = setup();
    await runes.root.settle();
    const empty = s.hash;
    stroke(5.5, 15.5, 5.5);
    const one = s.area;
    const oneHash = s.hash;
    expect(one).toBeGreaterThan(0);
    expect(oneHash).not.toBe(empty);
    expect(s.areaOf(7)).toBe(one);
    stroke(5.5, 30.5, 20.5);
    const two = s.area;
    expect(two).toBeGreaterThan(one);
    expect(s.canUndo).toBe(true);
    expect(s.canRedo).toBe(false);

    s.undo();
    expect(s.area).toBe(one);
    expect(s.hash).toBe(oneHash);
    expect(s.canRedo).toBe(true);
    s.undo();
    expect(s.area).toBe(0);
    expect(s.hash).toBe(empty);
    expect(s.canUndo).toBe(false);
    s.redo();
    expect(s.area).toBe(one);
    s.redo();
    expect(s.area).toBe(two);
    expect(s.canRedo).toBe(false);
    destroy();
  });

  it('asks for a defect type before painting', async () => {
    const { s, app, destroy } = setup();
    await runes.root.settle();
    s.activeType = null;
    expect(s.press(5, 5)).toBe(false);
    expect(app.notices.at(-1)?.message).toBe('Choose or create a defect type first.');
    expect(s.canUndo).toBe(false);
    destroy();
  });
});

describe('Annotator: saved state', () => {
  it('is dirty after a stroke, then saved by the autosave (the dataset counts reload)', async () => {
    const { s, fake, saved, destroy, stroke } = setup();
    await runes.root.settle();
    fake.forget();
    stroke(5.5, 15.5, 5.5);
    expect(s.saveState).toBe('dirty');
    expect(s.saveText).toBe('Unsaved changes');
    expect(s.unsaved).toBe(true);
    await runes.root.settle();
    expect(s.saveState).toBe('saved');
    expect(s.unsaved).toBe(false);
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({ imageId: 2, defectTypeId: 7, width: 40, height: 30 });
    expect(saved[0]!.data.reduce((a, v) => a + v, 0)).toBe(s.area);
    expect(fake.count('datasets.list')).toBe(1);
    // an undo is a change too
    s.undo();
    expect(s.saveState).toBe('dirty');
    await s.save();
    expect(s.saveState).toBe('saved');
    expect(saved.at(-1)!.data.every((v) => v === 0)).toBe(true);
    destroy();
  });

  it('shows a failed save, and saves on the next try', async () => {
    let fail = true;
    const { s, destroy, stroke } = setup({ failSave: () => fail });
    await runes.root.settle();
    stroke(5.5, 15.5, 5.5);
    await expect(s.save()).rejects.toThrow('disk full');
    expect(s.saveState).toBe('error');
    expect(s.saveText).toBe('Not saved');
    expect(s.saveError).toBe('disk full');
    fail = false;
    await s.save();
    expect(s.saveState).toBe('saved');
    expect(s.saveError).toBe('');
    destroy();
  });
});

describe('Annotator: previous and next image', () => {
  it('saves the strokes first, then shows the next or previous image of the dataset', async () => {
    const { s, app, saved, destroy, stroke } = setup();
    await runes.root.settle();
    stroke(5.5, 15.5, 5.5);
    await s.step(1);
    expect(saved).toHaveLength(1);
    expect(app.route.imageId).toBe(3);
    await runes.root.settle();
    expect(image(s)).toBe(3);
    expect(s.canUndo).toBe(false); // a new document
    await s.step(1); // the last image: stays
    expect(app.route.imageId).toBe(3);
    for (const want of [2, 1]) {
      await s.step(-1);
      await runes.root.settle();
      expect(image(s)).toBe(want);
    }
    await s.step(-1); // the first image: stays
    expect(app.route.imageId).toBe(1);
    destroy();
  });

  it('stays when the strokes could not be saved and the user keeps them', async () => {
    const { s, app, questions, destroy, stroke } = setup({ failSave: () => true, leave: false });
    await runes.root.settle();
    stroke(5.5, 15.5, 5.5);
    await s.step(1);
    expect(questions).toEqual(['The last strokes could not be saved. Leave and lose them?']);
    expect(app.route.imageId).toBe(2);
    expect(s.saveState).toBe('error');
    expect(s.canUndo).toBe(true);
    // nor does another view take it away
    expect(await app.go({ view: 'models' })).toBe(false);
    destroy();
  });

  it('leaves without the strokes when the user says so', async () => {
    const { s, app, destroy, stroke } = setup({ failSave: () => true, leave: true });
    await runes.root.settle();
    stroke(5.5, 15.5, 5.5);
    await s.step(1);
    expect(app.route.imageId).toBe(3);
    destroy();
  });

  it('no longer guards the route once the view is gone', async () => {
    const { app, destroy, stroke } = setup({ failSave: () => true });
    await runes.root.settle();
    stroke(5.5, 15.5, 5.5);
    destroy();
    expect(await app.go({ view: 'models' })).toBe(true);
  });
});

describe('Annotator: the heat map', () => {
  it('finds the inspected picture\'s heat map; H shows and hides it', async () => {
    const { s, log, destroy } = setup({ heatmapOf: 2 });
    await runes.root.settle();
    expect(s.heat).toMatchObject({ status: 'ready', found: { runId: 5 } });
    expect(s.heatToggle.disabled).toBe(false);
    expect(s.heatVisible).toBe(false);
    s.toggleHeat();
    await runes.root.settle();
    expect(s.heatVisible).toBe(true);
    expect(log.at(-1)).toBe('heatmap shown true');
    expect(log).toContain('heatmap /files?path=%2Fdata%2Fheat%2F1.png');
    destroy();
  });
});
