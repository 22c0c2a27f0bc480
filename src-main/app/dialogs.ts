/** Native pickers for the contract's app.pickFolder / app.pickSaveFile (desktop app only). */
import type { BrowserWindow, Dialog } from 'electron';
import type { DialogsPort } from '../api-host/api-handlers';

export function createDialogs(dialog: Pick<Dialog, 'showOpenDialog' | 'showSaveDialog'>, getWindow: () => BrowserWindow | undefined): DialogsPort {
  return {
    async pickFolder(args) {
      const win = getWindow();
      const options = { title: args.title ?? 'Choose a folder', properties: ['openDirectory' as const] };
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return { path: r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]! };
    },
    async pickSaveFile(args) {
      const win = getWindow();
      const options = {
        title: args.title ?? 'Save as',
        defaultPath: args.defaultName,
        filters: args.extensions?.length ? [{ name: args.extensions.join(', ').toUpperCase(), extensions: args.extensions }] : undefined,
      };
      const r = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      return { path: r.canceled || !r.filePath ? null : r.filePath };
    },
  };
}
