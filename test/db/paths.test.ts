import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { dataLayout, defaultDataDir, resolveDataDir } from '../../src-main/db/paths';

describe('the data folder', () => {
  it('defaults to XDG_DATA_HOME on Linux, else ~/.local/share', () => {
    expect(defaultDataDir({ platform: 'linux', env: { XDG_DATA_HOME: '/xdg' }, home: '/home/u' })).toBe('/xdg/bgad-inspector');
    expect(defaultDataDir({ platform: 'linux', env: {}, home: '/home/u' })).toBe('/home/u/.local/share/bgad-inspector');
    expect(defaultDataDir({ platform: 'linux', env: { XDG_DATA_HOME: 'relative' }, home: '/home/u' })).toBe('/home/u/.local/share/bgad-inspector');
  });

  it('uses APPDATA on Windows and Application Support on macOS', () => {
    expect(defaultDataDir({ platform: 'win32', env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, home: 'C:\\Users\\u' })).toBe(join('C:\\Users\\u\\AppData\\Roaming', 'BGAD Inspector'));
    expect(defaultDataDir({ platform: 'darwin', env: {}, home: '/Users/u' })).toBe('/Users/u/Library/Application Support/BGAD Inspector');
  });

  it('prefers the explicit option over BGAD_DATA_DIR over the default', () => {
    const env = { BGAD_DATA_DIR: '/from/env', XDG_DATA_HOME: '/xdg' };
    expect(resolveDataDir({ dataDir: '/from/flag', env, platform: 'linux' })).toBe('/from/flag');
    expect(resolveDataDir({ env, platform: 'linux' })).toBe('/from/env');
    expect(resolveDataDir({ env: { XDG_DATA_HOME: '/xdg' }, platform: 'linux' })).toBe('/xdg/bgad-inspector');
  });

  it('rejects an empty data folder option', () => {
    expect(() => resolveDataDir({ dataDir: '  ' })).toThrow(/empty/);
  });

  it('lays out the database and the file folders inside the data folder', () => {
    const l = dataLayout('/d');
    expect(l).toEqual({ root: '/d', dbFile: '/d/bgad.sqlite', masksDir: '/d/masks', bundlesDir: '/d/bundles', heatmapsDir: '/d/heatmaps', featuresDir: '/d/features', backupsDir: '/d/backups' });
  });
});
