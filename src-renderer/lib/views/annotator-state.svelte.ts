/**
 * The Annotator view's state and logic (no DOM): the image of the route with its masks as a
 * MaskDocument, the defect types and their colours, the tools (brush, eraser, fill) and their
 * settings, undo and redo per stroke, the saved state with autosave and the guard against
 * leaving with unsaved strokes, previous/next image, zoom and pan, and the image's newest
 * inspection heat map. Drawing is the surface's (the view hands in the Konva canvas and
 * picture loading); the view wires pointer and keyboard events to the methods here.
 */
import { untrack } from 'svelte';
import type { DefectType, ImageRecord, InspectionAreaInfo } from '../../../src-main/common/api';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { MaskDocument, Viewport, type Tool } from '../annotator/document';
import { findHeatmap, heatmapToggle, type HeatmapState } from '../annotator/heatmap';
import { takeHeatmapHandoff } from '../review-handoff';
import { maskHash, saveDocument } from '../annotator/persist';
import { AREA_LAYER, areaForDocument, areaLayerHash, polygonIndices, rectIndices, saveArea, type Point } from '../annotator/inspection-area';
import { fmt } from '../format';

/** The part of the API client the view uses. */
export type AnnotatorApi = Pick<ApiClient, 'images' | 'defectTypes' | 'masks' | 'inspection' | 'fileUrl' | 'datasets'>;

/** Where the document is drawn, and how pictures (of type P) are loaded for it: the view's canvas. */
export interface AnnotatorSurface<P> {
  /** Loads a picture for display; rejects when it cannot be shown. */
  loadPicture(url: string): Promise<P>;
  /** The picture's grey levels at the document's size (flood fill by colour); null when unreadable. */
  greyPixels(picture: P, width: number, height: number): Uint8Array | null;
  /** Shows a newly loaded document over its picture. */
  showDocument(doc: MaskDocument, picture: P): void;
  /** The heat map under the masks (undefined: none). */
  showHeatmap(picture: P | undefined): void;
  setHeatmapVisible(shown: boolean): void;
  setHeatmapOpacity(opacity: number): void;
  setColours(colours: Map<number, string>): void;
  setOpacity(opacity: number): void;
  applyViewport(viewport: Viewport): void;
  /** The drawing area's size in screen pixels (null while there is none). */
  size(): { width: number; height: number } | null;
  /** The outline of the rectangle or polygon being drawn (image pixels; null: none). */
  showShape?(points: Point[] | null, closed: boolean): void;
}

export interface AnnotatorOptions {
  /** Asks whether to leave although the last strokes could not be saved (default: window.confirm). */
  confirm?: (question: string) => boolean;
  /** Wait after the last stroke before it is saved (ms, default 1200). */
  autosaveMs?: number;
}

export type SaveState = 'saved' | 'dirty' | 'saving' | 'error';

/** The open document as of its last change: replaced (never changed) on every change it reports, so readers follow it. */
export interface DocSnapshot {
  doc: MaskDocument;
  /** Bumped by the document on every change of pixels. */
  revision: number;
  canUndo: boolean;
  canRedo: boolean;
  /** Strokes not saved yet. */
  dirty: boolean;
}

const snapshotOf = (doc: MaskDocument): DocSnapshot => ({ doc, revision: doc.revision, canUndo: doc.canUndo, canRedo: doc.canRedo, dirty: doc.isDirty });

/** Largest brush (image pixels) the keys reach. */
const MAX_BRUSH_PX = 400;

export class AnnotatorState<P> {
  readonly #api: AnnotatorApi;
  readonly #app: AppState;
  readonly #surface: AnnotatorSurface<P>;
  readonly #confirm: (question: string) => boolean;
  readonly #autosaveMs: number;
  /** Zoom and pan of the drawing (screen = image * scale + offset). */
  readonly viewport = new Viewport();

  image = $state.raw<ImageRecord | null>(null);
  defectTypes = $state.raw<DefectType[]>([]);
  activeType = $state<number | null>(null);
  tool = $state<Tool>('brush');
  sizePx = $state(12);
  hardness = $state(1);
  opacity = $state(0.55);
  tolerance = $state(0);
  snapshot = $state.raw<DocSnapshot | null>(null);
  saveState = $state<SaveState>('saved');
  saveError = $state('');
  zoomPct = $state(100);
  loading = $state(false);
  newTypeName = $state('');
  newTypeColour = $state('#e04040');
  /** The inspection heat map of the image, drawn under the masks (H shows or hides it). */
  heat = $state.raw<HeatmapState>({ status: 'none' });
  heatShown = $state(false);
  heatOpacity = $state(0.45);
  /** The dataset's inspection area as stored (null: none, the whole image is inspected). */
  areaInfo = $state.raw<InspectionAreaInfo | null>(null);
  /** The corners of the rectangle or polygon being drawn (image pixels). */
  shape = $state.raw<Point[]>([]);

