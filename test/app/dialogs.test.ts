/** The desktop app's native pickers, with a fake Electron dialog module. */
import { describe, expect, it } from 'vitest';
import type { BrowserWindow, Dialog } from 'electron';
import { createDialogs, saveFilters } from '../../src-main/app/dialogs';

function fakeDialog(answer: { canceled: boolean; filePath?: string; filePaths?: string[] }) {
  const calls: { kind: string; args: unknown[] }[] = [];
  const dialog = {
    showOpenDialog: async (...args: unknown[]) => {
      calls.push({ kind: 'open', args });
      return { canceled: answer.canceled, filePaths: answer.filePaths ?? [] };
    },
    showSaveDialog: async (...args: unknown[]) => {
      calls.push({ kind: 'save', args });
      return { canceled: answer.canceled, filePath: answer.filePath ?? '' };
    },
  } as unknown as Pick<Dialog, 'showOpenDialog' | 'showSaveDialog'>;
  return { dialog, calls };
}

const win = { id: 1 } as unknown as BrowserWindow;

describe('native dialogs', () => {
  it('saves with the proposed file name and one filter per type, attached to the window', async () => {
    const { dialog, calls } = fakeDialog({ canceled: false, filePath: '/home/qa/line-inspection-4-report.csv' });
    const d = createDialogs(dialog, () => win);
    const r = await d.pickSaveFile({ title: 'Save the report as', defaultName: '/data/line-inspection-4-report.pdf', extensions: ['pdf', 'csv'] });
    expect(r).toEqual({ path: '/home/qa/line-inspection-4-report.csv' });
    expect(calls).toEqual([
      {
        kind: 'save',
        args: [win, {
          title: 'Save the report as',
          defaultPath: '/data/line-inspection-4-report.pdf',
          filters: [{ name: 'PDF (*.pdf)', extensions: ['pdf'] }, { name: 'CSV (*.csv)', extensions: ['csv'] }],
        }],
      },
    ]);
    expect(saveFilters(undefined)).toBeUndefined();
    expect(saveFilters([])).toBeUndefined();
  });

  it('opens the save dialog in the default folder for a bare file name', async () => {
    const { dialog, calls } = fakeDialog({ canceled: true });
    const d = createDialogs(dialog, () => win, () => '/home/qa/Documents');
    await d.pickSaveFile({ defaultName: 'line-inspection-4-report.pdf' });
    await d.pickSaveFile({ defaultName: '/data/report.pdf' });
    expect(calls.map((c) => (c.args[1] as { defaultPath?: string }).defaultPath)).toEqual(['/home/qa/Documents/line-inspection-4-report.pdf', '/data/report.pdf']);
  });

  it('opens one file with an image filter and an all-files fallback', async () => {
    const { dialog, calls } = fakeDialog({ canceled: false, filePaths: ['/parts/p-001.png'] });
    const d = createDialogs(dialog, () => win);
    expect(await d.pickFile({ title: 'Inspect an image', filterName: 'Images', extensions: ['png', 'jpg'] })).toEqual({ path: '/parts/p-001.png' });
    expect(calls[0]).toEqual({ kind: 'open', args: [win, { title: 'Inspect an image', properties: ['openFile'], filters: [{ name: 'Images', extensions: ['png', 'jpg'] }, { name: 'All files', extensions: ['*'] }] }] });
  });

  it('answers null when the user cancels, with or without a window', async () => {
    const { dialog, calls } = fakeDialog({ canceled: true });
    const d = createDialogs(dialog, () => undefined);
    expect(await d.pickSaveFile({})).toEqual({ path: null });
    expect(await d.pickFolder({})).toEqual({ path: null });
    expect(calls.map((c) => c.args.length)).toEqual([1, 1]);
    expect(calls[0]!.args[0]).toMatchObject({ title: 'Save as', filters: undefined });
    expect(calls[1]!.args[0]).toMatchObject({ title: 'Choose a folder', properties: ['openDirectory'] });
  });
});
