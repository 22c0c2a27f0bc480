/** The `datasets` group: the datasets themselves and the folder imports that fill them. */
import type { ImportProgress } from '../common/records';
import { createDataset, deleteDataset, listDatasets, renameDataset } from '../db/datasets';
import { listImportRuns } from '../db/import-runs';
import { getInspectionArea, setInspectionArea } from '../db/inspection-area';
import type { GroupHandlers, ServiceContext } from './context';
import { importFolder } from './import';

/** `phase` and counters of an import as 0..1 progress with words. */
export function importProgress(p: ImportProgress) {
  const fraction = p.phase === 'done' ? 1 : p.total > 0 ? Math.min(0.99, p.processed / p.total) : 0;
  const message = p.phase === 'scanning' ? `Scanning: ${p.total} images found` : `${p.processed} of ${p.total} images (${p.imported} new, ${p.duplicates} duplicates, ${p.rejected} rejected)`;
  return { fraction, message, data: p };
}

export function datasetsHandlers({ store, jobs }: Pick<ServiceContext, 'store' | 'jobs'>): GroupHandlers<'datasets'> {
  return {
    'datasets.list': async () => listDatasets(store),
    'datasets.create': async (a) => createDataset(store, { name: a.name }),
    'datasets.rename': async (a) => renameDataset(store, { id: a.datasetId, name: a.name }),
    // refuses (BAD_ARGUMENT/CONFLICT) unless confirmName is the dataset's exact name
    'datasets.delete': async (a) => deleteDataset(store, { id: a.datasetId, confirmName: a.confirmName }),
    'datasets.importFolder': async (a) => {
      const { jobId } = await jobs.start('import', (job) => ({
        done: importFolder(store, { src: a.folder, datasetId: a.datasetId, signal: job.signal, onProgress: (p) => job.progress(importProgress(p)) }),
      }));
      return { jobId };
    },
    'datasets.importRuns': async (a) => listImportRuns(store, { datasetId: a.datasetId }),
    'datasets.getInspectionArea': async (a) => getInspectionArea(store, a.datasetId),
    'datasets.setInspectionArea': async (a) => setInspectionArea(store, a.datasetId, a.area),
  };
}
