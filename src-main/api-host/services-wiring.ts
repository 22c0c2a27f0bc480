/**
 * Fits the real services (src-main/services on one Store, src-main/backbones) to the
 * ServicesPort. What needs the engine host (training, single and batch inspection, score
 * histograms, model export) lives in engine-services.ts; without an engine runner those
 * methods answer UNAVAILABLE.
 */
import { isAbsolute, join } from 'node:path';
import type { MaskInfo } from '../common/api';
import { defaultBackboneId, listBackbones } from '../backbones/registry';
import { createDataset, deleteDataset, listDatasets, renameDataset } from '../services/datasets';
import { ensureDefectType, listDefectTypes, setDefectTypeColour } from '../services/defect-types';
import { getImage, listImages, setLabels, setSplit } from '../services/images';
import { importFolder, listImportRuns, type ImportProgress } from '../services/import';
import { getInspectionRun, listInspectionResults, listInspectionRuns } from '../services/inspections';
import { getMask, listMasks, loadMask, saveMask, type StoredMaskInfo } from '../services/masks';
import { activateModelVersion, compareModelVersions, listModelVersions, setModelThreshold } from '../services/model-versions';
import { openStore, type Store } from '../services/store';
import { getLossCurves, getTrainingRun, listTrainingRuns } from '../services/training-runs';
import type { MethodId } from '../common/api';
import type { EngineRunner, ServicesPort } from './services-port';
import { engineServices, type EngineServicesOptions } from './engine-services';

export interface OpenServicesOptions {
  dataDir: string;
  /** Where engine jobs run (training, inspection); not used by the data-layer methods. */
  engine?: EngineRunner;
  /** ONNX Runtime settings for engine jobs (threads, execution provider). */
  runtime?: EngineServicesOptions['runtime'];
}

/** Methods that cannot work without an engine runner. */
export const ENGINE_METHODS: readonly MethodId[] = ['training.start', 'models.export', 'inspection.inspectImage', 'inspection.startBatch'];

/** A data-folder-relative reference as an absolute path (what fileUrl needs). */
function absolute(store: Store, ref: string): string {
  return isAbsolute(ref) ? ref : join(store.layout.root, ref);
}

function toApiMask(store: Store, m: StoredMaskInfo): MaskInfo {
  const { file, ...rest } = m;
  return { ...rest, path: absolute(store, file) };
}

/** `phase` and counters of an import as 0..1 progress with words. */
export function importProgress(p: ImportProgress) {
  const fraction = p.phase === 'done' ? 1 : p.total > 0 ? Math.min(0.99, p.processed / p.total) : 0;
  const message = p.phase === 'scanning' ? `Scanning: ${p.total} images found` : `${p.processed} of ${p.total} images (${p.imported} new, ${p.duplicates} duplicates, ${p.rejected} rejected)`;
  return { fraction, message, data: p };
}

