/**
 * The append-only audit log. Label, mask, threshold and activation changes are written by
 * triggers in the database (so no code path can skip them); services add other events
 * (e.g. a dataset deletion) with `appendAudit`. UPDATE and DELETE on it are refused.
 */
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
