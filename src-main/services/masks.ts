/** The `masks` group: the painted masks of an image, as lossless PNGs in the data folder. */
import type { MaskInfo } from '../common/api';
import { AppError } from '../common/errors';
import { getMask, listMasks, loadMask, saveMask, type StoredMaskInfo } from '../db/masks';
import type { GroupHandlers, ServiceContext } from './context';
import { absolute } from './engine-work';

function toApiMask(dataDir: string, m: StoredMaskInfo): MaskInfo {
  const { file, ...rest } = m;
  return { ...rest, path: absolute(dataDir, file) };
}

export function masksHandlers({ store }: Pick<ServiceContext, 'store'>): GroupHandlers<'masks'> {
  const dataDir = store.layout.root;
  return {
    'masks.list': async (a) => listMasks(store, a.imageId).map((m) => toApiMask(dataDir, m)),
    'masks.get': async ({ imageId, defectTypeId }) => {
      if (!getMask(store, { imageId, defectTypeId })) return null;
      const m = await loadMask(store, { imageId, defectTypeId });
      return { width: m.width, height: m.height, data: m.data, info: toApiMask(dataDir, m.info) };
    },
    'masks.save': async (a) => {
      if (a.data.byteLength !== a.width * a.height) {
        throw new AppError('BAD_ARGUMENT', `The mask has ${a.data.byteLength} pixels but ${a.width}x${a.height} needs ${a.width * a.height}.`, { subject: 'args.data' });
      }
      const saved = await saveMask(store, { imageId: a.imageId, defectTypeId: a.defectTypeId, width: a.width, height: a.height, data: a.data });
      return saved ? toApiMask(dataDir, saved) : null;
    },
  };
}
