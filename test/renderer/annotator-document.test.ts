/** The annotation document's tools and history, without a canvas. */
import { describe, expect, it } from 'vitest';
import { dabCoverage, MaskDocument, Viewport } from '../../src-renderer/lib/annotator/document';
import { maskHash } from '../../src-renderer/lib/annotator/persist';

const T = 7; // a defect type id
const hard = { sizePx: 5, hardness: 1 };
const ones = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
const at = (d: MaskDocument, x: number, y: number) => d.layer(T)[y * d.width + x];

describe('brush and eraser', () => {
  it('paints a disc of the brush size under the cursor', () => {
    const d = new MaskDocument(40, 30);
    d.beginStroke(T, 'brush', hard, 20.5, 15.5);
    d.endStroke();
    // pixel centres within 2.5 px of (20.5, 15.5): a 21-pixel disc
    expect(d.area(T)).toBe(21);
    expect(at(d, 20, 15)).toBe(1);
    expect(at(d, 22, 15)).toBe(1);
    expect(at(d, 23, 15)).toBe(0);
  });

  it('paints a continuous line between far-apart pointer positions', () => {
    const d = new MaskDocument(64, 16);
    d.beginStroke(T, 'brush', { sizePx: 3, hardness: 1 }, 2.5, 8.5);
    d.extendStroke(60.5, 8.5);
    d.endStroke();
    for (let x = 2; x <= 60; x++) expect(at(d, x, 8), `x=${x}`).toBe(1);
    expect(at(d, 30, 6)).toBe(0);
  });

  it('paints exactly the pixel under a 1-pixel brush', () => {
    const d = new MaskDocument(10, 10);
    d.beginStroke(T, 'brush', { sizePx: 1, hardness: 1 }, 3.2, 4.9);
    d.endStroke();
    expect(d.area(T)).toBe(1);
    expect(at(d, 3, 4)).toBe(1);
  });

  it('paints a slimmer line with a softer brush of the same size', () => {
    const stroke = (hardness: number) => {
      const d = new MaskDocument(60, 40);
      d.beginStroke(T, 'brush', { sizePx: 20, hardness }, 10, 20);
      d.extendStroke(50, 20);
      d.endStroke();
      return d.area(T);
    };
    expect(stroke(0)).toBeLessThan(stroke(0.5));
    expect(stroke(0.5)).toBeLessThan(stroke(1));
    expect(dabCoverage(0, 10, 0)).toBe(1);
    expect(dabCoverage(5, 10, 0)).toBeCloseTo(0.5);
    expect(dabCoverage(10, 10, 0.3)).toBe(0);
  });

  it('erases painted pixels only where the eraser passes', () => {
    const d = new MaskDocument(30, 30);
    d.beginStroke(T, 'brush', { sizePx: 10, hardness: 1 }, 15, 15);
    d.endStroke();
    const painted = d.area(T);
    d.beginStroke(T, 'eraser', { sizePx: 4, hardness: 1 }, 15, 15);
    d.endStroke();
    expect(d.area(T)).toBeLessThan(painted);
    expect(at(d, 15, 15)).toBe(0);
    expect(at(d, 11, 15)).toBe(1);
  });

  it('keeps defect types in separate layers', () => {
    const d = new MaskDocument(20, 20);
    d.beginStroke(1, 'brush', hard, 5, 5);
    d.endStroke();
    d.beginStroke(2, 'brush', hard, 15, 15);
    d.endStroke();
    expect(d.layer(1)[5 * 20 + 5]).toBe(1);
    expect(d.layer(2)[5 * 20 + 5]).toBe(0);
    expect(d.layerIds.sort()).toEqual([1, 2]);
  });
});

describe('flood fill', () => {
  function outline(): MaskDocument {
    const d = new MaskDocument(30, 30);
    // a closed square outline from (5,5) to (20,20)
    d.beginStroke(T, 'brush', { sizePx: 1, hardness: 1 }, 5.5, 5.5);
    for (const [x, y] of [[20.5, 5.5], [20.5, 20.5], [5.5, 20.5], [5.5, 5.5]] as const) d.extendStroke(x, y);
    d.endStroke();
    return d;
  }

  it('fills the inside of a closed outline and nothing outside', () => {
    const d = outline();
    const before = d.area(T);
    const n = d.fill(T, 12, 12);
    expect(n).toBe(14 * 14);
    expect(d.area(T)).toBe(before + 14 * 14);
    expect(at(d, 2, 2)).toBe(0);
    expect(at(d, 25, 12)).toBe(0);
  });

  it('stops where the image changes by more than the tolerance', () => {
    const d = new MaskDocument(20, 10);
    const grey = new Uint8Array(200).map((_, i) => (i % 20 < 10 ? 50 : 200));
    d.setImagePixels(grey);
    expect(d.fill(T, 2, 2, 1, 30)).toBe(100);
    expect(at(d, 9, 5)).toBe(1);
    expect(at(d, 10, 5)).toBe(0);
  });

  it('does nothing outside the image or on a pixel that already has the value', () => {
    const d = outline();
    const h = d.historySize.undo;
    expect(d.fill(T, -1, 3)).toBe(0);
    expect(d.fill(T, 5, 5)).toBe(0);
    expect(d.historySize.undo).toBe(h);
  });
});

