/**
 * Save paths (pure): what the desktop app's save dialog proposes (`app.pickSaveFile`), and
 * which file a report is written to. A report path may be typed (browser mode) or chosen in
 * the save dialog (desktop app); either way the PDF and CSV buttons write to it with the
 * extension of their format.
 */
import type { ArgsOf, InspectionRun } from '../../src-main/common/api';

/** The contract's limits of `app.pickSaveFile`. */
const MAX_DEFAULT_NAME = 255;
const MAX_TITLE = 200;

const baseName = (p: string) => p.split(/[\\/]/).filter(Boolean).at(-1) ?? '';
const extOf = (p: string) => /\.([A-Za-z0-9]{1,10})$/.exec(baseName(p))?.[1]?.toLowerCase() ?? null;

function withExtension(path: string, extensions: readonly string[] | undefined): string {
  if (!extensions?.length) return path;
  const ext = extOf(path);
  if (ext && extensions.includes(ext)) return path;
  return `${path}.${extensions[0]}`;
}

/**
 * Arguments of the save dialog: it opens where the field's path points (or in the default
 * folder with `defaultName`), with the first extension added when the name has none of them.
 */
export function saveDialogArgs(o: { current: string; defaultName?: string; extensions?: readonly string[]; title?: string }): ArgsOf<'app.pickSaveFile'> {
  const exts = o.extensions?.map((x) => x.replace(/^\./, '').toLowerCase()).filter((x) => /^[a-z0-9]{1,10}$/.test(x)).slice(0, 10);
  const current = o.current.trim();
  let name: string | undefined;
  if (current) {
    const full = withExtension(current, exts);
    name = full.length <= MAX_DEFAULT_NAME ? full : withExtension(baseName(current), exts).slice(-MAX_DEFAULT_NAME);
  } else if (o.defaultName) {
    name = withExtension(o.defaultName, exts).slice(-MAX_DEFAULT_NAME);
  }
  return {
    ...(o.title ? { title: o.title.slice(0, MAX_TITLE) } : {}),
    ...(name ? { defaultName: name } : {}),
    ...(exts?.length ? { extensions: exts } : {}),
  };
}

export type ReportFormat = 'pdf' | 'csv';
export const REPORT_EXTENSIONS: readonly ReportFormat[] = ['pdf', 'csv'];

/** The format a chosen file name asks for: CSV for `.csv`, PDF otherwise. */
export function reportFormatOf(path: string): ReportFormat {
  return extOf(path.trim()) === 'csv' ? 'csv' : 'pdf';
}

/**
 * The file a report of `format` is written to: a name ending in the other report type's
 * extension gets this one instead (`run.csv` -> `run.pdf` for the PDF button); a name without
 * it is completed by the service.
 */
export function reportOutPath(path: string, format: ReportFormat): string {
  const p = path.trim();
  const ext = extOf(p);
  if (ext && ext !== format && (REPORT_EXTENSIONS as readonly string[]).includes(ext)) return `${p.slice(0, -(ext.length + 1))}.${format}`;
  return p;
}

/** A file name for a run's report: the inspected folder's name and the run number. */
export function reportFileName(run: Pick<InspectionRun, 'id' | 'source'>): string {
  const folder = baseName(run.source)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|[._]+$/g, '')
    .slice(0, 80);
  return `${folder ? `${folder}-` : ''}inspection-${run.id}-report`;
}
