/**
 * The annotation document of one image: one binary mask per defect type at the image's full
 * resolution, the tools that edit it (brush, eraser, flood fill) and its history. Plain
 * TypeScript with no DOM and no Konva, so every tool is tested in Node; the canvas only draws
 * what is here. One gesture (a stroke, a fill) is one undo entry; zoom and pan live in the
 * Viewport and never enter the history.
 */

/** `rect` and `polygon` fill a dragged rectangle or a clicked outline (one undo entry each). */
export type Tool = 'brush' | 'eraser' | 'fill' | 'rect' | 'polygon';

export interface BrushSettings {
  /** Diameter in image pixels (>= 1). */
  sizePx: number;
  /** 0..1: 1 = a crisp disc; lower values soften the edge (see `dabCoverage`). */
  hardness: number;
}

/** Changed pixels of one layer: their indices and the values before and after. */
interface Change {
  layer: number;
  indices: Uint32Array;
  before: Uint8Array;
  after: Uint8Array;
}

export interface DirtyRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Coverage of a brush dab at distance `d` from its centre, radius `r`: 1 inside the hard core
 * (hardness x r), falling linearly to 0 at the rim. A stroke keeps, per pixel, the highest
 * coverage of its dabs, and sets the pixels covered at least half: so the mask stays binary
 * (lossless, 1 = defect) while a soft brush paints a slimmer line with the same cursor size.
 */
export function dabCoverage(d: number, r: number, hardness: number): number {
  const core = Math.max(0, Math.min(1, hardness)) * r;
  if (d <= core) return 1;
  if (d >= r) return 0;
  return 1 - (d - core) / (r - core);
}

export class MaskDocument {
  readonly width: number;
  readonly height: number;
  readonly #layers = new Map<number, Uint8Array>();
  #undo: Change[] = [];
  #redo: Change[] = [];
  /** Pixels of the open stroke: index -> coverage; the layer's values before the stroke. */
  #stroke: { layer: number; value: 0 | 1; coverage: Map<number, number>; before: Map<number, number>; last: { x: number; y: number } | null; brush: BrushSettings } | null = null;
  #listeners = new Set<(dirty: DirtyRect | null) => void>();
  /** Bumped on every change of pixels; `savedRevision` marks what the server has. */
  revision = 0;
  savedRevision = 0;
  /** Optional grey image pixels (w x h) for flood fill by colour. */
  #image: Uint8Array | null = null;

