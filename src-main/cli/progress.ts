import type { EngineProgress } from '../common/engine-protocol';
import type { CliIO } from './command';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A progress printer: percentage, message and ETA, at most every 250 ms (always on a change of message kind). */
export function progressPrinter(io: CliIO, quiet = false): (p: EngineProgress) => void {
  let last = 0;
  let lastKind = '';
  return (p) => {
    if (quiet) return;
    const now = Date.now();
    const kind = (p.message ?? '').replace(/[\d/]+/g, '');
    if (now - last < 250 && kind === lastKind && p.fraction < 1) return;
    last = now;
    lastKind = kind;
    const pct = `${(p.fraction * 100).toFixed(0).padStart(3)}%`;
    const eta = p.etaMs !== undefined ? `  ETA ${formatDuration(p.etaMs)}` : '';
    io.progress(`${pct}  ${p.message ?? ''}${eta}`);
  };
}
