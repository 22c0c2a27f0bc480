/** In-memory services for the transport tests (the real ones are tested by their owners). */
import type { DatasetSummary, ImportSummary, MaskInfo } from '../../src-main/common/api';
import { AppError, cancelled } from '../../src-main/common/errors';
import type { ServicesPort } from '../../src-main/api-host/services-port';

const mask = (imageId: number, defectTypeId: number, areaPx: number): MaskInfo => ({
  id: 1, imageId, defectTypeId, defectType: 'crack', path: '/data/masks/1.png', width: 3, height: 2, areaPx, createdAtMs: 1, updatedAtMs: 2,
});

export function fakeServices(dataDir: string, extra: Partial<ServicesPort> = {}): ServicesPort & { datasetsById: Map<number, DatasetSummary> } {
  const datasetsById = new Map<number, DatasetSummary>();
  let nextId = 1;
  const get = (id: number) => {
    const d = datasetsById.get(id);
    if (!d) throw new AppError('NOT_FOUND', `No dataset ${id}.`);
    return d;
  };
  return {
    dataDir,
    datasetsById,
    fileRoots: () => [],
    datasets: {
      list: () => [...datasetsById.values()],
      create: (name) => {
        const d: DatasetSummary = {
          id: nextId++, name, imageCount: 0, defectTypes: 0, modelVersions: 0, activeModelVersionId: null, createdAtMs: 1, updatedAtMs: 1,
          counts: { good: 0, defect: 0, unlabelled: 0, train: 0, val: 0, test: 0, unassigned: 0, masked: 0 },
        };
        datasetsById.set(d.id, d);
        return d;
      },
      rename: (id, name) => Object.assign(get(id), { name }),
      delete: (id, confirmName) => {
        if (get(id).name !== confirmName) throw new AppError('BAD_ARGUMENT', 'Deleting needs confirmation.');
        datasetsById.delete(id);
        return { deletedImages: 0 };
      },
    },
    importer: {
      importRuns: () => [],
      importFolder: (args, job) => {
        get(args.datasetId);
        const done = new Promise<ImportSummary>((ok, fail) => {
          let i = 0;
          const tick = setInterval(() => {
            if (job.signal.aborted) {
              clearInterval(tick);
              fail(cancelled('The import'));
              return;
            }
            i++;
            job.progress({ fraction: i / 5, message: `image ${i}/5` });
            if (i === 5 && args.folder !== '/slow') {
              clearInterval(tick);
              ok({
                importRunId: 42, datasetId: args.datasetId, layout: 'plain', status: 'completed', total: 5, imported: 5, duplicates: [], rejected: [], masks: 0,
                maskProblems: [], ignoredFiles: 0, defectTypes: [], counts: {}, durationMs: 1,
              });
            }
          }, 5);
        });
        return { runId: 42, done };
      },
    },
    masks: {
      list: () => [],
      get: (imageId, defectTypeId) => (imageId === 1 ? { width: 3, height: 2, data: new Uint8Array([0, 1, 1, 0, 0, 1]), info: mask(imageId, defectTypeId, 3) } : null),
      save: (a) => (a.data.some((x) => x !== 0) ? mask(a.imageId, a.defectTypeId, a.data.reduce((n, x) => n + x, 0)) : null),
    },
    ...extra,
  };
}
