/**
 * The `audit` group: the append-only audit log (src-main/db/audit.ts) browsed with filters and
 * pages, and written as CSV. Nothing here changes the log: it is only read.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArgsOf, AuditRecord } from '../common/api';
import { auditKinds, iterateAudit, queryAudit, type AuditQuery } from '../db/audit';
import { writeFileAtomic } from '../fs/atomic-file';
import { csvField } from '../reports/csv';
import type { Store } from '../db/store';
import type { GroupHandlers, ServiceContext } from './context';
import { checkOutFile, copyOut } from './engine-work';

/** The CSV's columns, in order. */
export const AUDIT_CSV_COLUMNS = ['id', 'time_utc', 'at_ms', 'kind', 'actor', 'dataset_id', 'dataset', 'subject', 'detail', 'old', 'new'] as const;

const json = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v));

/** One event as a CSV line: text cells neutralised against formula injection (reports/csv.ts), numbers as numbers. */
function csvLine(r: AuditRecord): string {
  return [
    csvField(r.id), csvField(new Date(r.atMs).toISOString()), csvField(r.atMs), csvField(r.kind), csvField(r.actor), csvField(r.datasetId),
    csvField(r.datasetName), csvField(r.subject), csvField(r.detail), csvField(json(r.old)), csvField(json(r.new)),
  ].join(',');
}

/** The events matching the filters as CSV text (RFC 4180, CRLF, a header), newest first, and how many. */
export function auditCsv(store: Store, q: AuditQuery): { text: string; rows: number } {
  const lines: string[] = [AUDIT_CSV_COLUMNS.join(',')];
  for (const r of iterateAudit(store, q)) lines.push(csvLine(r));
  return { text: lines.join('\r\n') + '\r\n', rows: lines.length - 1 };
}

const filtersOf = (a: AuditQuery): AuditQuery => ({ fromMs: a.fromMs, toMs: a.toMs, kinds: a.kinds, search: a.search, datasetId: a.datasetId });

async function exportCsv(store: Store, a: ArgsOf<'audit.exportCsv'>): Promise<{ path: string; rows: number }> {
  const overwrite = a.overwrite === true;
  const out = checkOutFile(a.outPath, 'csv', overwrite);
  const { text, rows } = auditCsv(store, filtersOf(a));
  // written whole in the data folder first, then copied: an existing file is never half replaced
  const work = join(store.layout.root, 'exports');
  await mkdir(work, { recursive: true });
  const tmp = join(work, `audit-${randomBytes(6).toString('hex')}.csv`);
  try {
    await writeFileAtomic(tmp, Buffer.from(text, 'utf8'));
    await copyOut(tmp, out, overwrite);
  } finally {
    await rm(tmp, { force: true });
  }
  return { path: out, rows };
}

export function auditHandlers({ store }: Pick<ServiceContext, 'store'>): GroupHandlers<'audit'> {
  return {
    'audit.list': async (a) => queryAudit(store, { ...filtersOf(a), offset: a.offset, limit: a.limit }),
    'audit.kinds': async () => auditKinds(store),
    'audit.exportCsv': (a) => exportCsv(store, a),
  };
}
