/** The Settings view's state: the inference API switch, and in the desktop app its port and whether it listens. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_PORT, type ArgsOf, type Settings } from '../../src-main/common/api';
import type * as SettingsModule from '../../src-renderer/lib/views/settings-state.svelte';
import { APP_INFO, fakeApi, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let M: typeof SettingsModule;

beforeAll(async () => {
  runes = await loadRunes();
  M = await runes.loader.import<typeof SettingsModule>('src-renderer/lib/views/settings-state.svelte.ts');
});
afterAll(() => runes.loader.close());

function setup(mode: 'electron' | 'browser', stored: Partial<Settings>, answer: (a: ArgsOf<'app.setSettings'>) => Partial<Settings> = () => ({})) {
  let saved: Settings = { dataDir: '/data', executionProvider: 'cpu', threads: 0, ...stored };
  const info = { ...APP_INFO, mode };
  const fake = fakeApi({
    app: {
      info: () => info,
      getSettings: () => saved,
      setSettings: (a: ArgsOf<'app.setSettings'>) => (saved = { ...saved, ...a, ...answer(a) } as Settings),
    },
  });
  const app = new runes.app.AppState(fake.api);
  app.info = info;
  const view = runes.root.mount(() => new M.SettingsState(fake.api, app, { confirm: () => true }));
  return { fake, app, s: view.value, destroy: view.destroy };
}

describe('Settings: the inference API', () => {
  it('desktop app: shows the default port, saves the switch with the port, and says where it listens', async () => {
    const { s, fake, app, destroy } = setup('electron', {}, (a) => ({ apiListener: a.apiEnabled ? { state: 'on', port: a.apiPort!, url: `http://127.0.0.1:${a.apiPort}/v1/` } : { state: 'off', port: a.apiPort! } }));
    await runes.root.settle();
    expect(s.apiPort).toBe(DEFAULT_API_PORT);
    s.apiEnabled = true;
    s.apiPort = 9100;
    await s.save();
    expect(fake.argsOf('app.setSettings').at(-1)).toMatchObject({ apiEnabled: true, apiPort: 9100 });
    expect(s.settings?.apiListener).toEqual({ state: 'on', port: 9100, url: 'http://127.0.0.1:9100/v1/' });
    expect(app.notices.at(-1)).toMatchObject({ kind: 'info', message: 'Settings saved.' });
    destroy();
  });

  it('desktop app: a taken port is an error notice naming it and what to do', async () => {
    const { s, app, destroy } = setup('electron', { apiEnabled: true, apiPort: 9200 }, () => ({
      apiListener: { state: 'failed', port: 9200, error: 'Port 9200 on 127.0.0.1 is already in use, so the inference API is not running', hint: 'Choose another port for the inference API in Settings (1024 to 65535), or stop the program that uses this one.' },
    }));
    await runes.root.settle();
    expect([s.apiEnabled, s.apiPort]).toEqual([true, 9200]);
    await s.save();
    expect(app.notices.at(-1)).toMatchObject({ kind: 'error', message: 'Settings saved, but Port 9200 on 127.0.0.1 is already in use, so the inference API is not running.', hint: expect.stringMatching(/Choose another port/) });
    destroy();
  });

  it('browser mode: the switch only (the server has its own port)', async () => {
    const { s, fake, destroy } = setup('browser', { apiEnabled: false });
    await runes.root.settle();
    s.apiEnabled = true;
    await s.save();
    const sent = fake.argsOf('app.setSettings').at(-1)!;
    expect(sent).toMatchObject({ apiEnabled: true });
    expect('apiPort' in sent).toBe(false);
    destroy();
  });
});
