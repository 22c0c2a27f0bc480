/**
 * The append-only audit log. Label, mask, threshold and activation changes are written by
 * triggers in the database (so no code path can skip them); services add other events
 * (e.g. a dataset deletion) with `appendAudit`. UPDATE and DELETE on it are refused.
 */
import type { AuditRecord } from '../common/api';
import { cached } from './images';
import { now, type Store } from './store';
import { asId, asInt, asOptionalId, asText } from './validate';

export interface AuditEntry {
  id: number;
  atMs: number;
  datasetId: number | null;
  entity: string;
  entityId: number | null;
  action: string;
  old: unknown;
  new: unknown;
}

interface Row { id: number; at_ms: number; dataset_id: number | null; entity: string; entity_id: number | null; action: string; old_json: string | null; new_json: string | null }

const toEntry = (r: Row): AuditEntry => ({
  id: r.id, atMs: r.at_ms, datasetId: r.dataset_id, entity: r.entity, entityId: r.entity_id, action: r.action,
  old: r.old_json === null ? null : JSON.parse(r.old_json), new: r.new_json === null ? null : JSON.parse(r.new_json),
});

export function appendAudit(store: Store, e: { datasetId?: number | null; entity: string; entityId?: number | null; action: string; old?: unknown; new?: unknown }): void {
  cached(store.db, `INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
    now(), e.datasetId ?? null, asText(e.entity, 'entity', { maxLength: 100 }), e.entityId ?? null, asText(e.action, 'action', { maxLength: 100 }),
    e.old === undefined ? null : JSON.stringify(e.old), e.new === undefined ? null : JSON.stringify(e.new),
  );
}

/** Newest first; pass the last id seen as `beforeId` for the next page. */
export function listAudit(store: Store, q: { datasetId?: number; entity?: string; entityId?: number; beforeId?: number; limit?: number } = {}): AuditEntry[] {
  const rows = cached(store.db, `SELECT * FROM audit_log WHERE (@datasetId IS NULL OR dataset_id = @datasetId) AND (@entity IS NULL OR entity = @entity)
      AND (@entityId IS NULL OR entity_id = @entityId) AND (@beforeId IS NULL OR id < @beforeId) ORDER BY id DESC LIMIT @limit`).all({
    datasetId: asOptionalId(q.datasetId, 'datasetId') ?? null,
    entity: q.entity === undefined ? null : asText(q.entity, 'entity', { maxLength: 100 }),
    entityId: q.entityId === undefined ? null : asId(q.entityId, 'entityId'),
    beforeId: asOptionalId(q.beforeId, 'beforeId') ?? null,
    limit: q.limit === undefined ? 100 : asInt(q.limit, 'limit', 1, 10_000),
  }) as Row[];
  return rows.map(toEntry);
}

export interface AuditQuery {
  /** Inclusive bounds on `atMs` (epoch ms). */
  fromMs?: number;
  toMs?: number;
  /** Only these kinds (`entity.action`); empty or absent: all. */
  kinds?: readonly string[];
  /** Case-insensitive text found in the subject, the kind, the dataset's name or the old/new values. */
  search?: string;
  datasetId?: number;
}

// what an event is about, in words; images and models may have been deleted since (no foreign keys)
const SUBJECT = `CASE a.entity
    WHEN 'image' THEN COALESCE(i.source, i.path, 'image ' || a.entity_id)
    WHEN 'mask' THEN COALESCE(i.source, i.path, 'image ' || a.entity_id)
    WHEN 'model_version' THEN COALESCE('model v' || m.number, 'model ' || a.entity_id)
    WHEN 'dataset' THEN COALESCE(json_extract(a.old_json, '$.name'), json_extract(a.new_json, '$.name'), d.name, 'dataset ' || a.entity_id)
    WHEN 'review' THEN COALESCE(json_extract(a.new_json, '$.path'), 'inspection result ' || a.entity_id)
    ELSE a.entity || COALESCE(' ' || a.entity_id, '') END`;
const DATASET_NAME = `COALESCE(d.name, (SELECT json_extract(x.old_json, '$.name') FROM audit_log x WHERE x.entity = 'dataset' AND x.entity_id = a.dataset_id AND x.action = 'delete' ORDER BY x.id DESC LIMIT 1))`;
const FROM = `FROM audit_log a
  LEFT JOIN images i ON a.entity IN ('image', 'mask') AND i.id = a.entity_id
  LEFT JOIN model_versions m ON a.entity = 'model_version' AND m.id = a.entity_id
  LEFT JOIN datasets d ON d.id = a.dataset_id`;

function whereOf(q: AuditQuery): { sql: string; params: Record<string, unknown> } {
  const kinds = (q.kinds ?? []).map((k, n) => asText(k, `kinds[${n}]`, { maxLength: 200 }));
  const search = q.search === undefined ? '' : asText(q.search, 'search', { maxLength: 200, allowEmpty: true });
  const params: Record<string, unknown> = {
    fromMs: q.fromMs === undefined ? null : asInt(q.fromMs, 'fromMs', 0, Number.MAX_SAFE_INTEGER),
    toMs: q.toMs === undefined ? null : asInt(q.toMs, 'toMs', 0, Number.MAX_SAFE_INTEGER),
    datasetId: asOptionalId(q.datasetId, 'datasetId') ?? null,
    search: search ? `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null,
    kinds: JSON.stringify(kinds),
  };
  const sql = `WHERE (@fromMs IS NULL OR a.at_ms >= @fromMs) AND (@toMs IS NULL OR a.at_ms <= @toMs)
    AND (@datasetId IS NULL OR a.dataset_id = @datasetId)
    AND (json_array_length(@kinds) = 0 OR a.entity || '.' || a.action IN (SELECT value FROM json_each(@kinds)))
    AND (@search IS NULL OR (${SUBJECT}) LIKE @search ESCAPE '\\' OR a.entity || '.' || a.action LIKE @search ESCAPE '\\'
      OR ${DATASET_NAME} LIKE @search ESCAPE '\\' OR a.old_json LIKE @search ESCAPE '\\' OR a.new_json LIKE @search ESCAPE '\\')`;
  return { sql, params };
}

