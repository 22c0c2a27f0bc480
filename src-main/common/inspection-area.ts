/**
 * The inspection area as it crosses the API (pure): a dataset's binary mask in image-normalised
 * coordinates (src-main/bgad/area.ts says how it maps onto images of any size).
 */

/** An inspection area's pixels: width * height values, row-major, 1 = inspected (Uint8Array). */
export interface InspectionAreaPixels {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** What is stored about a dataset's inspection area. */
export interface InspectionAreaInfo {
  datasetId: number;
  width: number;
  height: number;
  /** Pixels inside. */
  areaPx: number;
  /** Share of the image inside, 0..1. */
  fraction: number;
  /** sha256 of the 0/1 pixels (equal areas, equal hash). */
  sha256: string;
  updatedAtMs: number;
}

export type InspectionAreaRecord = InspectionAreaPixels & { info: InspectionAreaInfo };

/**
 * The area at width x height (nearest neighbour on pixel centres), as 0/1: pixel (x, y) of a
 * W x H image is inside when the area's pixel at (floor((x + 0.5) / W * area.width),
 * floor((y + 0.5) / H * area.height)) is. The one mapping the annotator, training and the
 * scoring head use.
 */
export function areaAt(a: InspectionAreaPixels, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const cols = new Int32Array(width);
  for (let x = 0; x < width; x++) cols[x] = Math.min(a.width - 1, Math.floor(((x + 0.5) * a.width) / width));
  for (let y = 0; y < height; y++) {
    const sy = Math.min(a.height - 1, Math.floor(((y + 0.5) * a.height) / height));
    const row = sy * a.width;
    for (let x = 0; x < width; x++) out[y * width + x] = a.pixels[row + cols[x]!] ? 1 : 0;
  }
  return out;
}
