/** Native pickers for the contract's app.pickFolder / pickFile / pickSaveFile (desktop app only). */
import type { BrowserWindow, Dialog } from 'electron';
import { isAbsolute, join } from 'node:path';
import type { DialogsPort } from '../services';

/**
 * One filter per type, in the order given (the first is preselected), so the user picks the
 * type with the name: `report.pdf` or `report.csv`.
 */
export function saveFilters(extensions: readonly string[] | undefined): { name: string; extensions: string[] }[] | undefined {
  if (!extensions?.length) return undefined;
  return extensions.map((e) => ({ name: `${e.toUpperCase()} (*.${e})`, extensions: [e] }));
}

/**
 * `defaultDir` is where a save dialog opens for a bare file name (the user's Documents folder
 * in the app); a proposed absolute path opens where it points.
 */
export function createDialogs(dialog: Pick<Dialog, 'showOpenDialog' | 'showSaveDialog'>, getWindow: () => BrowserWindow | undefined, defaultDir?: () => string): DialogsPort {
  return {
    async pickFolder(args) {
      const win = getWindow();
      const options = { title: args.title ?? 'Choose a folder', properties: ['openDirectory' as const] };
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return { path: r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]! };
    },
    async pickFile(args) {
      const win = getWindow();
      const options = {
        title: args.title ?? 'Choose a file',
        properties: ['openFile' as const],
        filters: args.extensions?.length ? [{ name: args.filterName ?? 'Files', extensions: args.extensions }, { name: 'All files', extensions: ['*'] }] : undefined,
      };
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return { path: r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]! };
    },
    async pickSaveFile(args) {
      const win = getWindow();
      const options = {
        title: args.title ?? 'Save as',
        defaultPath: args.defaultName && !isAbsolute(args.defaultName) && defaultDir ? join(defaultDir(), args.defaultName) : args.defaultName,
        filters: saveFilters(args.extensions),
      };
      const r = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      return { path: r.canceled || !r.filePath ? null : r.filePath };
    },
  };
}
