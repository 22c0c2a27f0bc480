/**
 * The implementation of every contract method on the trusted side, shared by the desktop
 * app's IPC handlers and the browser-mode HTTP routes. `dispatch` is the checkpoint:
 * unknown method -> NOT_FOUND, arguments -> contract validator, then the service; errors
 * leave as { code, message, hint }.
 */
import { access, constants, readdir, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { ApiHandlers, ApiResponse, AppInfo, MethodId, PathCheck } from '../common/api';
import { isMethodId, methods, parseArgs } from '../common/api';
import { AppError, isAppError, serializeError } from '../common/errors';
import type { JobHub } from './jobs';
import type { ServicesPort } from './services-port';
import type { SettingsStore } from './settings-store';

export interface DialogsPort {
  pickFolder(args: { title?: string }): Promise<{ path: string | null }>;
  pickFile(args: { title?: string; filterName?: string; extensions?: string[] }): Promise<{ path: string | null }>;
  pickSaveFile(args: { title?: string; defaultName?: string; extensions?: string[] }): Promise<{ path: string | null }>;
}

export interface HandlerDeps {
  services: ServicesPort;
  jobs: JobHub;
  settings: SettingsStore;
  mode: AppInfo['mode'];
  version: string;
  /** Native pickers (desktop app only). */
  dialogs?: DialogsPort;
  /** Whether the data folder may be changed from the UI (desktop app: next start). */
  canChangeDataDir: boolean;
}

const AREA_NAMES: Record<string, string> = {
  datasets: 'Dataset management',
  importer: 'Folder import',
  images: 'Image browsing and labelling',
  defectTypes: 'Defect types',
  masks: 'Masks',
  training: 'Training',
  models: 'Model versions',
  inspection: 'Inspection',
};

function need<K extends keyof ServicesPort>(services: ServicesPort, key: K): NonNullable<ServicesPort[K]> {
  const s = services[key];
  if (!s) {
    throw new AppError('UNAVAILABLE', `${AREA_NAMES[key] ?? key} is not available in this build yet.`, {
      hint: 'Update BGAD Inspector; this part of the app is still being built.',
    });
  }
  return s as NonNullable<ServicesPort[K]>;
}

const IMAGE_EXT = /\.(png|jpe?g|bmp|tiff?|webp)$/i;

async function countImages(dir: string, cap: number): Promise<number> {
  let n = 0;
  const stack = [dir];
  while (stack.length && n < cap) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      continue; // unreadable sub-folder: counted as empty; the import reports it properly
    }
    for (const e of entries) {
      if (e.isDirectory()) stack.push(join(d, e.name));
      else if (e.isFile() && IMAGE_EXT.test(e.name)) n++;
    }
  }
  return Math.min(n, cap);
}

export async function checkPath(path: string, expect: 'folder' | 'file' | 'newFile'): Promise<PathCheck> {
  let st;
  try {
    st = await stat(path);
  } catch {
    st = undefined;
  }
  const target = st ? path : join(path, '..');
  let isWritable = false;
  try {
    await access(target, constants.W_OK);
    isWritable = true;
  } catch {
    isWritable = false;
  }
  const out: PathCheck = { path, exists: !!st, isDirectory: !!st?.isDirectory(), isWritable };
  if (st?.isDirectory() && expect === 'folder') {
    out.imageCount = await countImages(path, 100_000);
    const hasTrainGood = await stat(join(path, 'train', 'good')).then((s) => s.isDirectory(), () => false);
    out.layout = hasTrainGood ? 'mvtec' : 'plain';
  }
  return out;
}

