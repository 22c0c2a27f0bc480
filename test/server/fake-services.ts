/** In-memory services for the transport tests (the real ones are tested by their owners). */
import type { DatasetSummary, ImportResult } from '../../src-main/common/api';
import { AppError, cancelled } from '../../src-main/common/errors';
import type { ServicesPort } from '../../src-main/server/services-port';

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
      get,
      create: (name) => {
        const d: DatasetSummary = { id: nextId++, name, imageCount: 0, counts: { good: 0, defect: 0, unlabelled: 0, annotated: 0 }, createdAtMs: 1, updatedAtMs: 1 };
        datasetsById.set(d.id, d);
        return d;
      },
      rename: (id, name) => Object.assign(get(id), { name }),
      delete: (id) => {
        get(id);
        datasetsById.delete(id);
      },
    },
    importer: {
      importFolder: (args, job) => {
        get(args.datasetId);
        const done = new Promise<ImportResult>((ok, fail) => {
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
              ok({ datasetId: args.datasetId, layout: 'plain', imported: 5, duplicates: 0, rejected: 0, masks: 0, problems: [] });
            }
          }, 5);
        });
        return { runId: 42, done };
      },
    },
    masks: {
      get: (imageId) => (imageId === 1 ? new Uint8Array([137, 80, 78, 71, 0, 255]) : null),
      list: () => [],
      save: (a) => ({ imageId: a.imageId, defectTypeId: a.defectTypeId, areaPx: a.png.byteLength, updatedAtMs: 5 }),
    },
    ...extra,
  };
}
