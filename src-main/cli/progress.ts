import type { EngineProgress } from '../common/engine-protocol';
import type { CliIO } from './command';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** How often progress may be printed: on a terminal the line overwrites itself, in a log every line stays. */
export const PROGRESS_TTY_MS = 250;
export const PROGRESS_LOG_MS = 5000;

/**
 * Decides which progress updates are printed. On a terminal: at most every 250 ms (at once on
 * a change of message kind). In a file or CI log (stderr not a TTY): at most every 5 s, or
 * when a further 10 % is done, or on a change of kind (at most once a second), so a long run
 * writes tens of lines rather than one per step. The last update (fraction 1) always prints.
 */
export function progressGate(interactive: boolean, now: () => number = Date.now): (fraction: number, kind: string) => boolean {
  let last = -Infinity;
  let lastKind: string | null = null;
  let lastDecile = -1;
  return (fraction, kind) => {
    const t = now();
    const decile = Math.floor(Math.min(1, Math.max(0, fraction)) * 10);
    const changed = kind !== lastKind;
    let show: boolean;
    if (fraction >= 1) show = true;
    else if (interactive) show = changed || t - last >= PROGRESS_TTY_MS;
    else show = t - last >= PROGRESS_LOG_MS || ((changed || decile > lastDecile) && t - last >= 1000);
    if (!show) return false;
    last = t;
    lastKind = kind;
    lastDecile = changed ? decile : Math.max(decile, lastDecile);
    return true;
  };
}

/** A progress printer for engine jobs: percentage, message and ETA, throttled by `progressGate`. */
export function progressPrinter(io: CliIO, quiet = false, now: () => number = Date.now): (p: EngineProgress) => void {
  const gate = progressGate(io.interactive ?? false, now);
  return (p) => {
    if (quiet) return;
    if (!gate(p.fraction, (p.message ?? '').replace(/[\d/.,]+/g, ''))) return;
    const pct = `${(p.fraction * 100).toFixed(0).padStart(3)}%`;
    const eta = p.etaMs !== undefined ? `  ETA ${formatDuration(p.etaMs)}` : '';
    io.progress(`${pct}  ${p.message ?? ''}${eta}`);
  };
}
