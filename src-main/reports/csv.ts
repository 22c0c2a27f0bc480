/**
 * The CSV report: one row per file, columns `path,sha256,score,verdict,error` (RFC 4180:
 * comma separated, CRLF line ends, fields with a comma, quote or line break are quoted and
 * quotes doubled). `path` is relative to the inspected folder; `score` is empty for files
 * that could not be inspected, `error` is empty for inspected files.
 *
 * Formula injection (OWASP "CSV Injection"): a text cell that starts with `=`, `+`, `-`, `@`,
 * a tab or a carriage return would run as a formula in Excel or LibreOffice, so it is written
 * with a leading `'` (shown as text; the exact names stay in results.jsonl). Numbers (the
 * score, negative ones included) are written as plain numbers.
 */
import type { InspectionFileResult } from '../model/records';

export const CSV_COLUMNS = ['path', 'sha256', 'score', 'verdict', 'error'] as const;
/**
 * Columns added to the reports of stored results (a station's shift report, a time range of a
 * run): when each file was inspected, as ISO 8601 local time with its offset
 * (`2025-05-04T10:31:02.123+02:00`, readable and sortable) and as epoch milliseconds (exact,
 * for filtering).
 */
export const CSV_TIME_COLUMNS = ['inspected_at', 'inspected_at_ms'] as const;

const pad = (n: number, width = 2) => String(Math.trunc(Math.abs(n))).padStart(width, '0');

/** ISO 8601 in this computer's local time with its UTC offset, e.g. `2025-05-04T10:31:02.123+02:00`. */
export function isoLocal(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

/** First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell as a spreadsheet shows it as text: a leading `'` when it would start a formula. */
export function neutraliseFormula(s: string): string {
  return FORMULA_START.test(s) ? `'${s}` : s;
}

function quote(s: string): string {
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One cell: text is neutralised against formula injection, then quoted as RFC 4180 says; a number is written as it is. */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return quote(String(v));
  return quote(neutraliseFormula(v));
}

/** Scores are written with 6 decimals: far finer than any threshold decision needs. */
export function formatScore(score: number | null): string {
  return score === null ? '' : score.toFixed(6);
}

/**
 * The CSV text. With `times`, every row also gets CSV_TIME_COLUMNS from its `inspectedAtMs`
 * (empty where a result has none).
 */
export function toCsv(results: readonly Pick<InspectionFileResult, 'rel' | 'sha256' | 'score' | 'verdict' | 'error' | 'inspectedAtMs'>[], opts: { times?: boolean } = {}): string {
  const rows = [(opts.times ? [...CSV_COLUMNS, ...CSV_TIME_COLUMNS] : CSV_COLUMNS).join(',')];
  // the score is a number (never neutralised: "-0.25" stays a number); every other cell is text
  for (const r of results) {
    const cells = [csvField(r.rel), csvField(r.sha256), formatScore(r.score), csvField(r.verdict), csvField(r.error)];
    if (opts.times) {
      const at = typeof r.inspectedAtMs === 'number' && Number.isFinite(r.inspectedAtMs) ? r.inspectedAtMs : null;
      cells.push(at === null ? '' : isoLocal(at), at === null ? '' : String(at));
    }
    rows.push(cells.join(','));
  }
  return rows.join('\r\n') + '\r\n';
}

/** Parses RFC 4180 text (for tests and for reading a report back). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}