/** Services over an open store (tests pass their own store). */
export function servicesForStore(store: Store, engine?: EngineRunner, opts: EngineServicesOptions = {}): ServicesPort {
  let rootsCache: { atMs: number; roots: string[] } | undefined;
  // by (dataset_id, path): the images_dataset_path index answers it per dataset
  let imagePathQuery: ReturnType<Store['db']['prepare']> | undefined;
  const eng = engineServices(store, engine, opts);
  return {
    dataDir: store.layout.root,
    unavailable: engine ? [] : ENGINE_METHODS,
    datasets: {
      list: () => listDatasets(store),
      create: (name) => createDataset(store, { name }),
      rename: (id, name) => renameDataset(store, { id, name }),
      delete: (id, confirmName) => deleteDataset(store, { id, confirmName }),
    },
    importer: {
      importFolder: (args, job) => ({
        done: importFolder(store, { src: args.folder, datasetId: args.datasetId, signal: job.signal, onProgress: (p) => job.progress(importProgress(p)) }),
      }),
      importRuns: (args) => listImportRuns(store, { datasetId: args.datasetId }),
    },
    images: {
      list: (q) => {
        const page = listImages(store, q);
        return { items: page.items, total: page.total, nextCursor: page.nextCursor };
      },
      get: (id) => getImage(store, id),
      setLabel: (a) => setLabels(store, a),
      setSplit: (a) => setSplit(store, a),
    },
    defectTypes: {
      list: (datasetId) => listDefectTypes(store, datasetId),
      create: (a) => ensureDefectType(store, { datasetId: a.datasetId, name: a.name, colour: a.colour }),
      setColour: (a) => setDefectTypeColour(store, { id: a.defectTypeId, colour: a.colour }),
    },
    masks: {
      list: (imageId) => listMasks(store, imageId).map((m) => toApiMask(store, m)),
      get: async (imageId, defectTypeId) => {
        if (!getMask(store, { imageId, defectTypeId })) return null;
        const m = await loadMask(store, { imageId, defectTypeId });
        return { width: m.width, height: m.height, data: m.data, info: toApiMask(store, m.info) };
      },
      save: async (a) => {
        const saved = await saveMask(store, { imageId: a.imageId, defectTypeId: a.defectTypeId, width: a.width, height: a.height, data: a.data });
        return saved ? toApiMask(store, saved) : null;
      },
    },
    training: {
      backbones: () => {
        const def = defaultBackboneId();
        return listBackbones().map((b) => ({ ...b, isDefault: b.id === def }));
      },
      start: eng.training.start,
      listRuns: (datasetId) => listTrainingRuns(store, { datasetId }).sort((a, b) => b.id - a.id),
      getRun: (runId) => ({ ...getTrainingRun(store, runId), loss: getLossCurves(store, runId) }),
    },
    models: {
      list: (datasetId) => listModelVersions(store, datasetId),
      histogram: eng.models.histogram,
      setThreshold: (a) => setModelThreshold(store, { id: a.modelId, threshold: a.threshold }),
      activate: (id) => activateModelVersion(store, id),
      compare: (a, b) => compareModelVersions(store, { a, b }),
      export: eng.models.export,
    },
    inspection: {
      inspectImage: eng.inspection.inspectImage,
      startBatch: eng.inspection.startBatch,
      listRuns: (a) => listInspectionRuns(store, { datasetId: a.datasetId, modelVersionId: a.modelId }),
      getRun: (runId) => getInspectionRun(store, runId),
      results: (a) => {
        const r = listInspectionResults(store, a);
        return {
          total: r.total,
          items: r.items.map(({ heatmapFile, ...rest }) => ({ ...rest, heatmapPath: heatmapFile === null ? null : absolute(store, heatmapFile) })),
        };
      },
      exportReport: eng.inspection.exportReport,
    },
    fileRoots: () => {
      // Asked for every image the UI shows: cached briefly so a scrolling grid costs no queries.
      const t = Date.now();
      if (rootsCache && t - rootsCache.atMs < 2000) return rootsCache.roots;
      const roots = new Set<string>();
      for (const r of listImportRuns(store)) roots.add(r.source);
      for (const r of listInspectionRuns(store, { limit: 10_000 })) roots.add(r.source);
      rootsCache = { atMs: t, roots: [...roots].filter((p) => isAbsolute(p)) };
      return rootsCache.roots;
    },
    isImportedImage: (path) => {
      imagePathQuery ??= store.db.prepare(`SELECT 1 FROM images WHERE dataset_id IN (SELECT id FROM datasets) AND path = ? LIMIT 1`);
      return imagePathQuery.get(path) !== undefined;
    },
    close: async () => {
      await engine?.dispose();
      store.close();
    },
  };
}

/** An engine runner created on its first job (so a server that never trains starts no worker). */
export function lazyEngine(create: () => EngineRunner): EngineRunner {
  let engine: EngineRunner | undefined;
  return {
    run: (kind, params, opts) => (engine ??= create()).run(kind, params, opts),
    dispose: async () => {
      await engine?.dispose();
      engine = undefined;
    },
  };
}

export async function openServices(opts: OpenServicesOptions): Promise<ServicesPort> {
  return servicesForStore(openStore({ dataDir: opts.dataDir }), opts.engine, { runtime: opts.runtime });
}
