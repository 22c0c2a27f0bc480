/**
 * The inspection area in the annotator (pure): the dataset's area is one more layer of the
 * MaskDocument (`AREA_LAYER`, never a defect type: those have ids >= 1), shown at the image's
 * size by relative position (common/inspection-area.ts `areaAt`: the area is image-normalised,
 * so one area serves images of every size), edited with the brush, eraser, fill and the
 * rectangle and polygon tools, and saved to the dataset, not the image.
 */
import { areaAt, type InspectionAreaPixels } from '../../../src-main/common/inspection-area';
import type { InspectionAreaInfo } from '../../../src-main/common/api';
import type { MaskDocument } from './document';

/** The layer id of the inspection area in a MaskDocument. */
export const AREA_LAYER = 0;

/** The dataset's area at the document's size (all zero: none, the whole image is inspected). */
export function areaForDocument(area: InspectionAreaPixels | null, width: number, height: number): Uint8Array {
  return area ? areaAt(area, width, height) : new Uint8Array(width * height);
}

/** A fingerprint of the area layer (FNV-1a; '' when empty). */
export function areaLayerHash(doc: MaskDocument): string {
  const m = doc.layer(AREA_LAYER);
  let h = 0x811c9dc5;
  let any = false;
  for (let i = 0; i < m.length; i++) {
    if (m[i]) any = true;
    h = Math.imul(h ^ m[i]!, 0x01000193);
  }
  return any ? `${doc.width}x${doc.height}:${(h >>> 0).toString(16)}` : '';
}

export interface AreaSaver {
  datasets: {
    setInspectionArea(args: { datasetId: number; area: InspectionAreaPixels | null }): Promise<InspectionAreaInfo | null>;
  };
}

/** Saves the document's area layer as the dataset's area (an empty layer clears it). */
export function saveArea(api: AreaSaver, datasetId: number, doc: MaskDocument): Promise<InspectionAreaInfo | null> {
  const pixels = doc.layer(AREA_LAYER).slice();
  const empty = !pixels.some((v) => v !== 0);
  return api.datasets.setInspectionArea({ datasetId, area: empty ? null : { width: doc.width, height: doc.height, pixels } });
}

export interface Point { x: number; y: number }

/** Pixels (row-major indices of a width x height image) whose centres lie in the rectangle spanned by a and b. */
export function rectIndices(width: number, height: number, a: Point, b: Point): number[] {
  const x0 = Math.max(0, Math.ceil(Math.min(a.x, b.x) - 0.5)), x1 = Math.min(width - 1, Math.floor(Math.max(a.x, b.x) - 0.5));
  const y0 = Math.max(0, Math.ceil(Math.min(a.y, b.y) - 0.5)), y1 = Math.min(height - 1, Math.floor(Math.max(a.y, b.y) - 0.5));
  const out: number[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push(y * width + x);
  return out;
}

/** Pixels whose centres lie inside the polygon (even-odd rule, scanline per row). */
export function polygonIndices(width: number, height: number, pts: Point[]): number[] {
  const out: number[] = [];
  if (pts.length < 3) return out;
  const ys = pts.map((p) => p.y);
  const yTop = Math.max(0, Math.floor(Math.min(...ys))), yBottom = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  for (let y = yTop; y <= yBottom; y++) {
    const cy = y + 0.5;
    const xs: number[] = [];
    for (let i = 0; i < pts.length; i++) {
      const p = pts[i]!, q = pts[(i + 1) % pts.length]!;
      if ((p.y <= cy && q.y > cy) || (q.y <= cy && p.y > cy)) xs.push(p.x + ((cy - p.y) / (q.y - p.y)) * (q.x - p.x));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const x0 = Math.max(0, Math.ceil(xs[k]! - 0.5)), x1 = Math.min(width - 1, Math.floor(xs[k + 1]! - 0.5));
      for (let x = x0; x <= x1; x++) out.push(y * width + x);
    }
  }
  return out;
}
