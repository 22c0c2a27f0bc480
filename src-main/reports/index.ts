/**
 * Inspection reports: `report.pdf`, `results.csv` and `report.html` in the output folder,
 * each written to a temp file and renamed, so a report is either the old one or complete.
 */
import { join } from 'node:path';
import { AppError, isAppError } from '../common/errors';
import { writeFileAtomic } from '../fs/atomic-file';
import type { InspectionReport, ReportFormat } from '../model/records';
import { toCsv } from './csv';
import { renderHtmlReport } from './html';
import { writePdfReport } from './pdf';

export { toCsv, parseCsv, CSV_COLUMNS } from './csv';
export { writePdfReport } from './pdf';
export { renderHtmlReport } from './html';

export const REPORT_FILES: Record<ReportFormat, string> = { pdf: 'report.pdf', csv: 'results.csv', html: 'report.html' };

export async function writeReports(s: InspectionReport, formats: readonly ReportFormat[], outDir: string): Promise<Partial<Record<ReportFormat, string>>> {
  const written: Partial<Record<ReportFormat, string>> = {};
  for (const f of new Set(formats)) {
    const path = join(outDir, REPORT_FILES[f]);
    try {
      if (f === 'csv') await writeFileAtomic(path, Buffer.from(toCsv(s.results), 'utf8'));
      else if (f === 'html') await writeFileAtomic(path, Buffer.from(await renderHtmlReport(s), 'utf8'));
      else await writePdfReport(path, s);
    } catch (e) {
      throw reportWriteError(path, e);
    }
    written[f] = path;
  }
  return written;
}

/** A full disk or a folder that cannot be written, named with the report's path and what to do; anything else as it was. */
function reportWriteError(path: string, e: unknown): unknown {
  if (isAppError(e) && e.code !== 'DISK_FULL') return e;
  const code = isAppError(e) ? 'ENOSPC' : (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') {
    return new AppError('DISK_FULL', `The disk is full: the report ${path} could not be written (the results are kept).`, { hint: 'Free some disk space and run the same command again: it rewrites the reports without inspecting again.', subject: path, cause: e });
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new AppError('READ_ONLY', `The report ${path} cannot be written: ${code === 'EROFS' ? 'the disk is read-only' : 'permission denied'}.`, { hint: 'Choose an output folder you can write to.', subject: path, cause: e });
  }
  return e;
}
