/**
 * Saving and identifying a document's masks (pure apart from the API call). Masks go to the
 * services as raw 0/1 pixels at the image's full resolution; the services store them as
 * lossless PNGs. An all-zero layer deletes that type's mask.
 */
import type { MaskInfo } from '../../../src-main/common/api';
import type { MaskDocument } from './document';
import { AREA_LAYER } from './inspection-area';

export interface MaskSaver {
  masks: {
    save(args: { imageId: number; defectTypeId: number; width: number; height: number; data: Uint8Array }): Promise<MaskInfo | null>;
  };
}

/** Saves every layer of the document (one call per defect type). */
export async function saveDocument(api: MaskSaver, imageId: number, doc: MaskDocument): Promise<(MaskInfo | null)[]> {
  const out: (MaskInfo | null)[] = [];
  for (const id of doc.layerIds.sort((a, b) => a - b)) {
    if (id === AREA_LAYER) continue; // the dataset's inspection area, saved with the dataset
    out.push(await api.masks.save({ imageId, defectTypeId: id, width: doc.width, height: doc.height, data: doc.layer(id).slice() }));
  }
  return out;
}

/** A short fingerprint of the painted pixels (FNV-1a over the non-empty layers): equal masks, equal text. */
export function maskHash(doc: MaskDocument): string {
  let h = 0x811c9dc5;
  for (const id of doc.layerIds.sort((a, b) => a - b)) {
    if (id === AREA_LAYER) continue;
    const m = doc.layer(id);
    let any = false;
    for (let i = 0; i < m.length; i++) if (m[i]) { any = true; break; }
    if (!any) continue;
    for (const b of [id & 255, (id >> 8) & 255]) h = Math.imul(h ^ b, 0x01000193);
    for (let i = 0; i < m.length; i++) h = Math.imul(h ^ m[i]!, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
