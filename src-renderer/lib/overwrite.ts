/**
 * Saving a file from the UI (reports, exported models) without replacing one silently: the
 * services refuse an existing file (ApiError CONFLICT, the file as its subject) unless the
 * call says `overwrite: true`. The UI looks first (app.checkPath) and asks before writing over
 * a file; a file that appears meanwhile is still refused by the service, and then asked about.
 * A path the desktop app's save dialog returned was already confirmed there (it asks before
 * replacing), so that one is written at once.
 */
import { ApiError } from './api-client';

export interface OverwriteOptions {
  /** The save dialog confirmed this very file. */
  confirmed?: boolean;
  /** The file that will be written (as the service completes the name). */
  file?: string;
  /** Whether `file` exists now (a failed look counts as no: the service still refuses). */
  exists?: (file: string) => Promise<boolean>;
}

const question = (file: string | undefined) => `${file ?? 'The file'} already exists.\n\nReplace it?`;

/**
 * Calls `write(overwrite)`, asking with `ask(question)` before a file is written over; null when
 * the user said no.
 */
export async function writeAskingToOverwrite<T>(write: (overwrite: boolean) => Promise<T>, ask: (question: string) => boolean, opts: OverwriteOptions = {}): Promise<T | null> {
  if (opts.confirmed) return write(true);
  if (opts.file && opts.exists && (await opts.exists(opts.file).catch(() => false))) {
    return ask(question(opts.file)) ? write(true) : null;
  }
  try {
    return await write(false);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'CONFLICT') throw e;
    return ask(question(e.subject ?? opts.file)) ? write(true) : null;
  }
}

/** The file a service writes for `path`: with the extension added when it has another or none. */
export function withExtension(path: string, extension: string): string {
  return path.toLowerCase().endsWith(`.${extension.toLowerCase()}`) ? path : `${path}.${extension}`;
}

/**
 * Whether the file about to be written is exactly the one the save dialog confirmed: the same
 * path, ending in the format's extension (else the service adds it, and writes another file).
 */
export function confirmedBySaveDialog(chosen: string | null, outPath: string, extension: string): boolean {
  return chosen !== null && chosen === outPath && outPath.toLowerCase().endsWith(`.${extension.toLowerCase()}`);
}
