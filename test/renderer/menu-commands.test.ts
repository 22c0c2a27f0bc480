/** Desktop menu commands reach the UI through the preload's event source and each does its job. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IPC_EVENT_CHANNEL, MENU_COMMANDS, type ApiEvent, type MenuCommand } from '../../src-main/common/api';
import { buildPreloadApi, type IpcRendererLike } from '../../src-main/preload/bridge';
import { createApiClient, ipcTransport, type Transport } from '../../src-renderer/lib/api-client';
import { bindMenuCommands, MENU_ACTIONS, runMenuCommand, type MenuTarget } from '../../src-renderer/lib/menu-commands';

const VIEWS = ['datasets', 'annotate', 'training', 'models', 'inspect', 'settings', 'station', 'audit'];

/** A fake ipcRenderer: `emit` is the main process's `webContents.send(IPC_EVENT_CHANNEL, event)`. */
function fakeIpc() {
  const listeners = new Set<(event: unknown, ...args: unknown[]) => void>();
  const ipc: IpcRendererLike = {
    invoke: async () => ({ ok: true, value: null }),
    on: (channel, l) => {
      if (channel === IPC_EVENT_CHANNEL) listeners.add(l);
    },
    removeListener: (_channel, l) => listeners.delete(l),
  };
  const emit = (event: ApiEvent) => {
    for (const l of [...listeners]) l({ sender: 'ipc internals' }, event);
  };
  return { ipc, emit, listeners };
}

/** The app's side: records where each command went and what it left for the view. */
function fakeTarget(opts: { stay?: boolean } = {}) {
  const log: string[] = [];
  const target: MenuTarget = {
    go: async (patch) => {
      log.push(`go ${patch.view}`);
      return !opts.stay;
    },
    request: (c) => log.push(`request ${c}`),
  };
  return { target, log };
}

const tick = () => new Promise((ok) => setTimeout(ok, 0));

describe('menu commands in the desktop app', () => {
  it('has an action for every command the menu can send', () => {
    expect(Object.keys(MENU_ACTIONS).sort()).toEqual([...MENU_COMMANDS].sort());
    for (const c of MENU_COMMANDS) expect(VIEWS).toContain(MENU_ACTIONS[c].view);
    // go-* commands show their view and ask nothing more
    for (const c of MENU_COMMANDS.filter((x) => x.startsWith('go-'))) expect(MENU_ACTIONS[c]).toMatchObject({ view: c.slice(3), request: false });
  });

  it('reacts to every menu event the preload delivers, and to nothing else', async () => {
    const { ipc, emit, listeners } = fakeIpc();
    const api = createApiClient(ipcTransport(buildPreloadApi(ipc)));
    const { target, log } = fakeTarget();
    const off = bindMenuCommands(api, (c) => void runMenuCommand(c, target));
    expect(listeners.size).toBe(1);

    emit({ type: 'progress', jobId: 'j1', kind: 'import', progress: { fraction: 0.5 } });
    emit({ type: 'menu', command: 'format-disk' as MenuCommand });
    await tick();
    expect(log).toEqual([]);

    for (const command of MENU_COMMANDS) {
      emit({ type: 'menu', command });
      await tick();
    }
    expect(log).toEqual([
      'go datasets', 'request new-dataset',
      'go datasets', 'request import-folder',
      'go inspect', 'request inspect-image',
      'go inspect', 'request inspect-folder',
      'go inspect', 'request export-report',
      'go datasets',
      'go annotate',
      'go training',
      'go models',
      'go inspect',
      'go settings',
      'go station',
      'go audit',
      'go settings', 'request about',
    ]);

    off();
    expect(listeners.size).toBe(0);
    emit({ type: 'menu', command: 'go-models' });
    await tick();
    expect(log.filter((l) => l === 'go models')).toHaveLength(1);
  });

  it('does not depend on the app state, which runs the commands through MenuTarget (no import cycle)', () => {
    const imports = (file: string) => [...readFileSync(new URL(`../../src-renderer/lib/${file}`, import.meta.url), 'utf8').matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1]);
    expect(imports('menu-commands.ts').filter((p) => p!.startsWith('./'))).toEqual(['./route']);
    expect(imports('app-state.svelte.ts')).toContain('./menu-commands');
    expect(imports('route.ts')).toEqual([]);
  });

  it('leaves no request when the view could not change (unsaved strokes kept)', async () => {
    const { target, log } = fakeTarget({ stay: true });
    expect(await runMenuCommand('export-report', target)).toBe(false);
    expect(log).toEqual(['go inspect']);
  });
});

describe('menu commands in browser mode', () => {
  it('are inert: nothing subscribes and nothing runs', async () => {
    let subscribed = 0;
    const transport: Transport = {
      mode: 'browser',
      call: async () => ({ ok: true, value: null }),
      onEvent: () => {
        subscribed++;
        return () => undefined;
      },
      fileUrl: (p) => `/files?path=${encodeURIComponent(p)}`,
    };
    const ran: MenuCommand[] = [];
    const off = bindMenuCommands(createApiClient(transport), (c) => ran.push(c));
    expect(subscribed).toBe(0);
    expect(() => off()).not.toThrow();
    expect(ran).toEqual([]);
  });
});
