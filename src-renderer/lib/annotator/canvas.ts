/**
 * Konva drawing of the annotation document. A fixed layer stack, created once:
 *   image (the photo) / heat (the image's inspection heat map, when there is one: scaled to
 *   the image, semi-transparent, shown or hidden) / mask (the document, coloured per defect
 *   type) / stroke (the brush outline under the cursor) / ui (nothing clickable yet)
 * All layers but none listen: pointer input is read from the container element and handed to
 * the active tool by the Annotator view; this module only draws what the document and the
 * viewport say.
 */
import Konva from 'konva';
import type { DirtyRect, MaskDocument, Viewport } from './document';
import { AREA_LAYER, type Point } from './inspection-area';

/** How the outside of the inspection area is shaded (RGBA): dark and half transparent. */
const OUTSIDE_AREA: readonly [number, number, number, number] = [10, 14, 24, 170];

export function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export class AnnotatorCanvas {
  readonly stage: Konva.Stage;
  readonly #imageLayer = new Konva.Layer({ listening: false });
  readonly #heatLayer = new Konva.Layer({ listening: false });
  readonly #maskLayer = new Konva.Layer({ listening: false, imageSmoothingEnabled: false });
  readonly #strokeLayer = new Konva.Layer({ listening: false });
  readonly #uiLayer = new Konva.Layer({ listening: false });
  readonly #image = new Konva.Image({ image: undefined, x: 0, y: 0 });
  readonly #mask = new Konva.Image({ image: undefined, x: 0, y: 0 });
  readonly #heat = new Konva.Image({ image: undefined, x: 0, y: 0, opacity: 0.5, visible: false });
  #heatShown = false;
  readonly #cursor = new Konva.Circle({ radius: 5, stroke: '#ffffff', strokeWidth: 1, dash: [3, 3], visible: false, strokeScaleEnabled: false });
  readonly #cursorShadow = new Konva.Circle({ radius: 5, stroke: '#000000', strokeWidth: 1, visible: false, strokeScaleEnabled: false, opacity: 0.5 });
  /** The inspection area: its outside shaded (nothing drawn while the dataset has none). */
  readonly #area = new Konva.Image({ image: undefined, x: 0, y: 0 });
  readonly #areaCanvas: HTMLCanvasElement;
  readonly #areaCtx: CanvasRenderingContext2D;
  /** The rectangle or polygon being drawn. */
  readonly #shape = new Konva.Line({ points: [], stroke: '#ffd400', strokeWidth: 1.5, dash: [6, 4], strokeScaleEnabled: false, visible: false });
  readonly #maskCanvas: HTMLCanvasElement;
  readonly #maskCtx: CanvasRenderingContext2D;
  #doc: MaskDocument;
  #colours = new Map<number, [number, number, number]>();
  #order: number[] = [];
  #off: () => void;
  #frame = 0;
  #pending: DirtyRect | null | 'all' = null;
  /** The area overlay shows an area (so a dirty rectangle is enough to update it). */
  #areaShown = false;

  constructor(container: HTMLDivElement, doc: MaskDocument, width: number, height: number) {
    this.stage = new Konva.Stage({ container, width, height, listening: false });
    this.#imageLayer.add(this.#image);
    this.#heatLayer.add(this.#heat);
    this.#maskLayer.add(this.#area, this.#mask);
    this.#strokeLayer.add(this.#cursorShadow, this.#cursor, this.#shape);
    for (const l of [this.#imageLayer, this.#heatLayer, this.#maskLayer, this.#strokeLayer, this.#uiLayer]) this.stage.add(l);
    this.#maskCanvas = document.createElement('canvas');
    this.#maskCtx = this.#maskCanvas.getContext('2d')!;
    this.#areaCanvas = document.createElement('canvas');
    this.#areaCtx = this.#areaCanvas.getContext('2d')!;
    this.#doc = doc;
    this.#off = () => undefined;
    this.setDocument(doc);
  }

  setDocument(doc: MaskDocument): void {
    this.#off();
    this.#doc = doc;
    this.#maskCanvas.width = doc.width;
    this.#maskCanvas.height = doc.height;
    this.#mask.image(this.#maskCanvas);
    this.#areaCanvas.width = doc.width;
    this.#areaCanvas.height = doc.height;
    this.#area.image(this.#areaCanvas);
    this.#heat.size({ width: doc.width, height: doc.height });
    this.#off = doc.onChange((dirty) => this.#schedule(dirty));
    this.#schedule(null);
  }

  setImage(img: CanvasImageSource | undefined): void {
    this.#image.image(img);
    this.#imageLayer.batchDraw();
  }

  /**
   * The heat map drawn over the image (any size: it is stretched over the whole image, as the
   * inspection computed it); undefined removes it.
   */
  setHeatmap(img: CanvasImageSource | undefined): void {
    this.#heat.image(img);
    this.#heat.size({ width: this.#doc.width, height: this.#doc.height });
    this.#heat.visible(this.#heatShown && img !== undefined);
    this.#heatLayer.batchDraw();
  }

  setHeatmapVisible(shown: boolean): void {
    this.#heatShown = shown;
    this.#heat.visible(shown && !!this.#heat.image());
    this.#heatLayer.batchDraw();
  }

  setHeatmapOpacity(opacity: number): void {
    this.#heat.opacity(Math.min(1, Math.max(0, opacity)));
    this.#heatLayer.batchDraw();
  }

  /** Colours per defect type (`#rrggbb`) and their drawing order (last on top). */
  setColours(colours: Map<number, string>): void {
    this.#colours = new Map([...colours].map(([k, v]) => [k, hexToRgb(v)]));
    this.#order = [...colours.keys()];
    this.#schedule(null);
  }

  setOpacity(opacity: number): void {
    this.#mask.opacity(opacity);
    this.#maskLayer.batchDraw();
  }

  resize(width: number, height: number): void {
    this.stage.size({ width, height });
  }

  applyViewport(v: Viewport): void {
    this.stage.scale({ x: v.scale, y: v.scale });
    this.stage.position({ x: v.offsetX, y: v.offsetY });
    this.#imageLayer.imageSmoothingEnabled(v.scale < 2);
    this.stage.batchDraw();
  }

  /** The brush outline at image coordinates (null hides it). */
  showCursor(at: { x: number; y: number } | null, radiusPx: number): void {
    for (const c of [this.#cursorShadow, this.#cursor]) {
      c.visible(at !== null);
      if (at) {
        c.position(at);
        c.radius(Math.max(0.5, radiusPx));
      }
    }
    this.#strokeLayer.batchDraw();
  }

  /** The outline of the rectangle or polygon being drawn (image pixels; null hides it). */
  showShape(points: Point[] | null, closed: boolean): void {
    this.#shape.visible(!!points && points.length > 0);
    this.#shape.points(points ? points.flatMap((p) => [p.x, p.y]) : []);
    this.#shape.closed(closed);
    this.#strokeLayer.batchDraw();
  }

  /** Shades the outside of the inspection area in rectangle r (nothing when the area is empty). */
  #drawArea(r: DirtyRect): void {
    const doc = this.#doc;
    const area = doc.layerIds.includes(AREA_LAYER) ? doc.layer(AREA_LAYER) : null;
    const any = area !== null && area.some((v) => v === 1);
    if (!any) {
      this.#areaCtx.clearRect(0, 0, doc.width, doc.height);
      return;
    }
    // an area that was empty until now shades everything outside it, not only the dirty part
    const whole = r.width * r.height < doc.width * doc.height && !this.#areaShown ? { x: 0, y: 0, width: doc.width, height: doc.height } : r;
    const img = this.#areaCtx.createImageData(whole.width, whole.height);
    const out = img.data;
    for (let j = 0; j < whole.height; j++) {
      const row = (whole.y + j) * doc.width + whole.x;
      for (let i = 0; i < whole.width; i++) {
        if (area![row + i]) continue;
        out.set(OUTSIDE_AREA, (j * whole.width + i) * 4);
      }
    }
    this.#areaCtx.putImageData(img, whole.x, whole.y);
  }

  #schedule(dirty: DirtyRect | null): void {
    if (dirty === null) this.#pending = 'all';
    else if (this.#pending === null) this.#pending = dirty;
    else if (this.#pending !== 'all') {
      const p = this.#pending;
      const x0 = Math.min(p.x, dirty.x), y0 = Math.min(p.y, dirty.y);
      const x1 = Math.max(p.x + p.width, dirty.x + dirty.width), y1 = Math.max(p.y + p.height, dirty.y + dirty.height);
      this.#pending = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    }
    if (!this.#frame) this.#frame = requestAnimationFrame(() => this.#flush());
  }

  #flush(): void {
    this.#frame = 0;
    const p = this.#pending;
    this.#pending = null;
    if (p === null) return;
    const doc = this.#doc;
    const r = p === 'all' ? { x: 0, y: 0, width: doc.width, height: doc.height } : p;
    if (r.width <= 0 || r.height <= 0) return;
    this.#drawArea(r);
    this.#areaShown = doc.layerIds.includes(AREA_LAYER) && doc.layer(AREA_LAYER).some((v) => v === 1);
    const img = this.#maskCtx.createImageData(r.width, r.height);
    const out = img.data;
    const layers = this.#order.filter((id) => doc.layerIds.includes(id)).map((id) => ({ m: doc.layer(id), c: this.#colours.get(id)! }));
    for (let j = 0; j < r.height; j++) {
      const row = (r.y + j) * doc.width + r.x;
      for (let i = 0; i < r.width; i++) {
        const idx = row + i;
        for (let k = layers.length - 1; k >= 0; k--) {
          if (layers[k]!.m[idx]) {
            const o = (j * r.width + i) * 4;
            const c = layers[k]!.c;
            out[o] = c[0];
            out[o + 1] = c[1];
            out[o + 2] = c[2];
            out[o + 3] = 255;
            break;
          }
        }
      }
    }
    this.#maskCtx.putImageData(img, r.x, r.y);
    this.#maskLayer.batchDraw();
  }

  destroy(): void {
    this.#off();
    if (this.#frame) cancelAnimationFrame(this.#frame);
    this.stage.destroy();
  }
}