describe('history', () => {
  it('undoes and redoes one whole stroke per entry, however many pointer moves it had', () => {
    const d = new MaskDocument(50, 50);
    d.beginStroke(T, 'brush', hard, 5, 5);
    for (let x = 6; x < 45; x++) d.extendStroke(x, 5 + x / 3);
    d.endStroke();
    const afterFirst = d.layer(T).slice();
    d.beginStroke(T, 'brush', hard, 5, 40);
    d.extendStroke(45, 40);
    d.endStroke();
    const afterSecond = d.layer(T).slice();
    expect(d.historySize).toEqual({ undo: 2, redo: 0 });

    expect(d.undo()).toBe(true);
    expect(d.layer(T)).toEqual(afterFirst);
    expect(d.undo()).toBe(true);
    expect(ones(d.layer(T))).toBe(0);
    expect(d.undo()).toBe(false);
    expect(d.redo()).toBe(true);
    expect(d.layer(T)).toEqual(afterFirst);
    expect(d.redo()).toBe(true);
    expect(d.layer(T)).toEqual(afterSecond);
    expect(d.redo()).toBe(false);
  });

  it('makes no entry for a stroke that changed nothing, and a new stroke clears redo', () => {
    const d = new MaskDocument(20, 20);
    d.beginStroke(T, 'eraser', hard, 10, 10);
    expect(d.endStroke()).toBe(false);
    expect(d.historySize.undo).toBe(0);
    d.beginStroke(T, 'brush', hard, 10, 10);
    d.endStroke();
    d.undo();
    expect(d.canRedo).toBe(true);
    d.beginStroke(T, 'brush', hard, 3, 3);
    d.endStroke();
    expect(d.canRedo).toBe(false);
  });

  it('tracks unsaved changes by revision', () => {
    const d = new MaskDocument(10, 10);
    expect(d.isDirty).toBe(false);
    d.beginStroke(T, 'brush', hard, 5, 5);
    d.endStroke();
    expect(d.isDirty).toBe(true);
    d.markSaved();
    expect(d.isDirty).toBe(false);
    d.undo();
    expect(d.isDirty).toBe(true);
  });

  it('never records zoom or pan', () => {
    const d = new MaskDocument(100, 80);
    d.beginStroke(T, 'brush', hard, 50, 40);
    d.endStroke();
    const v = new Viewport();
    v.fit(100, 80, 800, 600);
    v.zoomAt(300, 200, 2.5);
    v.panBy(40, -10);
    v.actualSize(100, 80, 800, 600);
    expect(d.historySize).toEqual({ undo: 1, redo: 0 });
    expect(d.isDirty).toBe(true);
  });
});

describe('viewport', () => {
  it('zooms to the cursor: the image point under it stays put', () => {
    const v = new Viewport();
    v.fit(640, 480, 1000, 700);
    const before = v.toImage(123, 456);
    v.zoomAt(123, 456, 3);
    const after = v.toImage(123, 456);
    expect(after.x).toBeCloseTo(before.x, 9);
    expect(after.y).toBeCloseTo(before.y, 9);
  });

  it('fits the image inside the view and shows 100 % as one pixel per pixel', () => {
    const v = new Viewport();
    v.fit(2000, 1000, 1016, 532, 8);
    expect(v.scale).toBeCloseTo(0.5);
    expect(v.toScreen(0, 0).x).toBeCloseTo(8);
    v.actualSize(2000, 1000, 1016, 532);
    expect(v.scale).toBe(1);
  });
});

describe('mask fingerprint', () => {
  it('is equal for equal masks and differs after one pixel', () => {
    const a = new MaskDocument(16, 16);
    a.beginStroke(T, 'brush', hard, 8, 8);
    a.endStroke();
    const b = new MaskDocument(16, 16);
    b.loadLayer(T, a.layer(T));
    expect(maskHash(b)).toBe(maskHash(a));
    b.beginStroke(T, 'brush', { sizePx: 1, hardness: 1 }, 0, 0);
    b.endStroke();
    expect(maskHash(b)).not.toBe(maskHash(a));
  });
});
