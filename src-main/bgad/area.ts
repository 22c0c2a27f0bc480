/**
 * The inspection area (region of interest) of a dataset: a binary mask in IMAGE-NORMALISED
 * coordinates. Every image is resized to the model's input (S x S, without keeping the aspect
 * ratio) before it is scored, so one area serves images of any size: pixel (x, y) of an image
 * of W x H lies inside when the area's pixel at (floor((x + 0.5) / W * width),
 * floor((y + 0.5) / H * height)) is 1 (nearest neighbour on the relative position). An area
 * painted on a 1024 x 768 image covers the same fraction of a 512 x 512 image.
 *
 * Positions outside it are left out of training (the sampler never draws them, so they weigh
 * in neither the likelihood, the push-pull terms nor the explicit boundary; calibration and
 * the threshold see only inside positions) and their anomaly map is zero at inspection (the
 * scoring head multiplies the map by the area at S x S before the image score). Pure.
 */
import { areaAt, type InspectionAreaPixels } from '../common/inspection-area';
import { maskToLevel } from './sampler';
import { asGeometry, type InputSize } from './geometry';

export { areaAt };

/** width x height values, row-major, 1 = inspected, 0 = left out. */
export type InspectionArea = InspectionAreaPixels;

/** Largest side of a stored area (it is only ever used at the model's resolution). */
export const MAX_AREA_SIDE = 8192;

/** What is wrong with an area, in words (null when it is usable). */
export function areaProblem(a: InspectionArea): string | null {
  if (!Number.isInteger(a.width) || !Number.isInteger(a.height) || a.width < 1 || a.height < 1 || a.width > MAX_AREA_SIDE || a.height > MAX_AREA_SIDE) {
    return `its size ${a.width}x${a.height} is not between 1x1 and ${MAX_AREA_SIDE}x${MAX_AREA_SIDE}`;
  }
  if (!(a.pixels instanceof Uint8Array) || a.pixels.length !== a.width * a.height) return `it has ${a.pixels?.length ?? 0} pixels but ${a.width}x${a.height} needs ${a.width * a.height}`;
  return null;
}

/** Number of pixels inside. */
export function areaCount(a: InspectionArea): number {
  let n = 0;
  for (let i = 0; i < a.pixels.length; i++) if (a.pixels[i]) n++;
  return n;
}

/** Fraction of the image inside (0..1). */
export function areaFraction(a: InspectionArea): number {
  return areaCount(a) / (a.width * a.height);
}

/**
 * The area at a feature level (height x width cells of an S x S input): a cell is trained
 * when any of its pixels is inside, since its likelihood spreads into those pixels' map.
 */
export function areaAtLevel(a: InspectionArea, S: InputSize, height: number, width: number): Uint8Array {
  const g = asGeometry(S);
  return maskToLevel(areaAt(a, g.width, g.height), g, height, width, 'any');
}
