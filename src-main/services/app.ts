/**
 * The `app` group: what the UI asks of the app itself (version, mode, settings, paths,
 * native pickers). Needs no data layer.
 */
import { access, constants, readdir, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_API_PORT, type PathCheck } from '../common/api';
import { AppError } from '../common/errors';
import { ensureApiKey, readApiKey, rotateApiKey } from '../db/api-key';
import type { GroupHandlers, ServiceContext } from './context';

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

/**
 * The settings with the data folder's API key (`bgad api-key`), when there is one; a damaged
 * key file shows as no key (the Settings view's rotate button replaces it).
 */
function withApiKeyOf(dataDir: string) {
  return <S extends object>(settings: S): S & { apiKey?: string } => {
    let key: string | undefined;
    try {
      key = readApiKey(dataDir)?.key;
    } catch {
      key = undefined;
    }
    return key === undefined ? settings : { ...settings, apiKey: key };
  };
}

export function appHandlers(ctx: Pick<ServiceContext, 'dataDir' | 'settings' | 'mode' | 'version' | 'dialogs' | 'canChangeDataDir' | 'inferenceApi'>): GroupHandlers<'app'> {
  const { dataDir, dialogs } = ctx;
  const withApiKey = withApiKeyOf(dataDir);
  const listener = () => (ctx.inferenceApi ? { apiListener: ctx.inferenceApi.status() } : {});
  const noDialogs = (): never => {
    throw new AppError('UNAVAILABLE', 'There is no native file picker in browser mode.', { hint: 'Type the path into the field instead.' });
  };
  return {
    'app.info': async () => ({
      name: 'BGAD Inspector',
      version: ctx.version,
      mode: ctx.mode,
      platform: process.platform,
      dataDir,
      hasNativeDialogs: !!dialogs,
      // the engine runs on the CPU only in this version
      executionProviders: ['cpu'],
      cpuCount: cpus().length,
    }),
    'app.getSettings': async () => withApiKey({ ...(await ctx.settings.get()), ...(ctx.canChangeDataDir ? {} : { dataDir }), ...listener() }),
    'app.setSettings': async (a) => {
      if (a.dataDir !== undefined && !ctx.canChangeDataDir && a.dataDir !== dataDir) {
        throw new AppError('BAD_ARGUMENT', 'The data folder of a running server cannot be changed from the browser.', {
          hint: 'Restart it with: bgad serve --data-dir <folder>',
        });
      }
      const { rotateApiKey: rotate, ...patch } = a;
      // the inference API needs its key: made when the API is switched on (or asked for), kept after
      if (rotate) rotateApiKey(dataDir);
      else if (patch.apiEnabled) ensureApiKey(dataDir);
      const saved = await ctx.settings.update(patch);
      // the desktop app's /v1 server follows the setting at once (a taken port: the status says so)
      if (ctx.inferenceApi && (patch.apiEnabled !== undefined || patch.apiPort !== undefined)) {
        await ctx.inferenceApi.apply({ enabled: saved.apiEnabled === true, port: saved.apiPort ?? DEFAULT_API_PORT });
      }
      return withApiKey({ ...(ctx.canChangeDataDir ? saved : { ...saved, dataDir }), ...listener() });
    },
    'app.checkPath': (a) => checkPath(a.path, a.expect),
    'app.pickFolder': (a) => (dialogs ? dialogs.pickFolder(a) : noDialogs()),
    'app.pickFile': (a) => (dialogs ? dialogs.pickFile(a) : noDialogs()),
    'app.pickSaveFile': (a) => (dialogs ? dialogs.pickSaveFile(a) : noDialogs()),
  };
}
