/**
 * Language-neutral number formats (pure): the same digits on every machine whatever the
 * browser's locale, with the decimal mark and digit grouping chosen in Settings.
 */

export interface NumberFormat {
  decimalMark: '.' | ',';
  /** Groups of three digits in the integer part: none, or a thin space (SI style). */
  grouping: 'none' | 'thin-space';
}

export const DEFAULT_NUMBER_FORMAT: NumberFormat = { decimalMark: '.', grouping: 'thin-space' };

let current: NumberFormat = { ...DEFAULT_NUMBER_FORMAT };

export function setNumberFormat(f: NumberFormat): void {
  current = { ...f };
}

export function numberFormat(): NumberFormat {
  return { ...current };
}

/** A number with `digits` decimals (null/NaN -> an en dash). */
export function fmt(value: number | null | undefined, digits = 2, f: NumberFormat = current): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const fixed = Math.abs(value).toFixed(digits);
  const [int, frac] = fixed.split('.') as [string, string | undefined];
  const grouped = f.grouping === 'thin-space' && int.length > 4 ? int.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009') : int;
  const sign = value < 0 && Number(fixed) !== 0 ? '−' : '';
  return sign + grouped + (frac ? f.decimalMark + frac : '');
}

export const fmtInt = (value: number | null | undefined, f: NumberFormat = current) => fmt(value, 0, f);

/** A 0..1 fraction as a percentage. */
export function fmtPct(fraction: number | null | undefined, digits = 1, f: NumberFormat = current): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '–';
  return `${fmt(fraction * 100, digits, f)} %`;
}

/** A duration as "1 h 02 min", "3 min 05 s" or "12 s". */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Date and time as YYYY-MM-DD HH:MM (ISO-like, local time). */
export function fmtTime(ms: number | null | undefined): string {
  if (!ms) return '–';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
