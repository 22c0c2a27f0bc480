import { describe, expect, it } from 'vitest';
import { hardenWebContents, isAllowedRequestUrl, secureWebPreferences } from '../../src-main/app/security';
import { sanitizeWindowState } from '../../src-main/app/window-state';
import { buildMenuTemplate } from '../../src-main/app/menu';
import { parentPortTransport } from '../../src-main/app/engine-transport';
import type { EngineRequest } from '../../src-main/common/engine-protocol';

describe('window security', () => {
  it('isolates the renderer: context isolation, sandbox, no Node', () => {
    const p = secureWebPreferences('/app/dist/preload/preload.cjs', false);
    expect(p).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, webSecurity: true, webviewTag: false, devTools: false });
  });

  it('blocks navigation away from the app, new windows and webviews', () => {
    const handlers = new Map<string, (e: { preventDefault(): void }, url?: string) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | undefined;
    hardenWebContents({ on: (ev: string, f: never) => handlers.set(ev, f), setWindowOpenHandler: (f: never) => (openHandler = f) } as never);
    const tryNav = (ev: string, url: string) => {
      let prevented = false;
      handlers.get(ev)!({ preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    expect(tryNav('will-navigate', 'https://evil.example/')).toBe(true);
    expect(tryNav('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(tryNav('will-navigate', 'bgad://app/index.html')).toBe(false);
    expect(tryNav('will-redirect', 'http://127.0.0.1:1/')).toBe(true);
    expect(tryNav('will-attach-webview', '')).toBe(true);
    expect(openHandler!({ url: 'bgad://app/index.html' })).toEqual({ action: 'deny' });
  });

  it('loads no remote content', () => {
    expect(isAllowedRequestUrl('bgad://app/assets/x.js')).toBe(true);
    expect(isAllowedRequestUrl('https://cdn.example/x.js')).toBe(false);
    expect(isAllowedRequestUrl('http://127.0.0.1:8080/')).toBe(false);
    expect(isAllowedRequestUrl('file:///etc/passwd')).toBe(false);
  });
});

describe('window state', () => {
  const display = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  it('keeps a position that is on a display and drops one that is not', () => {
    expect(sanitizeWindowState({ x: 100, y: 50, width: 1200, height: 800, isMaximized: true }, display)).toEqual({ x: 100, y: 50, width: 1200, height: 800, isMaximized: true });
    expect(sanitizeWindowState({ x: 5000, y: 50, width: 1200, height: 800 }, display)).toEqual({ width: 1200, height: 800, isMaximized: false });
    expect(sanitizeWindowState('junk', display)).toMatchObject({ width: 1400, height: 900 });
    expect(sanitizeWindowState({ width: 10, height: 1e9 }, display)).toMatchObject({ width: 800, height: 10_000 });
  });
});

describe('menu', () => {
  it('gives every app command a shortcut and sends it to the window', () => {
    const sent: string[] = [];
    const template = buildMenuTemplate((c) => sent.push(c), { isMac: false, isDev: false });
    const items = template.flatMap((m) => (Array.isArray(m.submenu) ? m.submenu : []));
    const importItem = items.find((i) => i.label === 'Import Folder…')!;
    expect(importItem.accelerator).toBe('CmdOrCtrl+I');
    (importItem.click as () => void)();
    expect(sent).toEqual(['import-folder']);
    expect(items.some((i) => i.role === 'toggleDevTools')).toBe(false);
  });

  it('has Station and Audit in the View menu, with the numbers of their Alt+7 and Alt+8 keys', () => {
    const sent: string[] = [];
    const template = buildMenuTemplate((c) => sent.push(c), { isMac: false, isDev: false });
    const view = template.find((m) => m.label === '&View')!.submenu as { label?: string; accelerator?: string; click?: () => void }[];
    const labels = view.filter((i) => i.label).map((i) => i.label);
    expect(labels).toEqual(['Datasets', 'Annotate', 'Training', 'Models', 'Inspect', 'Station', 'Audit']);
    const station = view.find((i) => i.label === 'Station')!;
    const audit = view.find((i) => i.label === 'Audit')!;
    expect([station.accelerator, audit.accelerator]).toEqual(['CmdOrCtrl+7', 'CmdOrCtrl+8']);
    station.click!();
    audit.click!();
    expect(sent).toEqual(['go-station', 'go-audit']);
    // no two items share a shortcut
    const keys = template.flatMap((m) => (Array.isArray(m.submenu) ? m.submenu : [])).map((i) => i.accelerator).filter(Boolean);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('engine process transport', () => {
  it('relays requests from the parent port to the engine loop and events back', () => {
    const posted: unknown[] = [];
    let onMessage!: (m: { data: unknown }) => void;
    let exitCode: number | undefined;
    const t = parentPortTransport({ postMessage: (m) => posted.push(m), on: (_e, l) => (onMessage = l) }, (c) => (exitCode = c), 123);
    const requests: EngineRequest[] = [];
    t.onRequest((r) => requests.push(r));
    onMessage({ data: { type: 'cancel', jobId: 'j1' } });
    expect(requests).toEqual([{ type: 'cancel', jobId: 'j1' }]);
    t.post({ type: 'ready', pid: t.pid });
    expect(posted).toEqual([{ type: 'ready', pid: 123 }]);
    t.exit(0);
    expect(exitCode).toBe(0);
  });
});
