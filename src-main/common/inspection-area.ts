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