  constructor(width: number, height: number) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad document size ${width}x${height}`);
    this.width = width;
    this.height = height;
  }

  /** Called after every change with the changed rectangle (null: everything). */
  onChange(listener: (dirty: DirtyRect | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(dirty: DirtyRect | null): void {
    for (const l of this.#listeners) l(dirty);
  }

  get isDirty(): boolean {
    return this.revision !== this.savedRevision;
  }

  markSaved(revision = this.revision): void {
    this.savedRevision = revision;
    this.#emit(null);
  }

  get canUndo(): boolean {
    return this.#undo.length > 0 && !this.#stroke;
  }

  get canRedo(): boolean {
    return this.#redo.length > 0 && !this.#stroke;
  }

  get historySize(): { undo: number; redo: number } {
    return { undo: this.#undo.length, redo: this.#redo.length };
  }

  /** Defect type ids with a layer. */
  get layerIds(): number[] {
    return [...this.#layers.keys()];
  }

  /** The mask of a defect type (created empty on first use). Do not write to it directly. */
  layer(defectTypeId: number): Uint8Array {
    let m = this.#layers.get(defectTypeId);
    if (!m) {
      m = new Uint8Array(this.width * this.height);
      this.#layers.set(defectTypeId, m);
    }
    return m;
  }

  /** Replaces a layer with loaded pixels (not an undoable edit; clears that layer's history). */
  loadLayer(defectTypeId: number, data: Uint8Array): void {
    if (data.length !== this.width * this.height) throw new RangeError(`mask has ${data.length} pixels, expected ${this.width * this.height}`);
    this.#layers.set(defectTypeId, Uint8Array.from(data, (v) => (v ? 1 : 0)));
    this.#undo = this.#undo.filter((c) => c.layer !== defectTypeId);
    this.#redo = this.#redo.filter((c) => c.layer !== defectTypeId);
    this.#emit(null);
  }

  setImagePixels(grey: Uint8Array | null): void {
    if (grey && grey.length !== this.width * this.height) throw new RangeError('image pixels do not match the document size');
    this.#image = grey;
  }

  area(defectTypeId: number): number {
    const m = this.#layers.get(defectTypeId);
    if (!m) return 0;
    let n = 0;
    for (let i = 0; i < m.length; i++) n += m[i]!;
    return n;
  }

  // ---- strokes (brush and eraser) ------------------------------------------------------

  get isStroking(): boolean {
    return this.#stroke !== null;
  }

  beginStroke(defectTypeId: number, tool: 'brush' | 'eraser', brush: BrushSettings, x: number, y: number): void {
    if (this.#stroke) this.endStroke();
    this.layer(defectTypeId);
    this.#stroke = { layer: defectTypeId, value: tool === 'brush' ? 1 : 0, coverage: new Map(), before: new Map(), last: null, brush: { sizePx: Math.max(1, brush.sizePx), hardness: brush.hardness } };
    this.extendStroke(x, y);
  }

  /** Adds the segment from the last point to (x, y), in image pixel coordinates. */
  extendStroke(x: number, y: number): void {
    const s = this.#stroke;
    if (!s) return;
    const r = s.brush.sizePx / 2;
    const from = s.last ?? { x, y };
    const dist = Math.hypot(x - from.x, y - from.y);
    const stepPx = Math.max(0.5, r / 4);
    const n = Math.max(1, Math.ceil(dist / stepPx));
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const layer = this.#layers.get(s.layer)!;
    for (let k = s.last ? 1 : 0; k <= n; k++) {
      const cx = from.x + ((x - from.x) * k) / n;
      const cy = from.y + ((y - from.y) * k) / n;
      // pixel (i, j) covers [i, i+1) x [j, j+1); its centre is at i + 0.5
      const ia = Math.max(0, Math.floor(cx - r)), ib = Math.min(this.width - 1, Math.ceil(cx + r));
      const ja = Math.max(0, Math.floor(cy - r)), jb = Math.min(this.height - 1, Math.ceil(cy + r));
      for (let j = ja; j <= jb; j++) {
        for (let i = ia; i <= ib; i++) {
          // a 1-pixel brush always paints the pixel under the cursor
          const d = r <= 0.5 ? (Math.floor(cx) === i && Math.floor(cy) === j ? 0 : Infinity) : Math.hypot(i + 0.5 - cx, j + 0.5 - cy);
          const c = r <= 0.5 ? (d === 0 ? 1 : 0) : dabCoverage(d, r, s.brush.hardness);
          if (c <= 0) continue;
          const idx = j * this.width + i;
          const prev = s.coverage.get(idx) ?? 0;
          if (c <= prev) continue;
          s.coverage.set(idx, c);
          if (c >= 0.5 && layer[idx] !== s.value) {
            if (!s.before.has(idx)) s.before.set(idx, layer[idx]!);
            layer[idx] = s.value;
            if (i < x0) x0 = i;
            if (i > x1) x1 = i;
            if (j < y0) y0 = j;
            if (j > y1) y1 = j;
          }
        }
      }
    }
    s.last = { x, y };
    if (x1 >= x0) {
      this.revision++;
      this.#emit({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
    }
  }

  /** Closes the stroke: one undo entry (none when nothing changed). */
  endStroke(): boolean {
    const s = this.#stroke;
    if (!s) return false;
    this.#stroke = null;
    const layer = this.#layers.get(s.layer)!;
    const changed = [...s.before.entries()].filter(([idx, before]) => layer[idx] !== before).sort((a, b) => a[0] - b[0]);
    if (changed.length === 0) {
      this.#emit(null);
      return false;
    }
    this.#push({
      layer: s.layer,
      indices: Uint32Array.from(changed.map(([i]) => i)),
      before: Uint8Array.from(changed.map(([, b]) => b)),
      after: Uint8Array.from(changed.map(([i]) => layer[i]!)),
    });
    return true;
  }

  #push(c: Change): void {
    this.#undo.push(c);
    if (this.#undo.length > 500) this.#undo.shift();
    this.#redo = [];
    this.#emit(null);
  }

  // ---- flood fill -------------------------------------------------------------------------

  /**
   * Fills the 4-connected region around (x, y) whose mask value equals the seed's (the inside
   * of an outline) with `value`. With `tolerance` > 0 and image pixels set, the region also
   * stops where the image's grey level differs from the seed's by more than the tolerance.
   * One undo entry. Returns the number of pixels changed.
   */
  fill(defectTypeId: number, x: number, y: number, value: 0 | 1 = 1, tolerance = 0): number {
    const i0 = Math.floor(x), j0 = Math.floor(y);
    if (i0 < 0 || j0 < 0 || i0 >= this.width || j0 >= this.height) return 0;
    const layer = this.layer(defectTypeId);
    const W = this.width, H = this.height;
    const seed = j0 * W + i0;
    const seedValue = layer[seed]!;
    if (seedValue === value) return 0;
    const img = tolerance > 0 ? this.#image : null;
    const seedGrey = img ? img[seed]! : 0;
    const visited = new Uint8Array(W * H);
    const stack = [seed];
    visited[seed] = 1;
    const indices: number[] = [];
    while (stack.length) {
      const idx = stack.pop()!;
      indices.push(idx);
      const i = idx % W, j = (idx - i) / W;
      const next = [i > 0 ? idx - 1 : -1, i < W - 1 ? idx + 1 : -1, j > 0 ? idx - W : -1, j < H - 1 ? idx + W : -1];
      for (const n of next) {
        if (n < 0 || visited[n]) continue;
        visited[n] = 1;
        if (layer[n] !== seedValue) continue;
        if (img && Math.abs(img[n]! - seedGrey) > tolerance) continue;
        stack.push(n);
      }
    }
    indices.sort((a, b) => a - b);
    for (const idx of indices) layer[idx] = value;
    this.#push({ layer: defectTypeId, indices: Uint32Array.from(indices), before: new Uint8Array(indices.length).fill(seedValue), after: new Uint8Array(indices.length).fill(value) });
    this.revision++;
    this.#emit(null);
    return indices.length;
  }

  /** Sets the given pixels of a layer to `value` (a rectangle, a polygon): one undo entry. Returns the pixels changed. */
  setPixels(layerId: number, indices: readonly number[], value: 0 | 1): number {
    const layer = this.layer(layerId);
    const changed = [...new Set(indices)].filter((i) => i >= 0 && i < layer.length && layer[i] !== value).sort((a, b) => a - b);
    if (!changed.length) return 0;
    const before = Uint8Array.from(changed, (i) => layer[i]!);
    for (const i of changed) layer[i] = value;
    this.#push({ layer: layerId, indices: Uint32Array.from(changed), before, after: new Uint8Array(changed.length).fill(value) });
    this.revision++;
    this.#emit(null);
    return changed.length;
  }

  // ---- history ------------------------------------------------------------------------------

  #apply(c: Change, values: Uint8Array): void {
    const layer = this.layer(c.layer);
    for (let k = 0; k < c.indices.length; k++) layer[c.indices[k]!] = values[k]!;
    this.revision++;
    this.#emit(null);
  }

  undo(): boolean {
    if (!this.canUndo) return false;
    const c = this.#undo.pop()!;
    this.#redo.push(c);
    this.#apply(c, c.before);
    return true;
  }

  redo(): boolean {
    if (!this.canRedo) return false;
    const c = this.#redo.pop()!;
    this.#undo.push(c);
    this.#apply(c, c.after);
    return true;
  }

  /** Clears a layer (one undo entry). */
  clear(defectTypeId: number): void {
    const layer = this.layer(defectTypeId);
    const idx: number[] = [];
    for (let i = 0; i < layer.length; i++) if (layer[i]) idx.push(i);
    if (!idx.length) return;
    for (const i of idx) layer[i] = 0;
    this.#push({ layer: defectTypeId, indices: Uint32Array.from(idx), before: new Uint8Array(idx.length).fill(1), after: new Uint8Array(idx.length) });
    this.revision++;
    this.#emit(null);
  }
}

/**
 * Zoom and pan of the canvas: screen = image * scale + offset. Kept apart from the document
 * (never in its history).
 */
export class Viewport {
  scale = 1;
  offsetX = 0;
  offsetY = 0;
  static readonly MIN_SCALE = 0.02;
  static readonly MAX_SCALE = 64;

  toImage(sx: number, sy: number): { x: number; y: number } {
    return { x: (sx - this.offsetX) / this.scale, y: (sy - this.offsetY) / this.scale };
  }

  toScreen(ix: number, iy: number): { x: number; y: number } {
    return { x: ix * this.scale + this.offsetX, y: iy * this.scale + this.offsetY };
  }

  /** Zooms by `factor` keeping the image point under the screen point (sx, sy) in place. */
  zoomAt(sx: number, sy: number, factor: number): void {
    const p = this.toImage(sx, sy);
    this.scale = Math.min(Viewport.MAX_SCALE, Math.max(Viewport.MIN_SCALE, this.scale * factor));
    this.offsetX = sx - p.x * this.scale;
    this.offsetY = sy - p.y * this.scale;
  }

  panBy(dx: number, dy: number): void {
    this.offsetX += dx;
    this.offsetY += dy;
  }

  /** The whole image centred in a view of viewW x viewH, with a small margin. */
  fit(imageW: number, imageH: number, viewW: number, viewH: number, marginPx = 16): void {
    const s = Math.min((viewW - 2 * marginPx) / imageW, (viewH - 2 * marginPx) / imageH);
    this.scale = Math.min(Viewport.MAX_SCALE, Math.max(Viewport.MIN_SCALE, s));
    this.offsetX = (viewW - imageW * this.scale) / 2;
    this.offsetY = (viewH - imageH * this.scale) / 2;
  }

  /** 100 %: one image pixel per screen pixel, centred. */
  actualSize(imageW: number, imageH: number, viewW: number, viewH: number): void {
    this.scale = 1;
    this.offsetX = Math.round((viewW - imageW) / 2);
    this.offsetY = Math.round((viewH - imageH) / 2);
  }
}