  /** The dataset's image ids in order (for previous/next; loaded on first use). */
  #ids: number[] | null = null;
  #offDoc: (() => void) | null = null;
  #autosaveTimer: ReturnType<typeof setTimeout> | undefined;
  #loadToken = 0;
  /** The area layer as last saved or loaded (areaLayerHash): it is saved only when it changed. */
  #areaSaved = '';
  /** The defect type to return to when area editing ends. */
  #typeBeforeArea: number | null = null;

  readonly doc = $derived(this.snapshot?.doc ?? null);
  readonly colours = $derived(new Map(this.defectTypes.map((t) => [t.id, t.colour])));
  /** Painted pixels of the active type. */
  readonly area = $derived(this.activeType === null ? 0 : this.areaOf(this.activeType));
  /** A fingerprint of all painted pixels (equal masks, equal text). */
  readonly hash = $derived(this.snapshot ? maskHash(this.snapshot.doc) : '');
  readonly canUndo = $derived(this.snapshot?.canUndo ?? false);
  readonly canRedo = $derived(this.snapshot?.canRedo ?? false);
  readonly heatToggle = $derived(heatmapToggle(this.heat, (n) => fmt(n, 4)));
  readonly heatVisible = $derived(this.heatShown && this.heat.status === 'ready');
  /** The active layer is the dataset's inspection area. */
  readonly editingArea = $derived(this.activeType === AREA_LAYER);
  /** Share of the image inside the area as painted now (0: no area). */
  readonly areaShare = $derived(this.snapshot ? this.snapshot.doc.area(AREA_LAYER) / (this.snapshot.doc.width * this.snapshot.doc.height) : 0);
  readonly saveText = $derived(this.saveState === 'saved' ? 'Saved' : this.saveState === 'saving' ? 'Saving…' : this.saveState === 'dirty' ? 'Unsaved changes' : 'Not saved');

