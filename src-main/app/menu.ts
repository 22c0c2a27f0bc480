/**
 * The application menu. App-specific items send a MenuCommand to the window (the renderer
 * decides what it means in the current view); editing and view items use Electron roles.
 * Accelerators are listed here once, so the UI can show the same keys in tooltips.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../common/api';

export const MENU_ACCELERATORS: Readonly<Partial<Record<MenuCommand, string>>> = {
  'new-dataset': 'CmdOrCtrl+N',
  'import-folder': 'CmdOrCtrl+I',
  'inspect-image': 'CmdOrCtrl+O',
  'inspect-folder': 'CmdOrCtrl+Shift+O',
  'export-report': 'CmdOrCtrl+E',
  'go-datasets': 'CmdOrCtrl+1',
  'go-annotate': 'CmdOrCtrl+2',
  'go-training': 'CmdOrCtrl+3',
  'go-models': 'CmdOrCtrl+4',
  'go-inspect': 'CmdOrCtrl+5',
  'go-settings': 'CmdOrCtrl+,',
  // the numbers of the views' Alt+N keys (6 is Settings, which keeps CmdOrCtrl+,)
  'go-station': 'CmdOrCtrl+7',
  'go-audit': 'CmdOrCtrl+8',
};

export function buildMenuTemplate(send: (command: MenuCommand) => void, opts: { isMac: boolean; isDev: boolean }): MenuItemConstructorOptions[] {
  const item = (label: string, command: MenuCommand): MenuItemConstructorOptions => ({ label, accelerator: MENU_ACCELERATORS[command], click: () => send(command) });
  return [
    ...(opts.isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        item('New Dataset…', 'new-dataset'),
        item('Import Folder…', 'import-folder'),
        { type: 'separator' },
        item('Inspect Image…', 'inspect-image'),
        item('Inspect Folder…', 'inspect-folder'),
        item('Export Report…', 'export-report'),
        { type: 'separator' },
        item('Settings…', 'go-settings'),
        { type: 'separator' },
        opts.isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        item('Datasets', 'go-datasets'),
        item('Annotate', 'go-annotate'),
        item('Training', 'go-training'),
        item('Models', 'go-models'),
        item('Inspect', 'go-inspect'),
        item('Station', 'go-station'),
        item('Audit', 'go-audit'),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
        ...(opts.isDev ? [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }] : []),
      ],
    },
    { role: 'windowMenu' },
    { role: 'help', submenu: [item('About BGAD Inspector', 'about')] },
  ];
}
