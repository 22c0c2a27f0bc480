/**
 * The heat map of the image being annotated (pure: no DOM, no Konva): the newest inspection
 * result of the same picture (same content, sha256) that kept a heat map, found among the
 * dataset's inspection runs; and what the annotator's heat-map toggle says about it.
 */
import type { ArgsOf, ImageRecord, InspectionResult, InspectionRun, Verdict } from '../../../src-main/common/api';

/** The part of the API client the lookup uses. */
export interface HeatmapApi {
  inspection: {
    listRuns(args: ArgsOf<'inspection.listRuns'>): Promise<InspectionRun[]>;
    results(args: ArgsOf<'inspection.results'>): Promise<{ items: InspectionResult[]; total: number }>;
  };
}

export interface FoundHeatmap {
  runId: number;
  /** Absolute path of the heat map PNG (display it with `fileUrl`). */
  heatmapPath: string;
  score: number | null;
  verdict: Verdict;
}

export interface HeatmapLookupOptions {
  /** Newest runs searched (default 50). */
  maxRuns?: number;
  /** Runs asked at once (default 4). */
  parallel?: number;
  /** Results of one run with the same file name that are checked (default 2000). */
  maxPerRun?: number;
}

const PAGE = 1000;

/** The file name searched for: results are matched by path text, then by content. */
export function fileNameOf(path: string): string {
  const name = path.split(/[\\/]/).filter(Boolean).at(-1) ?? path;
  return name.slice(-200);
}

async function findInRun(api: HeatmapApi, runId: number, image: Pick<ImageRecord, 'path' | 'sha256'>, maxPerRun: number): Promise<FoundHeatmap | null> {
  const search = fileNameOf(image.path);
  let best: InspectionResult | null = null;
  for (let offset = 0; offset < maxPerRun; offset += PAGE) {
    const page = await api.inspection.results({ runId, search, orderBy: 'id', descending: true, offset, limit: Math.min(PAGE, maxPerRun - offset) });
    for (const r of page.items) {
      if (r.sha256 !== image.sha256 || !r.heatmapPath) continue;
      // the same picture twice in one run: the one at this path first, else the newest
      if (!best || (r.path === image.path && best.path !== image.path)) best = r;
    }
    if (offset + page.items.length >= page.total || page.items.length === 0) break;
  }
  return best ? { runId, heatmapPath: best.heatmapPath!, score: best.score, verdict: best.verdict } : null;
}

/**
 * The newest heat map of this picture among the dataset's inspection runs, or null when no
 * run inspected it (or none kept its heat map).
 */
export async function findHeatmap(api: HeatmapApi, image: Pick<ImageRecord, 'datasetId' | 'path' | 'sha256'>, opts: HeatmapLookupOptions = {}): Promise<FoundHeatmap | null> {
  const maxRuns = opts.maxRuns ?? 50;
  const parallel = Math.max(1, opts.parallel ?? 4);
  const runs = (await api.inspection.listRuns({ datasetId: image.datasetId })).slice().sort((a, b) => b.id - a.id).slice(0, maxRuns);
  for (let i = 0; i < runs.length; i += parallel) {
    const found = await Promise.all(runs.slice(i, i + parallel).map((r) => findInRun(api, r.id, image, opts.maxPerRun ?? 2000)));
    const hit = found.find((f) => f !== null);
    if (hit) return hit;
  }
  return null;
}

/** Where the lookup of the current image's heat map stands. */
export type HeatmapState =
  | { status: 'none' }
  | { status: 'looking' }
  | { status: 'missing' }
  | { status: 'failed'; message: string }
  | { status: 'ready'; found: FoundHeatmap };

/** The heat-map toggle: usable only with a heat map; otherwise its tooltip says why. */
export function heatmapToggle(state: HeatmapState, fmtScore: (n: number | null) => string = (n) => (n === null ? '–' : n.toFixed(4))): { disabled: boolean; title: string } {
  switch (state.status) {
    case 'ready':
      return { disabled: false, title: `Heat map of inspection run #${state.found.runId} (score ${fmtScore(state.found.score)}, ${state.found.verdict}): show or hide it over the image (H)` };
    case 'looking':
      return { disabled: true, title: 'Looking for a heat map of this image…' };
    case 'failed':
      return { disabled: true, title: `No heat map: ${state.message}` };
    case 'missing':
      return { disabled: true, title: 'No heat map: this image has not been inspected yet. Inspect a folder that contains it (Inspect view) to see where the model finds it anomalous.' };
    default:
      return { disabled: true, title: 'No heat map: open an image first.' };
  }
}
