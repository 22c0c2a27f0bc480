/**
 * A model's heat-map colour scale (pure): fixed per model and threshold, so pictures compare
 * across images: the threshold is the middle of the scale (green), `threshold ± span` its ends
 * (blue, red), with span = K - threshold (K: the calibrated map maximum over held-out normal
 * images). Inspection colours its heat maps with it (inspection/heatmap.ts), the PDF report
 * draws its legend with it.
 */

export interface HeatScale {
  lo: number;
  hi: number;
}

export function heatScale(threshold: number, mapMax: number): HeatScale {
  const span = Math.max(mapMax - threshold, Math.abs(threshold) * 0.05, 1e-6);
  return { lo: threshold - span, hi: threshold + span };
}

/** Jet colour map, 256 entries of RGB. */
export const HEAT_LUT = (() => {
  const lut = new Uint8Array(256 * 3);
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    lut[3 * i] = c(1.5 - Math.abs(4 * t - 3));
    lut[3 * i + 1] = c(1.5 - Math.abs(4 * t - 2));
    lut[3 * i + 2] = c(1.5 - Math.abs(4 * t - 1));
  }
  return lut;
})();

export function colourOf(t: number): [number, number, number] {
  const i = Math.round(255 * Math.min(1, Math.max(0, t)));
  return [HEAT_LUT[3 * i]!, HEAT_LUT[3 * i + 1]!, HEAT_LUT[3 * i + 2]!];
}
