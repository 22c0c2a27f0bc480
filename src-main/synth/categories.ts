/**
 * The synthetic categories: which clean renderer, grey or RGB, which defect types, and how
 * many images go in each folder. Pure: no node imports.
 */
import type { Rng } from './prng';
import type { DefectType } from './defects';
import { renderDisc, renderGrain, renderShaft, renderStripes, renderWovenGrid, type CleanRender } from './textures';

export interface CategorySpec {
  name: string;
  isRgb: boolean;
  defectTypes: readonly DefectType[];
  /** The image of `sizePx`: sizePx x sizePx, or (shaft) 2 * sizePx x sizePx / 2. */
  render(rng: Rng, sizePx: number): CleanRender;
}

export const CATEGORY_SPECS: readonly CategorySpec[] = [
  { name: 'woven_grid', isRgb: false, defectTypes: ['scratch', 'spot', 'crack'], render: renderWovenGrid },
  { name: 'grain', isRgb: false, defectTypes: ['scratch', 'spot', 'crack'], render: renderGrain },
  { name: 'stripes', isRgb: true, defectTypes: ['scratch', 'spot', 'missing'], render: renderStripes },
  { name: 'disc', isRgb: true, defectTypes: ['scratch', 'spot', 'missing'], render: renderDisc },
  // elongated (4:1): long thin scratches along the part, for aspect-true input geometry
  { name: 'shaft', isRgb: false, defectTypes: ['scratch', 'spot', 'crack'], render: renderShaft },
];

/** Images per folder, for every category. */
export const SYNTH_COUNTS = { trainGood: 40, trainDefectPerType: 3, testGood: 12, testDefectPerType: 6 } as const;

export const DEFAULT_SIZE_PX = 96;

export function categorySpec(name: string): CategorySpec | undefined {
  return CATEGORY_SPECS.find((c) => c.name === name);
}
