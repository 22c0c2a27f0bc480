/** The annotator's heat-map layer: which heat map belongs to the image, and what the toggle says. */
import { describe, expect, it } from 'vitest';
import type { ArgsOf, InspectionResult, InspectionRun, Verdict } from '../../src-main/common/api';
import { fileNameOf, findHeatmap, heatmapToggle, type HeatmapApi } from '../../src-renderer/lib/annotator/heatmap';

const SHA = (n: number) => n.toString(16).padStart(64, '0');
const image = { datasetId: 4, path: '/photos/grain/test/good/000.png', sha256: SHA(1) };

function run(id: number, datasetId = 4): InspectionRun {
  return { id, datasetId, modelVersionId: 1, source: '/photos', threshold: 0.5, reviewBand: null, status: 'completed', pid: null, heartbeatAtMs: null, error: null, createdAtMs: id, startedAtMs: id, finishedAtMs: id };
}

function result(id: number, runId: number, path: string, sha: string, heatmapPath: string | null, verdict: Verdict = 'pass'): InspectionResult {
  return { id, runId, path, sha256: sha, score: id / 100, verdict, error: null, createdAtMs: 0, heatmapPath };
}

/** A fake API over some runs and results; `search` matches the path text like the service's LIKE. */
function fakeApi(runs: InspectionRun[], results: InspectionResult[]) {
  const calls: ArgsOf<'inspection.results'>[] = [];
  const api: HeatmapApi = {
    inspection: {
      listRuns: async (a) => runs.filter((r) => a.datasetId === undefined || r.datasetId === a.datasetId).sort((x, y) => y.id - x.id),
      results: async (a) => {
        calls.push(a);
        const list = results.filter((r) => r.runId === a.runId && (!a.search || r.path.toLowerCase().includes(a.search.toLowerCase())));
        const offset = a.offset ?? 0;
        return { items: list.slice(offset, offset + (a.limit ?? 100)), total: list.length };
      },
    },
  };
  return { api, calls };
}

describe('heat map of the annotated image', () => {
  it('takes the newest run that inspected the same picture and kept its heat map', async () => {
    const { api, calls } = fakeApi(
      [run(1), run(2), run(3), run(9, 5)],
      [
        result(10, 1, image.path, SHA(1), '/data/inspections/1/heatmaps/good/000.png.map.png'),
        // run 2: the same picture copied elsewhere (same content): found by its sha256
        result(20, 2, '/incoming/000.png', SHA(1), '/data/inspections/2/heatmaps/000.png.map.png', 'fail'),
        // run 3: the same name, other content; and this picture without a heat map
        result(30, 3, '/photos/grain/test/crack/000.png', SHA(2), '/data/inspections/3/heatmaps/crack/000.png.map.png'),
        result(31, 3, image.path, SHA(1), null, 'error'),
        // another dataset's run is not searched
        result(90, 9, image.path, SHA(1), '/data/inspections/9/x.map.png'),
      ],
    );
    const found = await findHeatmap(api, image, { parallel: 1 });
    expect(found).toEqual({ runId: 2, heatmapPath: '/data/inspections/2/heatmaps/000.png.map.png', score: 0.2, verdict: 'fail' });
    // runs newest first, searched by the file name; the older run 1 was not needed
    expect(calls.map((c) => [c.runId, c.search])).toEqual([[3, '000.png'], [2, '000.png']]);
  });

  it('prefers the result at the image\'s own path within a run, and pages through many same-named files', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => result(100 + i, 7, `/photos/lot${i}/000.png`, SHA(1000 + i), `/h/${i}.png`));
    const { api, calls } = fakeApi(
      [run(7)],
      [...many, result(5000, 7, '/other/000.png', SHA(1), '/h/copy.png'), result(5001, 7, image.path, SHA(1), '/h/own.png')],
    );
    const found = await findHeatmap(api, image, { maxPerRun: 5000 });
    expect(found?.heatmapPath).toBe('/h/own.png');
    expect(calls.map((c) => c.offset)).toEqual([0, 1000, 2000]);
  });

  it('finds nothing for a picture never inspected, or without runs', async () => {
    expect(await findHeatmap(fakeApi([], []).api, image)).toBeNull();
    expect(await findHeatmap(fakeApi([run(1)], [result(1, 1, '/a/000.png', SHA(3), '/h.png')]).api, image)).toBeNull();
    expect(fileNameOf('C:\\photos\\A 1.png')).toBe('A 1.png');
    expect(fileNameOf(`/x/${'n'.repeat(300)}.png`)).toHaveLength(200);
  });
});

describe('the heat-map toggle', () => {
  it('is disabled with a tooltip saying why when there is no heat map', () => {
    expect(heatmapToggle({ status: 'missing' })).toEqual({ disabled: true, title: expect.stringMatching(/not been inspected yet.*Inspect/) });
    expect(heatmapToggle({ status: 'looking' })).toMatchObject({ disabled: true, title: expect.stringContaining('Looking') });
    expect(heatmapToggle({ status: 'failed', message: 'the heat map of inspection run #3 could not be displayed' })).toEqual({
      disabled: true,
      title: 'No heat map: the heat map of inspection run #3 could not be displayed',
    });
    expect(heatmapToggle({ status: 'none' }).disabled).toBe(true);
  });

  it('is enabled with the run, score and shortcut once a heat map is there', () => {
    const t = heatmapToggle({ status: 'ready', found: { runId: 2, heatmapPath: '/h.png', score: 0.71234, verdict: 'fail' } });
    expect(t.disabled).toBe(false);
    expect(t.title).toBe('Heat map of inspection run #2 (score 0.7123, fail): show or hide it over the image (H)');
  });
});
