/**
 * App settings in a small JSON file, written atomically (fs/atomic-file.ts). The data
 * folder setting is read at start-up by the desktop app; `bgad serve` takes --data-dir.
 */
import { readFile } from 'node:fs/promises';
import type { ExecutionProvider, Settings } from '../common/api';
import { contract } from '../common/api';
import { AppError } from '../common/errors';
import { writeFileAtomic } from '../fs/atomic-file';

export class SettingsStore {
  readonly #file: string;
  readonly #defaults: Settings;

  constructor(file: string, defaults: Settings) {
    this.#file = file;
    this.#defaults = defaults;
  }

  async get(): Promise<Settings> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...this.#defaults };
      throw e;
    }
    try {
      // Stored values pass the same validator as the API, so a hand-edited file cannot inject junk.
      // (`rotateApiKey` is an action, never a stored value)
      const { rotateApiKey: _action, ...parsed } = contract.app.setSettings.args.parse(JSON.parse(text), 'settings');
      return { ...this.#defaults, ...parsed };
    } catch (e) {
      console.warn(`bgad: ignoring unreadable settings file ${this.#file}: ${(e as Error).message}`);
      return { ...this.#defaults };
    }
  }

  async update(patch: { dataDir?: string; executionProvider?: ExecutionProvider; threads?: number; apiEnabled?: boolean; apiPort?: number }): Promise<Settings> {
    // only what is a setting is stored (not the API key, which has its own file, nor actions or statuses)
    const { dataDir, executionProvider, threads, apiEnabled, apiPort } = { ...(await this.get()), ...patch };
    const next: Settings = { dataDir, executionProvider, threads, ...(apiEnabled === undefined ? {} : { apiEnabled }), ...(apiPort === undefined ? {} : { apiPort }) };
    await writeFileAtomic(this.#file, Buffer.from(JSON.stringify(next, null, 2) + '\n', 'utf8'), {
      mapError: (e) => new AppError((e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'DISK_FULL' : 'BAD_ARGUMENT', `Cannot save the settings to ${this.#file}: ${(e as Error).message}`, {
        subject: this.#file,
        cause: e,
      }),
    });
    return next;
  }
}
