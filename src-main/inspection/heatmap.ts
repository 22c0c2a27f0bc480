/**
 * Heat-map pictures of one inspected image, all made from the model-size input tensor and
 * anomaly map (no second decode of the original file):
 * - the anomaly map coloured (PNG), blurred for display (Gaussian sigma 4 at 256 px,
 *   bgad/README.md §5: cosmetic only; scores use the raw map);
 * - the map blended over the image (PNG);
 * - small JPEG thumbnails of the image and of the overlay, for the reports.
 * Pictures are brought back to the original aspect ratio (the model sees a square).
 *
 * Colour scale: the model's (model/heat-scale.ts), fixed per model and threshold, so
 * pictures compare across images.
 */
import sharp from 'sharp';
import { HEAT_LUT, type HeatScale } from '../model/heat-scale';
import { asGeometry, type InputSize } from '../bgad/geometry';

export interface HeatPictures {
  mapPng: Buffer;
  overlayPng: Buffer;
  thumbJpeg: Buffer;
  overlayThumbJpeg: Buffer;
  /** Size of the PNGs (original aspect ratio, longest side `displayPx`). */
  width: number;
  height: number;
}

export interface HeatOptions {
  /** Longest side of the heat-map PNGs; default 256. */
  displayPx?: number;
  /** Longest side of the JPEG thumbnails; default 160. */
  thumbPx?: number;
  /** Weight of the heat colours in the overlay; default 0.45. */
  alpha?: number;
}

function fitSize(w: number, h: number, max: number): { width: number; height: number } {
  const k = max / Math.max(w, h, 1);
  return { width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(h * k)) };
}

/**
 * `chw`: 3*H*W RGB in [0,1]; `map`: H*W anomaly map (`S`: the model's input, S x S or
 * H x W); `width`/`height`: the original image size (the pictures take its aspect ratio).
 */
export async function renderHeatPictures(chw: Float32Array, map: Float32Array, S: InputSize, width: number, height: number, scale: HeatScale, opts: HeatOptions = {}): Promise<HeatPictures> {
  const { height: IH, width: IW } = asGeometry(S);
  const plane = IH * IW;
  const grey = Buffer.allocUnsafe(plane);
  const k = 255 / (scale.hi - scale.lo);
  for (let i = 0; i < plane; i++) {
    const v = (map[i]! - scale.lo) * k;
    grey[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  const sigma = (4 * Math.max(IH, IW)) / 256;
  const blurred = sigma >= 0.3 ? await sharp(grey, { raw: { width: IW, height: IH, channels: 1 } }).blur(sigma).raw().toBuffer() : grey;
  const heat = Buffer.allocUnsafe(plane * 3);
  const rgb = Buffer.allocUnsafe(plane * 3);
  const over = Buffer.allocUnsafe(plane * 3);
  const a = opts.alpha ?? 0.45;
  for (let i = 0; i < plane; i++) {
    const l = blurred[i]! * 3;
    for (let c = 0; c < 3; c++) {
      const h = HEAT_LUT[l + c]!;
      const x = chw[c * plane + i]! * 255 + 0.5;
      heat[3 * i + c] = h;
      rgb[3 * i + c] = x;
      over[3 * i + c] = x * (1 - a) + h * a; // Buffer stores truncate: x carries +0.5 to round
    }
  }
  const disp = fitSize(width, height, opts.displayPx ?? 256);
  const thumb = fitSize(width, height, opts.thumbPx ?? 160);
  const raw = { raw: { width: IW, height: IH, channels: 3 as const } };
  const png = (b: Buffer) => sharp(b, raw).resize(disp.width, disp.height, { fit: 'fill' }).png({ compressionLevel: 4, adaptiveFiltering: false }).toBuffer();
  const jpg = (b: Buffer) => sharp(b, raw).resize(thumb.width, thumb.height, { fit: 'fill' }).jpeg({ quality: 72 }).toBuffer();
  const [mapPng, overlayPng, thumbJpeg, overlayThumbJpeg] = await Promise.all([png(heat), png(over), jpg(rgb), jpg(over)]);
  return { mapPng, overlayPng, thumbJpeg, overlayThumbJpeg, width: disp.width, height: disp.height };
}
