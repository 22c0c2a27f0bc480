/** The `images` group: browsing and labelling a dataset's images. */
import { getImage, listImages, setLabels, setSplit } from '../db/images';
import type { GroupHandlers, ServiceContext } from './context';

export function imagesHandlers({ store }: Pick<ServiceContext, 'store'>): GroupHandlers<'images'> {
  return {
    'images.list': async (a) => {
      const page = listImages(store, a);
      return { items: page.items, total: page.total, nextCursor: page.nextCursor };
    },
    'images.get': async (a) => getImage(store, a.imageId),
    'images.setLabel': async (a) => setLabels(store, a),
    'images.setSplit': async (a) => setSplit(store, a),
  };
}
