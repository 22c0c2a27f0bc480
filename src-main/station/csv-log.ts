/**
 * `<out>/results.csv` kept by the station: the columns and cells of `bgad inspect`'s CSV report
 * (reports/csv.ts: formula cells neutralised, RFC 4180 quoting), one row appended and flushed
 * per result. On start it is written anew from results.jsonl (the latest result per file), so a
 * row lost to a crash after its result line is back.
 */
import { writeFileAtomic } from '../fs/atomic-file';
import { toCsv } from '../reports/csv';
import type { InspectionFileResult } from '../model/records';
import { JsonLinesWriter } from './jsonl-file';

export const CSV_FILE = 'results.csv';
const HEADER = toCsv([]);

export class CsvLog {
  private constructor(private readonly w: JsonLinesWriter) {}

  static async open(path: string, rows: readonly InspectionFileResult[]): Promise<CsvLog> {
    await writeFileAtomic(path, Buffer.from(toCsv(rows), 'utf8'));
    return new CsvLog(await JsonLinesWriter.open(path));
  }

  /** Appends one row and flushes it. */
  append(r: InspectionFileResult): Promise<void> {
    return this.w.appendText(toCsv([r]).slice(HEADER.length));
  }

  close(): Promise<void> {
    return this.w.close();
  }
}
