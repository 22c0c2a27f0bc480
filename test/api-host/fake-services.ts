/**
 * In-memory services for the transport tests (the real ones are tested in test/services): the
 * real `app` and `jobs` groups over the host's job hub and settings, fakes for datasets, the
 * folder import and masks, and UNAVAILABLE for every other method.
 */
import { methods, type ApiHandlers, type DatasetSummary, type ImportSummary, type MaskInfo } from '../../src-main/common/api';
import { AppError, cancelled } from '../../src-main/common/errors';
import type { ServicesSource } from '../../src-main/services';
import { appHandlers } from '../../src-main/services/app';
import { jobsHandlers } from '../../src-main/services/jobs';

const mask = (imageId: number, defectTypeId: number, areaPx: number): MaskInfo => ({
  id: 1, imageId, defectTypeId, defectType: 'crack', path: '/data/masks/1.png', width: 3, height: 2, areaPx, createdAtMs: 1, updatedAtMs: 2,
});

/** Every method answering UNAVAILABLE, as a part of the app that is not there. */
function unavailable(): ApiHandlers {
  const out: Record<string, () => Promise<never>> = {};
  for (const m of methods) {
    out[m.id] = async () => {
      throw new AppError('UNAVAILABLE', `${m.group} is not available in this test server.`, { hint: 'The transport tests fake only some services.' });
    };
  }
  return out as unknown as ApiHandlers;
}

export function fakeServices(dataDir: string, extra: Partial<ApiHandlers> = {}): ServicesSource & { datasetsById: Map<number, DatasetSummary> } {
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
    host: (host) => ({
      handlers: {
        ...unavailable(),
        ...appHandlers({ ...host, dataDir }),
        ...jobsHandlers(host),
        'datasets.list': async () => [...datasetsById.values()],
        'datasets.create': async ({ name }) => {
          const d: DatasetSummary = {
            id: nextId++, name, imageCount: 0, defectTypes: 0, modelVersions: 0, activeModelVersionId: null, createdAtMs: 1, updatedAtMs: 1,
            counts: { good: 0, defect: 0, unlabelled: 0, train: 0, val: 0, test: 0, unassigned: 0, masked: 0 },
          };
          datasetsById.set(d.id, d);
          return d;
        },
        'datasets.rename': async ({ datasetId, name }) => Object.assign(get(datasetId), { name }),
        'datasets.delete': async ({ datasetId, confirmName }) => {
          if (get(datasetId).name !== confirmName) throw new AppError('BAD_ARGUMENT', 'Deleting needs confirmation.');
          datasetsById.delete(datasetId);
          return { deletedImages: 0 };
        },
        'datasets.importRuns': async () => [],
        'datasets.getInspectionArea': async () => null,
        'datasets.setInspectionArea': async () => null,
        'datasets.importFolder': async (args) => {
          const { jobId } = await host.jobs.start('import', (job) => {
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
          });
          return { jobId };
        },
        'masks.list': async () => [],
        'masks.get': async ({ imageId, defectTypeId }) => (imageId === 1 ? { width: 3, height: 2, data: new Uint8Array([0, 1, 1, 0, 0, 1]), info: mask(imageId, defectTypeId, 3) } : null),
        'masks.save': async (a) => {
          if (a.data.byteLength !== a.width * a.height) throw new AppError('BAD_ARGUMENT', `The mask has ${a.data.byteLength} pixels but ${a.width}x${a.height} needs ${a.width * a.height}.`, { subject: 'args.data' });
          return a.data.some((x) => x !== 0) ? mask(a.imageId, a.defectTypeId, a.data.reduce((n, x) => n + x, 0)) : null;
        },
        ...extra,
      },
      unavailable: [],
      fileRoots: () => [],
      isImportedImage: () => false,
      close: async () => undefined,
    }),
  };
}
