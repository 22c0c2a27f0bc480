/**
 * Saving a report (PDF or CSV) from a view, one flow for every view that has a report path
 * and PDF/CSV buttons (Inspect, Station, the Models view's robustness report): the file is
 * the path with the format's extension (report-path rules: save-path.ts), an existing file is
 * replaced only after a yes (or the save dialog's own question: overwrite.ts), and the user
 * is told where it went, or that the existing file was kept. Pure: no DOM, no Svelte.
 */
import type { ApiClient } from './api-client';
import { confirmedBySaveDialog, withExtension, writeAskingToOverwrite } from './overwrite';
import { reportFormatOf, reportOutPath, type ReportFormat } from './save-path';

/** Where the outcome is told (the app state's notices). */
export interface ReportNotices {
  notify(n: { kind: 'error' | 'info'; message: string; hint?: string }): void;
  fail(e: unknown): void;
}

export class ReportSaver {
  /** The path the save dialog returned (it asked before replacing a file there). */
  #chosenPath: string | null = null;

  constructor(
    private readonly api: Pick<ApiClient, 'app'>,
    private readonly notices: ReportNotices,
    private readonly confirm: (question: string) => boolean,
  ) {}

  /** The save dialog returned `path`: the format its name asks for is the one to write next. */
  chosen(path: string): ReportFormat {
    this.#chosenPath = path;
    return reportFormatOf(path);
  }

  /**
   * Writes the report of `format` to `path` with `write(outPath, overwrite)` (a service call
   * that refuses an existing file unless `overwrite`); true when a file was written. Errors
   * are shown, not thrown.
   */
  async save(path: string, format: ReportFormat, write: (outPath: string, overwrite: boolean) => Promise<{ path: string }>): Promise<boolean> {
    if (!path.trim()) return false;
    const outPath = reportOutPath(path, format);
    // the dialog's yes covers one write of the file it asked about
    const confirmed = confirmedBySaveDialog(this.#chosenPath, outPath, format);
    if (confirmed) this.#chosenPath = null;
    try {
      const r = await writeAskingToOverwrite((overwrite) => write(outPath, overwrite), this.confirm, {
        confirmed,
        file: withExtension(outPath, format),
        exists: async (file) => (await this.api.app.checkPath({ path: file, expect: 'newFile' })).exists,
      });
      if (r) this.notices.notify({ kind: 'info', message: `Report written: ${r.path}` });
      else this.notices.notify({ kind: 'info', message: 'The report was not saved; the existing file was kept.' });
      return r !== null;
    } catch (e) {
      this.notices.fail(e);
      return false;
    }
  }
}