export function createApiHandlers(deps: HandlerDeps): ApiHandlers {
  const { services: s, jobs } = deps;
  const noDialogs = (): never => {
    throw new AppError('UNAVAILABLE', 'There is no native file picker in browser mode.', { hint: 'Type the path into the field instead.' });
  };
  return {
    'app.info': async () => ({
      name: 'BGAD Inspector',
      version: deps.version,
      mode: deps.mode,
      platform: process.platform,
      dataDir: s.dataDir,
      hasNativeDialogs: !!deps.dialogs,
      executionProviders: s.executionProviders ? await s.executionProviders() : ['cpu'],
      cpuCount: cpus().length,
    }),
    'app.getSettings': async () => ({ ...(await deps.settings.get()), ...(deps.canChangeDataDir ? {} : { dataDir: s.dataDir }) }),
    'app.setSettings': async (a) => {
      if (a.dataDir !== undefined && !deps.canChangeDataDir && a.dataDir !== s.dataDir) {
        throw new AppError('BAD_ARGUMENT', 'The data folder of a running server cannot be changed from the browser.', {
          hint: 'Restart it with: bgad serve --data-dir <folder>',
        });
      }
      return deps.settings.update(a);
    },
    'app.checkPath': (a) => checkPath(a.path, a.expect),
    'app.pickFolder': (a) => (deps.dialogs ? deps.dialogs.pickFolder(a) : noDialogs()),
    'app.pickFile': (a) => (deps.dialogs ? deps.dialogs.pickFile(a) : noDialogs()),
    'app.pickSaveFile': (a) => (deps.dialogs ? deps.dialogs.pickSaveFile(a) : noDialogs()),

    'jobs.get': async (a) => jobs.get(a.jobId),
    'jobs.list': async () => jobs.list(),
    'jobs.cancel': async (a) => ({ cancelled: jobs.cancel(a.jobId) }),

    'datasets.list': async () => need(s, 'datasets').list(),
    'datasets.create': async (a) => need(s, 'datasets').create(a.name),
    'datasets.rename': async (a) => need(s, 'datasets').rename(a.datasetId, a.name),
    'datasets.delete': async (a) => need(s, 'datasets').delete(a.datasetId, a.confirmName),
    'datasets.importFolder': async (a) => {
      const imp = need(s, 'importer');
      const { jobId } = await jobs.start('import', (ctx) => imp.importFolder(a, ctx));
      return { jobId };
    },
    'datasets.importRuns': async (a) => need(s, 'importer').importRuns(a),

    'images.list': async (a) => need(s, 'images').list(a),
    'images.get': async (a) => need(s, 'images').get(a.imageId),
    'images.setLabel': async (a) => need(s, 'images').setLabel(a),
    'images.setSplit': async (a) => need(s, 'images').setSplit(a),

    'defectTypes.list': async (a) => need(s, 'defectTypes').list(a.datasetId),
    'defectTypes.create': async (a) => need(s, 'defectTypes').create(a),
    'defectTypes.setColour': async (a) => need(s, 'defectTypes').setColour(a),

    'masks.list': async (a) => need(s, 'masks').list(a.imageId),
    'masks.get': async (a) => need(s, 'masks').get(a.imageId, a.defectTypeId),
    'masks.save': async (a) => {
      if (a.data.byteLength !== a.width * a.height) {
        throw new AppError('BAD_ARGUMENT', `The mask has ${a.data.byteLength} pixels but ${a.width}x${a.height} needs ${a.width * a.height}.`, { subject: 'args.data' });
      }
      return need(s, 'masks').save(a);
    },

    'training.backbones': async () => need(s, 'training').backbones(),
    'training.start': async (a) => {
      const tr = need(s, 'training');
      const r = await jobs.start('training', (ctx) => tr.start(a, ctx));
      return { jobId: r.jobId, runId: r.runId! };
    },
    'training.listRuns': async (a) => need(s, 'training').listRuns(a.datasetId),
    'training.getRun': async (a) => need(s, 'training').getRun(a.runId),

    'models.list': async (a) => need(s, 'models').list(a.datasetId),
    'models.histogram': async (a) => need(s, 'models').histogram(a),
    'models.setThreshold': async (a) => need(s, 'models').setThreshold(a),
    'models.activate': async (a) => need(s, 'models').activate(a.modelId),
    'models.compare': async (a) => need(s, 'models').compare(a.modelIdA, a.modelIdB),
    'models.export': async (a) => need(s, 'models').export(a),

    'inspection.inspectImage': async (a) => {
      if ((a.path === undefined) === (a.image === undefined)) {
        throw new AppError('BAD_ARGUMENT', 'Give either the path of an image or its bytes, not both.', { subject: 'args.path' });
      }
      return need(s, 'inspection').inspectImage(a);
    },
    'inspection.startBatch': async (a) => {
      const ins = need(s, 'inspection');
      const r = await jobs.start('inspection', (ctx) => ins.startBatch(a, ctx));
      return { jobId: r.jobId, runId: r.runId! };
    },
    'inspection.listRuns': async (a) => need(s, 'inspection').listRuns(a),
    'inspection.getRun': async (a) => need(s, 'inspection').getRun(a.runId),
    'inspection.results': async (a) => need(s, 'inspection').results(a),
    'inspection.exportReport': async (a) => need(s, 'inspection').exportReport(a),
  };
}

const PORT_OF: Partial<Record<string, keyof ServicesPort>> = {
  datasets: 'datasets',
  'datasets.importFolder': 'importer',
  images: 'images',
  defectTypes: 'defectTypes',
  masks: 'masks',
  training: 'training',
  models: 'models',
  inspection: 'inspection',
};

/** Methods that answer UNAVAILABLE with these services (for start-up logs and reports). */
export function unavailableMethods(services: ServicesPort): MethodId[] {
  return methods
    .filter((m) => {
      const key = PORT_OF[m.id] ?? PORT_OF[m.group];
      return (key !== undefined && !services[key]) || (services.unavailable ?? []).includes(m.id);
    })
    .map((m) => m.id);
}

export type Logger = (message: string) => void;

/**
 * The checkpoint every transport goes through. Never throws: the answer is an ApiResponse.
 * Unexpected errors (bugs) are logged once here with their stack.
 */
export async function dispatch(handlers: ApiHandlers, method: string, rawArgs: unknown, log: Logger = (m) => console.error(m)): Promise<ApiResponse<unknown>> {
  if (!isMethodId(method)) {
    return { ok: false, error: { code: 'NOT_FOUND', message: `There is no API method "${method}".` } };
  }
  try {
    const args = parseArgs(method, rawArgs);
    const handler = handlers[method] as (a: unknown) => Promise<unknown>;
    const value = await handler(args);
    return { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    if (!isAppError(e)) log(`bgad: ${method} failed: ${(e as Error)?.stack ?? String(e)}`);
    return { ok: false, error: serializeError(e) };
  }
}