  constructor(api: AnnotatorApi, app: AppState, surface: AnnotatorSurface<P>, opts: AnnotatorOptions = {}) {
    this.#api = api;
    this.#app = app;
    this.#surface = surface;
    this.#confirm = opts.confirm ?? ((q) => window.confirm(q));
    this.#autosaveMs = opts.autosaveMs ?? 1200;

    // the image of the route (none yet: the dataset's first defective image, or any image)
    $effect(() => {
      const datasetId = app.route.datasetId;
      const imageId = app.route.imageId;
      if (!datasetId) return;
      untrack(() => (imageId ? void this.load(imageId) : this.#openFirst(datasetId)));
    });

    // the dataset's defect types (and its image order, loaded again when needed)
    $effect(() => {
      const datasetId = app.route.datasetId;
      untrack(() => {
        this.#ids = null;
        if (datasetId) api.defectTypes.list({ datasetId }).then((t) => (this.defectTypes = t), (e) => app.fail(e));
      });
    });

    // what the surface draws follows the settings
    $effect(() => {
      const c = this.colours;
      untrack(() => surface.setColours(c));
    });
    $effect(() => {
      const o = this.opacity;
      untrack(() => surface.setOpacity(o));
    });
    $effect(() => {
      const shown = this.heatVisible;
      untrack(() => surface.setHeatmapVisible(shown));
    });
    $effect(() => {
      const o = this.heatOpacity;
      untrack(() => surface.setHeatmapOpacity(o));
    });

    // leaving the image (another image, view or dataset) saves first
    $effect(() => {
      app.setLeaveGuard(() => this.canLeave());
      return () => {
        app.setLeaveGuard(null);
        clearTimeout(this.#autosaveTimer);
        this.#offDoc?.();
      };
    });
  }

  /** Unsaved strokes (for the page's own "leave?" question). */
  get unsaved(): boolean {
    return this.doc?.isDirty ?? false;
  }

  /** Painted pixels of a defect type's mask. */
  areaOf(defectTypeId: number): number {
    return this.snapshot?.doc.area(defectTypeId) ?? 0;
  }

  // ---- loading ----------------------------------------------------------------------------

  #openFirst(datasetId: number): void {
    this.#api.images
      .list({ datasetId, label: 'defect', limit: 1 })
      .then((p) => (p.items.length ? p : this.#api.images.list({ datasetId, limit: 1 })))
      .then((p) => {
        if (p.items[0]) void this.#app.go({ imageId: p.items[0].id });
      }, (e) => this.#app.fail(e));
  }

  /** Loads an image with its masks (a newer load wins over an older one). */
  async load(imageId: number): Promise<void> {
    const api = this.#api;
    const token = ++this.#loadToken;
    this.loading = true;
    try {
      const rec = await api.images.get({ imageId });
      const types = await api.defectTypes.list({ datasetId: rec.datasetId });
      const masks = await api.masks.list({ imageId });
      const d = new MaskDocument(rec.width, rec.height);
      for (const m of masks) {
        const px = await api.masks.get({ imageId, defectTypeId: m.defectTypeId });
        if (px) d.loadLayer(m.defectTypeId, px.data);
      }
      const area = await api.datasets.getInspectionArea({ datasetId: rec.datasetId });
      if (area) d.loadLayer(AREA_LAYER, areaForDocument(area, rec.width, rec.height));
      const picture = await this.#surface.loadPicture(api.fileUrl(rec.path));
      if (token !== this.#loadToken) return;
      this.image = rec;
      if (takeHeatmapHandoff(rec.id)) this.heatShown = true; // marked defect in the review: the heat map guides the painting
      this.defectTypes = types;
      if (this.activeType !== AREA_LAYER) this.activeType = rec.defectTypeId ?? masks[0]?.defectTypeId ?? types[0]?.id ?? null;
      this.areaInfo = area?.info ?? null;
      this.#areaSaved = areaLayerHash(d);
      this.cancelShape();
      d.markSaved();
      this.#setDocument(d, picture);
      this.saveState = 'saved';
      void this.#loadHeatmap(rec, token);
    } catch (e) {
      if (token === this.#loadToken) this.#app.fail(e);
    } finally {
      if (token === this.#loadToken) this.loading = false;
    }
  }

  /** Finds and draws the newest heat map of this picture (after the image shows; never blocks painting). */
  async #loadHeatmap(rec: ImageRecord, token: number): Promise<void> {
    const surface = this.#surface;
    this.heat = { status: 'looking' };
    surface.showHeatmap(undefined);
    try {
      const found = await findHeatmap(this.#api, rec);
      if (token !== this.#loadToken) return;
      if (!found) {
        this.heat = { status: 'missing' };
        return;
      }
      const picture = await surface.loadPicture(this.#api.fileUrl(found.heatmapPath)).catch(() => {
        throw new Error(`the heat map of inspection run #${found.runId} could not be displayed (missing file?).`);
      });
      if (token !== this.#loadToken) return;
      surface.showHeatmap(picture);
      surface.setHeatmapOpacity(this.heatOpacity);
      surface.setHeatmapVisible(this.heatShown);
      this.heat = { status: 'ready', found };
    } catch (e) {
      if (token === this.#loadToken) this.heat = { status: 'failed', message: e instanceof Error ? e.message : String(e) };
    }
  }

  #setDocument(d: MaskDocument, picture: P): void {
    this.#offDoc?.();
    this.snapshot = snapshotOf(d);
    d.setImagePixels(this.#surface.greyPixels(picture, d.width, d.height));
    this.#offDoc = d.onChange(() => {
      this.snapshot = snapshotOf(d);
      if (d.isDirty && this.saveState !== 'saving') this.saveState = 'dirty';
    });
    this.#surface.showDocument(d, picture);
    this.#surface.setColours(this.colours);
    this.#surface.setOpacity(this.opacity);
    this.fit();
  }

  // ---- painting -----------------------------------------------------------------------------

  /**
   * The left button went down at (x, y) in image pixels: the fill tool fills there; the brush
   * and the eraser start a stroke (true: moves extend it until `release`).
   */
  press(x: number, y: number): boolean {
    const doc = this.doc;
    if (!doc) return false;
    if (this.activeType === null) {
      this.#app.notify({ kind: 'error', message: 'Choose or create a defect type first.', hint: 'Masks are kept per defect type; add one in the panel on the right.' });
      return false;
    }
    if (this.tool === 'fill') {
      const n = doc.fill(this.activeType, x, y, 1, this.tolerance);
      if (n) this.#scheduleAutosave();
      return false;
    }
    if (this.tool === 'rect') {
      clearTimeout(this.#autosaveTimer);
      this.#setShape([{ x, y }, { x, y }]);
      return true;
    }
    if (this.tool === 'polygon') {
      this.#polygonPoint(x, y);
      return false;
    }
    clearTimeout(this.#autosaveTimer);
    doc.beginStroke(this.activeType, this.tool, { sizePx: this.sizePx, hardness: this.hardness }, x, y);
    return true;
  }

  /** The stroke reaches (x, y) (image pixels). */
  drag(x: number, y: number): void {
    if (this.tool === 'rect' && this.shape.length === 2) this.#setShape([this.shape[0]!, { x, y }]);
    else this.doc?.extendStroke(x, y);
  }

  /** The button was released: the stroke (or rectangle) is one undo step, saved a moment later. */
  release(): void {
    if (this.tool === 'rect' && this.shape.length === 2) {
      const [a, b] = this.shape as [Point, Point];
      this.cancelShape();
      const doc = this.doc;
      if (doc && this.activeType !== null && doc.setPixels(this.activeType, rectIndices(doc.width, doc.height, a, b), 1)) this.#scheduleAutosave();
      return;
    }
    if (this.doc?.endStroke()) this.#scheduleAutosave();
  }

  // ---- rectangle and polygon -------------------------------------------------------------------

  #setShape(points: Point[], closed = this.tool === 'rect'): void {
    this.shape = points;
    const outline = this.tool === 'rect' && points.length === 2
      ? [points[0]!, { x: points[1]!.x, y: points[0]!.y }, points[1]!, { x: points[0]!.x, y: points[1]!.y }]
      : points;
    this.#surface.showShape?.(points.length ? outline : null, closed);
  }

  /** A click of the polygon tool: a corner, or (on the first corner, with 3 or more) the closing of the outline. */
  #polygonPoint(x: number, y: number): void {
    const pts = this.shape;
    const first = pts[0];
    const near = first && Math.hypot(first.x - x, first.y - y) * this.viewport.scale <= 8;
    if (near && pts.length >= 3) this.closeShape();
    else this.#setShape([...pts, { x, y }], false);
  }

  /** The pointer moved to (x, y) without a button: the polygon's next edge follows it. */
  hover(x: number, y: number): void {
    if (this.tool === 'polygon' && this.shape.length) this.#surface.showShape?.([...this.shape, { x, y }], false);
  }

  /** Fills the polygon drawn so far (Enter, or a click on its first corner): one undo step. */
  closeShape(): void {
    const pts = this.shape;
    const doc = this.doc;
    this.cancelShape();
    if (!doc || this.activeType === null || pts.length < 3) return;
    if (doc.setPixels(this.activeType, polygonIndices(doc.width, doc.height, pts), 1)) this.#scheduleAutosave();
  }

  /** Drops the rectangle or polygon being drawn (Escape). */
  cancelShape(): void {
    this.shape = [];
    this.#surface.showShape?.(null, false);
  }

  // ---- the inspection area ------------------------------------------------------------------

  /** Paints the dataset's inspection area instead of a defect type's mask (A), or back. */
  toggleAreaEditing(): void {
    this.cancelShape();
    if (this.activeType === AREA_LAYER) {
      this.activeType = this.#typeBeforeArea ?? this.defectTypes[0]?.id ?? null;
    } else {
      this.#typeBeforeArea = this.activeType;
      this.activeType = AREA_LAYER;
    }
  }

  /** Removes the inspection area (undoable until saved; the whole image is then inspected). */
  clearArea(): void {
    const doc = this.doc;
    if (!doc || !doc.area(AREA_LAYER)) return;
    doc.clear(AREA_LAYER);
    this.#scheduleAutosave();
  }

  undo(): void {
    if (this.doc?.undo()) this.#scheduleAutosave();
  }

  redo(): void {
    if (this.doc?.redo()) this.#scheduleAutosave();
  }

  smallerBrush(): void {
    this.sizePx = Math.max(1, Math.round(this.sizePx / 1.25));
  }

  largerBrush(): void {
    this.sizePx = Math.min(MAX_BRUSH_PX, Math.max(this.sizePx + 1, Math.round(this.sizePx * 1.25)));
  }

  toggleHeat(): void {
    if (this.heat.status === 'ready') this.heatShown = !this.heatShown;
  }

  // ---- saving -------------------------------------------------------------------------------

  /** Saves the strokes not saved yet (rejects when they could not be saved). */
  async save(): Promise<void> {
    const d = this.doc;
    const img = this.image;
    if (!d || !img) return;
    clearTimeout(this.#autosaveTimer);
    if (!d.isDirty) return;
    this.saveState = 'saving';
    const revision = d.revision;
    try {
      await saveDocument(this.#api, img.id, d);
      const areaHash = areaLayerHash(d);
      if (areaHash !== this.#areaSaved) {
        this.areaInfo = await saveArea(this.#api, img.datasetId, d);
        this.#areaSaved = areaHash;
      }
      d.markSaved(revision);
      this.saveState = d.isDirty ? 'dirty' : 'saved';
      this.saveError = '';
      // the masks changed, and with them the dataset's counts
      void this.#app.invalidate('images', 'datasets');
    } catch (e) {
      this.saveState = 'error';
      this.saveError = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  /** Save now (the button, Ctrl+S): a failure is shown. */
  saveNow(): void {
    this.save().catch((e) => this.#app.fail(e));
  }

  #scheduleAutosave(): void {
    clearTimeout(this.#autosaveTimer);
    this.#autosaveTimer = setTimeout(() => this.saveNow(), this.#autosaveMs);
  }

  /** Whether the image may be left: saves first; when that fails, the user decides. */
  async canLeave(): Promise<boolean> {
    if (!this.doc?.isDirty) return true;
    try {
      await this.save();
      return true;
    } catch {
      return this.#confirm('The last strokes could not be saved. Leave and lose them?');
    }
  }

  // ---- images and defect types ----------------------------------------------------------------

  /** The previous (-1) or next (+1) image of the dataset (the unsaved strokes are saved first). */
  async step(delta: number): Promise<void> {
    const ds = this.#app.route.datasetId;
    const image = this.image;
    if (!ds || !image) return;
    try {
      if (!this.#ids) {
        const all: number[] = [];
        let cursor: string | undefined;
        do {
          const p = await this.#api.images.list({ datasetId: ds, limit: 1000, cursor });
          all.push(...p.items.map((i) => i.id));
          cursor = p.nextCursor ?? undefined;
        } while (cursor);
        this.#ids = all;
      }
      const k = this.#ids.indexOf(image.id);
      const next = this.#ids[k + delta];
      if (next !== undefined) await this.#app.go({ imageId: next });
    } catch (e) {
      this.#app.fail(e);
    }
  }

  /** Creates a defect type named `newTypeName` and makes it the active one. */
  async addType(): Promise<void> {
    const datasetId = this.#app.route.datasetId;
    if (!this.newTypeName.trim() || !datasetId) return;
    try {
      const t = await this.#api.defectTypes.create({ datasetId, name: this.newTypeName, colour: this.newTypeColour });
      this.defectTypes = await this.#api.defectTypes.list({ datasetId });
      this.activeType = t.id;
      this.newTypeName = '';
    } catch (err) {
      this.#app.fail(err);
    }
  }

  async setColour(t: DefectType, colour: string): Promise<void> {
    try {
      await this.#api.defectTypes.setColour({ defectTypeId: t.id, colour });
      this.defectTypes = this.defectTypes.map((x) => (x.id === t.id ? { ...x, colour } : x));
    } catch (e) {
      this.#app.fail(e);
    }
  }

  // ---- zoom and pan ---------------------------------------------------------------------------

  #applyView(): void {
    this.#surface.applyViewport(this.viewport);
    this.zoomPct = Math.round(this.viewport.scale * 100);
  }

  /** The whole image in view. */
  fit(): void {
    const size = this.#surface.size();
    if (!this.doc || !size) return;
    this.viewport.fit(this.doc.width, this.doc.height, size.width, size.height);
    this.#applyView();
  }

  /** One image pixel per screen pixel. */
  actual(): void {
    const size = this.#surface.size();
    if (!this.doc || !size) return;
    this.viewport.actualSize(this.doc.width, this.doc.height, size.width, size.height);
    this.#applyView();
  }

  /** Zooms by `factor` around (sx, sy) on screen (default: the middle). */
  zoom(factor: number, sx?: number, sy?: number): void {
    const size = this.#surface.size();
    if (!size) return;
    this.viewport.zoomAt(sx ?? size.width / 2, sy ?? size.height / 2, factor);
    this.#applyView();
  }

  panBy(dx: number, dy: number): void {
    this.viewport.panBy(dx, dy);
    this.#applyView();
  }
}
