/** The `defectTypes` group: a dataset's defect types and their colours. */
import { ensureDefectType, listDefectTypes, setDefectTypeColour } from '../db/defect-types';
import type { GroupHandlers, ServiceContext } from './context';

export function defectTypesHandlers({ store }: Pick<ServiceContext, 'store'>): GroupHandlers<'defectTypes'> {
  return {
    'defectTypes.list': async (a) => listDefectTypes(store, a.datasetId),
    'defectTypes.create': async (a) => ensureDefectType(store, { datasetId: a.datasetId, name: a.name, colour: a.colour }),
    'defectTypes.setColour': async (a) => setDefectTypeColour(store, { id: a.defectTypeId, colour: a.colour }),
  };
}
