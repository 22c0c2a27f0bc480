/**
 * The synthetic categories: which clean renderer, grey or RGB, which defect types, and how
 * many images go in each folder. Pure: no node imports.
 */
import type { Rng } from './prng';
import type { DefectType } from './defects';
import { renderDisc, renderGrain, renderStripes, renderWovenGrid, type CleanRender } from './textures';

export interface CategorySpec {
  name: string;
  isRgb: boolean;
  defectTypes: readonly DefectType[];
  render(rng: Rng, sizePx: number): CleanRender;
}

export const CATEGORY_SPECS: readonly CategorySpec[] = [
  { name: 'woven_grid', isRgb: false, defectTypes: ['scratch', 'spot', 'crack'], render: renderWovenGrid },
  { name: 'grain', isRgb: false, defectTypes: ['scratch', 'spot', 'crack'], render: renderGrain },
  { name: 'stripes', isRgb: true, defectTypes: ['scratch', 'spot', 'missing'], render: renderStripes },
  { name: 'disc', isRgb: true, defectTypes: ['scratch', 'spot', 'missing'], render: renderDisc },
];

/** Images per folder, for every category. */
export const SYNTH_COUNTS = { trainGood: 40, trainDefectPerType: 3, testGood: 12, testDefectPerType: 6 } as const;

export const DEFAULT_SIZE_PX = 96;

export function categorySpec(name: string): CategorySpec | undefined {
  return CATEGORY_SPECS.find((c) => c.name === name);
}