type ViewRow = Row & { subject: string; dataset_name: string | null };

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'null');
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What changed, in words: `label: good → defect` for a change, `key value, …` for a creation, `was: key value, …` for a removal. */
export function auditDetail(old: unknown, next: unknown): string {
  const list = (o: Record<string, unknown>) => Object.entries(o).filter(([k]) => k !== 'actor').map(([k, v]) => `${k} ${show(v)}`).join(', ');
  if (isRecord(old) && isRecord(next)) {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])].filter((k) => k !== 'actor' && JSON.stringify(old[k]) !== JSON.stringify(next[k]));
    return keys.map((k) => `${k}: ${show(old[k] ?? null)} → ${show(next[k] ?? null)}`).join(', ');
  }
  if (isRecord(next)) return list(next);
  if (isRecord(old)) return `was: ${list(old)}`;
  if (old === null && next === null) return '';
  return `${show(old)} → ${show(next)}`;
}

function toRow(r: ViewRow): AuditRecord {
  const e = toEntry(r);
  const actor = isRecord(e.new) && typeof e.new.actor === 'string' ? e.new.actor : null;
  return { ...e, kind: `${e.entity}.${e.action}`, actor, datasetName: r.dataset_name, subject: r.subject, detail: auditDetail(e.old, e.new) };
}

const SELECT = `SELECT a.*, ${SUBJECT} AS subject, ${DATASET_NAME} AS dataset_name ${FROM}`;

/** A page of the log matching `q`, newest first, with the number of matching rows. Read only: the log is append-only. */
export function queryAudit(store: Store, q: AuditQuery & { offset?: number; limit?: number } = {}): { rows: AuditRecord[]; total: number } {
  const w = whereOf(q);
  const offset = q.offset === undefined ? 0 : asInt(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = q.limit === undefined ? 100 : asInt(q.limit, 'limit', 1, 10_000);
  const total = (cached(store.db, `SELECT count(*) AS n ${FROM} ${w.sql}`).get(w.params) as { n: number }).n;
  const rows = cached(store.db, `${SELECT} ${w.sql} ORDER BY a.id DESC LIMIT @limit OFFSET @offset`).all({ ...w.params, limit, offset }) as ViewRow[];
  return { rows: rows.map(toRow), total };
}

/** Every row matching `q`, newest first, one at a time (CSV export of a long log). */
export function* iterateAudit(store: Store, q: AuditQuery = {}): Generator<AuditRecord> {
  const w = whereOf(q);
  // its own statement: a cached one would be busy while the caller holds this iterator
  for (const r of store.db.prepare(`${SELECT} ${w.sql} ORDER BY a.id DESC`).iterate(w.params) as Iterable<ViewRow>) yield toRow(r);
}

/** The kinds (`entity.action`) present in the log, sorted. */
export function auditKinds(store: Store): string[] {
  return (cached(store.db, `SELECT DISTINCT entity || '.' || action AS kind FROM audit_log ORDER BY kind`).all() as { kind: string }[]).map((r) => r.kind);
}
