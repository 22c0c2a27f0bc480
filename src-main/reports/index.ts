/**
 * Inspection reports: `report.pdf`, `results.csv` and `report.html` in the output folder,
 * each written to a temp file and renamed, so a report is either the old one or complete.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../images/load';
import type { InspectionSummary, ReportFormat } from '../inspection/types';
import { toCsv } from './csv';
import { renderHtmlReport } from './html';
import { writePdfReport } from './pdf';

export { toCsv, parseCsv, CSV_COLUMNS } from './csv';
export { writePdfReport } from './pdf';
export { renderHtmlReport } from './html';

export const REPORT_FILES: Record<ReportFormat, string> = { pdf: 'report.pdf', csv: 'results.csv', html: 'report.html' };

export async function writeReports(s: InspectionSummary, formats: readonly ReportFormat[], outDir: string): Promise<Partial<Record<ReportFormat, string>>> {
  const written: Partial<Record<ReportFormat, string>> = {};
  for (const f of new Set(formats)) {
    const path = join(outDir, REPORT_FILES[f]);
    if (f === 'csv') await writeFileAtomic(path, Buffer.from(toCsv(s.results), 'utf8'));
    else if (f === 'html') await writeFileAtomic(path, Buffer.from(await renderHtmlReport(s), 'utf8'));
    else await writePdfReport(path, s);
    written[f] = path;
  }
  return written;
}
