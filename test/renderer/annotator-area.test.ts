/**
 * The inspection area in the annotator: the dataset's area shown on an image of another size
 * by relative position; painted with the rectangle and polygon tools (one undo step each);
 * saved with the dataset (not as a defect mask) only when it changed; cleared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf } from '../../src-main/common/api';
import type { MaskDocument } from '../../src-renderer/lib/annotator/document';
import { AREA_LAYER, polygonIndices, rectIndices } from '../../src-renderer/lib/annotator/inspection-area';
import type * as AnnotatorModule from '../../src-renderer/lib/views/annotator-state.svelte';
import { fakeApi, imageRecord, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let Annotator: typeof AnnotatorModule;

beforeAll(async () => {
  runes = await loadRunes();
  Annotator = await runes.loader.import<typeof AnnotatorModule>('src-renderer/lib/views/annotator-state.svelte.ts');
});
afterAll(() => runes.loader.close());

const CRACK = { id: 7, datasetId: 1, name: 'crack', colour: '#ff0000' };
const IMAGE = imageRecord(2, { width: 40, height: 30 });

function setup(stored: { width: number; height: number; pixels: Uint8Array } | null) {
  const areaCalls: ArgsOf<'datasets.setInspectionArea'>[] = [];
  const maskCalls: ArgsOf<'masks.save'>[] = [];
  const shapes: string[] = [];
  let area = stored;
  const fake = fakeApi({
    images: { get: () => IMAGE, list: () => ({ items: [IMAGE], total: 1, nextCursor: null }) },
    defectTypes: { list: () => [CRACK] },
    masks: { list: () => [], get: () => null, save: (a: ArgsOf<'masks.save'>) => (maskCalls.push(a), null) },
    inspection: { listRuns: () => [], results: () => ({ items: [], total: 0 }) },
    datasets: {
      list: () => [],
      getInspectionArea: () => (area ? { ...area, info: { datasetId: 1, width: area.width, height: area.height, areaPx: 1, fraction: 0.5, sha256: 'x', updatedAtMs: 0 } } : null),
      setInspectionArea: (a: ArgsOf<'datasets.setInspectionArea'>) => {
        areaCalls.push(a);
        area = a.area;
        return a.area ? { datasetId: 1, width: a.area.width, height: a.area.height, areaPx: 1, fraction: 0.25, sha256: 'y', updatedAtMs: 1 } : null;
      },
    },
  });
  const app = new runes.app.AppState(fake.api);
  app.route = { view: 'annotate', datasetId: 1, imageId: 2 };
  const surface: AnnotatorModule.AnnotatorSurface<string> = {
    loadPicture: async (url) => url, greyPixels: () => null, showDocument: (_d: MaskDocument) => undefined, showHeatmap: () => undefined,
    setHeatmapVisible: () => undefined, setHeatmapOpacity: () => undefined, setColours: () => undefined, setOpacity: () => undefined,
    applyViewport: () => undefined, size: () => ({ width: 800, height: 600 }),
    showShape: (pts, closed) => void shapes.push(pts ? `${pts.length}${closed ? ' closed' : ''}` : 'none'),
  };
  const view = runes.root.mount(() => new Annotator.AnnotatorState(fake.api, app, surface, { autosaveMs: 5 }));
  return { s: view.value, destroy: view.destroy, areaCalls, maskCalls, shapes };
}

const sum = (a: Uint8Array) => a.reduce((x, v) => x + v, 0);

describe('rectangle and polygon rasterisation', () => {
  it('takes the pixels whose centres lie inside', () => {
    expect(rectIndices(10, 10, { x: 2, y: 1 }, { x: 4, y: 3 })).toEqual([12, 13, 22, 23]);
    expect(rectIndices(10, 10, { x: 4, y: 3 }, { x: 2, y: 1 })).toEqual([12, 13, 22, 23]);
    expect(rectIndices(4, 4, { x: -5, y: -5 }, { x: 50, y: 50 })).toHaveLength(16);
    // a right triangle over a 10 x 10 grid: about half of it
    const tri = polygonIndices(10, 10, [{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 0, y: 10 }]);
    expect(tri.length).toBeGreaterThanOrEqual(45);
    expect(tri.length).toBeLessThanOrEqual(55);
    expect(tri).toContain(0);
    expect(tri).not.toContain(99);
    expect(polygonIndices(10, 10, [{ x: 0, y: 0 }, { x: 5, y: 5 }])).toEqual([]);
  });
});

describe('Annotator: the inspection area', () => {
  it('shows the stored area at the image size by relative position, and re-saves nothing unchanged', async () => {
    // stored at 20 x 15: the left half
    const { s, destroy, areaCalls, maskCalls } = setup({ width: 20, height: 15, pixels: Uint8Array.from({ length: 300 }, (_, i) => (i % 20 < 10 ? 1 : 0)) });
    await runes.root.settle();
    const layer = s.doc!.layer(AREA_LAYER);
    expect(sum(layer)).toBe(20 * 30);
    expect(layer[29 * 40 + 19]).toBe(1);
    expect(layer[0 * 40 + 20]).toBe(0);
    expect(s.areaShare).toBeCloseTo(0.5);
    // a defect stroke is saved as a mask; the area, unchanged, is not sent again
    expect(s.press(30.5, 5.5)).toBe(true);
    s.release();
    await runes.root.settle();
    expect(s.saveState).toBe('saved');
    expect(maskCalls.map((c) => c.defectTypeId)).toEqual([7]);
    expect(areaCalls).toHaveLength(0);
    destroy();
  });

  it('paints the area with the rectangle (one undo step) and saves it with the dataset at the image size', async () => {
    const { s, destroy, areaCalls, maskCalls, shapes } = setup(null);
    await runes.root.settle();
    expect(s.areaShare).toBe(0);
    s.toggleAreaEditing();
    expect(s.editingArea).toBe(true);
    s.tool = 'rect';
    expect(s.press(0, 0)).toBe(true);
    s.drag(20, 30);
    expect(shapes.at(-1)).toBe('4 closed');
    s.release();
    expect(shapes.at(-1)).toBe('none');
    expect(s.areaShare).toBeCloseTo(0.5);
    expect(s.areaOf(7)).toBe(0);
    await runes.root.settle();
    expect(s.saveState).toBe('saved');
    expect(areaCalls).toHaveLength(1);
    expect(areaCalls[0]).toMatchObject({ datasetId: 1, area: { width: 40, height: 30 } });
    expect(sum(areaCalls[0]!.area!.pixels)).toBe(600);
    expect(maskCalls).toHaveLength(0);
    expect(s.areaInfo).toMatchObject({ width: 40, height: 30 });
    // the rectangle is one undo step
    s.undo();
    expect(s.areaShare).toBe(0);
    await runes.root.settle();
    expect(areaCalls.at(-1)!.area).toBeNull();
    destroy();
  });

  it('fills a polygon closed on its first corner or with Enter; Esc drops it; Clear removes the area', async () => {
    const { s, destroy, areaCalls } = setup(null);
    await runes.root.settle();
    s.toggleAreaEditing();
    s.tool = 'polygon';
    for (const [x, y] of [[0, 0], [40, 0], [40, 30]] as const) expect(s.press(x, y)).toBe(false);
    s.cancelShape();
    expect(s.areaShare).toBe(0);
    for (const [x, y] of [[0, 0], [40, 0], [40, 30], [0, 30]] as const) s.press(x, y);
    s.closeShape();
    expect(s.areaShare).toBe(1);
    s.undo();
    for (const [x, y] of [[0, 0], [40, 0], [0, 30]] as const) s.press(x, y);
    s.press(0.01, 0.01); // the first corner again: closes the triangle
    expect(s.areaShare).toBeGreaterThan(0.4);
    expect(s.areaShare).toBeLessThan(0.6);
    await runes.root.settle();
    expect(areaCalls.at(-1)!.area).not.toBeNull();
    s.clearArea();
    expect(s.areaShare).toBe(0);
    await runes.root.settle();
    expect(areaCalls.at(-1)!.area).toBeNull();
    // back to the defect type painted before
    s.toggleAreaEditing();
    expect(s.activeType).toBe(7);
    destroy();
  });
});
