/**
 * Remembers the main window's size, position and maximised state between starts, and
 * refuses a saved position that no longer lies on any display (a disconnected monitor).
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic-file';

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  isMaximized: boolean;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1400, height: 900, isMaximized: false };

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses a saved state; anything odd falls back to the default size, centred. */
export function sanitizeWindowState(raw: unknown, displays: readonly Rect[]): WindowState {
  if (typeof raw !== 'object' || raw === null) return { ...DEFAULT_WINDOW_STATE };
  const r = raw as Record<string, unknown>;
  const width = isNum(r.width) ? Math.min(Math.max(Math.round(r.width), 800), 10_000) : DEFAULT_WINDOW_STATE.width;
  const height = isNum(r.height) ? Math.min(Math.max(Math.round(r.height), 560), 10_000) : DEFAULT_WINDOW_STATE.height;
  const state: WindowState = { width, height, isMaximized: r.isMaximized === true };
  if (isNum(r.x) && isNum(r.y)) {
    const x = Math.round(r.x);
    const y = Math.round(r.y);
    // visible when at least 100 x 50 px of the title bar area lies on some display
    const visible = displays.some((d) => x + width - 100 >= d.x && x + 100 <= d.x + d.width && y >= d.y - 10 && y + 50 <= d.y + d.height);
    if (visible) Object.assign(state, { x, y });
  }
  return state;
}

export async function loadWindowState(file: string, displays: readonly Rect[]): Promise<WindowState> {
  try {
    return sanitizeWindowState(JSON.parse(await readFile(file, 'utf8')), displays);
  } catch {
    return { ...DEFAULT_WINDOW_STATE }; // first start or an unreadable file: defaults
  }
}

export async function saveWindowState(file: string, state: WindowState): Promise<void> {
  await writeFileAtomic(file, Buffer.from(JSON.stringify(state) + '\n', 'utf8'), { mapError: (e) => e });
}
