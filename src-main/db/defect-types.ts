/** Defect types of a dataset (name + display colour). */
import { createHash } from 'node:crypto';
import { AppError } from '../common/errors';
import type { DefectType } from '../common/records';
import { now, type Store } from './store';
import { asId, asText, notFound } from './validate';

export type { DefectType } from '../common/records';

interface Row { id: number; dataset_id: number; name: string; colour: string }
const toType = (r: Row): DefectType => ({ id: r.id, datasetId: r.dataset_id, name: r.name, colour: r.colour });

const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe', '#008080', '#9a6324'];

/** A stable default colour for a defect type name. */
export function defaultColour(name: string): string {
  const h = createHash('sha1').update(name).digest();
  return PALETTE[h[0]! % PALETTE.length]!;
}

function asColour(v: unknown): string {
  if (typeof v !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(v)) throw new AppError('BAD_ARGUMENT', `A colour must look like #rrggbb, got ${JSON.stringify(v)}.`);
  return v.toLowerCase();
}

export function asDefectTypeName(v: unknown): string {
  const name = asText(v, 'The defect type name', { maxLength: 80 });
  if (/[\u0000-\u001f/\\]/.test(name)) throw new AppError('BAD_ARGUMENT', `The defect type name "${name}" must not contain slashes or control characters.`);
  return name;
}

export function listDefectTypes(store: Store, datasetId: unknown): DefectType[] {
  const id = asId(datasetId, 'datasetId');
  return (store.db.prepare(`SELECT * FROM defect_types WHERE dataset_id = ? ORDER BY name`).all(id) as Row[]).map(toType);
}

export function getDefectType(store: Store, id: unknown): DefectType {
  const tid = asId(id, 'defectTypeId');
  const r = store.db.prepare(`SELECT * FROM defect_types WHERE id = ?`).get(tid) as Row | undefined;
  if (!r) throw notFound('Defect type', tid);
  return toType(r);
}

/** The defect type with this name in the dataset, created (with a default colour) when missing. */
export function ensureDefectType(store: Store, input: { datasetId: unknown; name: unknown; colour?: unknown }): DefectType {
  const datasetId = asId(input.datasetId, 'datasetId');
  const name = asDefectTypeName(input.name);
  const colour = input.colour === undefined ? defaultColour(name) : asColour(input.colour);
  const db = store.db;
  return db.transaction(() => {
    const found = db.prepare(`SELECT * FROM defect_types WHERE dataset_id = ? AND name = ?`).get(datasetId, name) as Row | undefined;
    if (found) return toType(found);
    if (!db.prepare(`SELECT 1 FROM datasets WHERE id = ?`).get(datasetId)) throw notFound('Dataset', datasetId);
    return toType(db.prepare(`INSERT INTO defect_types (dataset_id, name, colour, created_at_ms) VALUES (?, ?, ?, ?) RETURNING *`).get(datasetId, name, colour, now()) as Row);
  }).immediate();
}

export function setDefectTypeColour(store: Store, input: { id: unknown; colour: unknown }): DefectType {
  const id = asId(input.id, 'defectTypeId');
  const colour = asColour(input.colour);
  const r = store.db.prepare(`UPDATE defect_types SET colour = ? WHERE id = ? RETURNING *`).get(colour, id) as Row | undefined;
  if (!r) throw notFound('Defect type', id);
  return toType(r);
}
